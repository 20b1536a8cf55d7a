"""paired_comparison: McNemar's exact test and the bootstrap interval, against their definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from nnlab.core.comparison import paired_comparison

pairs = st.integers(5, 300).flatmap(lambda n: st.tuples(st.lists(st.booleans(), min_size=n, max_size=n),
                                                          st.lists(st.booleans(), min_size=n, max_size=n)))


@settings(max_examples=40, deadline=None)
@given(pairs, st.integers(0, 2**16))
def test_against_the_definitions(pair, seed):
    a, b = np.array(pair[0]), np.array(pair[1])
    stats = paired_comparison(a, b, seed=seed, resamples=200)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    assert (stats["only_a_right"], stats["only_b_right"]) == (only_a, only_b)
    assert stats["p_value"] == (binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0)
    assert stats["difference"] == pytest.approx(a.mean() - b.mean())
    assert stats["low"] <= stats["high"]
    assert -1 <= stats["low"] and stats["high"] <= 1


def test_a_clear_winner_and_a_tie():
    rng = np.random.default_rng(0)
    b = rng.random(2000) < 0.80
    a = b | (rng.random(2000) < 0.5)  # a is right wherever b is, and on about half of the rest
    stats = paired_comparison(a, b, seed=1)
    assert stats["only_b_right"] == 0 and stats["p_value"] < 1e-20 and stats["low"] > 0
    tie = paired_comparison(b, b, seed=1)
    assert tie["p_value"] == 1.0 and tie["low"] == tie["high"] == 0.0


def test_same_seed_same_interval_as_x1_computed_it():
    """The arithmetic X1 used before it called paired_comparison: same interval, same p-value."""
    rng = np.random.default_rng(3)
    new, old = rng.random(1000) < 0.9, rng.random(1000) < 0.85
    picks = np.random.default_rng(42).integers(0, 1000, size=(2000, 1000))
    low, high = np.percentile(new[picks].mean(axis=1) - old[picks].mean(axis=1), [2.5, 97.5])
    stats = paired_comparison(new, old, seed=42, resamples=2000)
    assert (stats["low"], stats["high"]) == (low, high)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="of one length"):
        paired_comparison(np.ones(3, bool), np.ones(4, bool))
