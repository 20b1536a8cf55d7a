"""Bag summaries and their scores on simulated lucky bags (nnlab.fashion.bags)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.fashion.bags import bag_summary, score_bags, simulate_bags


def test_bag_summary_known_answers():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]])
    expected, at_least_one = bag_summary(p)
    np.testing.assert_allclose(expected, [0.7, 0.5, 0.8])
    np.testing.assert_allclose(at_least_one, [1 - 0.5 * 0.8, 0.5, 0.8])
    assert bag_summary(p, ["a", "b", "c"])[1] == {"a": 0.6, "b": 0.5, "c": 0.8}


def test_certain_items_make_a_perfect_summary():
    labels = np.repeat(np.arange(10), 20)
    bags = simulate_bags(labels, size=5, count=300, seed=1)
    scores = score_bags(np.eye(10)[labels], labels, bags)
    assert scores["brier_at_least_one"] == 0 and scores["count_mae"] == 0 and scores["items_left_out"] == 0


def test_uniform_probabilities_score_as_computed_by_hand():
    labels = np.repeat(np.arange(10), 5)
    bags = simulate_bags(labels, size=1, count=500, seed=0)
    scores = score_bags(np.full((50, 10), 0.1), labels, bags)
    # One item per bag: "at least one" is 0.1 for every class; one class present (error 0.81), nine absent (0.01).
    assert scores["brier_at_least_one"] == pytest.approx((0.81 + 9 * 0.01) / 10)
    assert scores["count_mae"] == pytest.approx((0.9 + 9 * 0.1) / 10)


def test_left_out_items_count_for_nothing():
    labels = np.repeat(np.arange(10), 10)
    bags = simulate_bags(labels, size=4, count=200, seed=2)
    none = score_bags(np.eye(10)[labels], labels, bags, ok=np.zeros(100, bool))
    assert none["items_left_out"] == 1.0
    assert none["count_mae"] == pytest.approx(0.4)  # 4 items missed over 10 classes


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 5), min_size=10, max_size=10).filter(lambda w: sum(w) > 0.5),
       st.integers(1, 8), st.integers(0, 10_000))
def test_simulated_bags_follow_the_mix(weights, size, seed):
    labels = np.repeat(np.arange(10), 7)
    bags = simulate_bags(labels, size=size, count=400, mix=weights, seed=seed)
    assert bags.shape == (400, size)
    drawn = set(labels[bags].reshape(-1).tolist())
    assert drawn <= {c for c, w in enumerate(weights) if w > 0}  # a kind with weight 0 never shows up


def test_a_bad_mix_is_refused():
    with pytest.raises(NnlabError, match="--mix must give 10 non-negative weights"):
        simulate_bags(np.arange(10), mix=[1, 2, 3])
