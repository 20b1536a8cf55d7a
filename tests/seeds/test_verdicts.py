"""nnlab.seeds.verdicts: verdicts and reasons on hand-made numbers."""

import pytest

from nnlab.seeds.experiments import Figure
from nnlab.seeds.verdicts import explain, verdict

VERDICT_CASES = [
    # seeds, measured values, verdict
    (0.8540, [0.8512], "matches"),  # one repeat: tolerance is the 0.01 floor
    (0.8540, [0.8440], "matches"),  # exactly 0.01 away
    (0.8540, [0.8400], "differs"),
    (0.90, [0.80, 0.84, 0.88], "matches"),  # std 0.04 -> tolerance 0.08 covers |0.90 - 0.84|
    (0.95, [0.80, 0.84, 0.88], "differs"),
    ((10, 12), [11], "matches"),
    ((10, 12), [12.005], "matches"),  # widened by the 0.01 floor
    ((10, 12), [13], "differs"),
    ((10, 12), [13, 15], "matches"),  # mean 14, std 1.41 -> widened by 2.83
    ((0.8758, 0.8798), [0.8700], "matches"),
    ((0.8758, 0.8798), [0.8600], "differs"),
    (True, [True, True, True], "matches"),
    (True, [True, False, True], "differs"),
    (False, [False], "matches"),
    (None, [0.5], "measured"),
    (0.5, [None], "missing"),
]


@pytest.mark.parametrize("seeds, values, expected", VERDICT_CASES)
def test_verdict(seeds, values, expected):
    assert verdict(seeds, values)["verdict"] == expected


def test_verdict_mean_std_and_tolerance():
    judged = verdict(0.85, [0.84, 0.86])
    assert judged["mean"] == pytest.approx(0.85)
    assert judged["std"] == pytest.approx(0.0141421, rel=1e-4)  # sample std (ddof=1)
    assert judged["tolerance"] == pytest.approx(0.0282843, rel=1e-4)
    assert verdict(0.85, [0.85])["std"] == 0.0


EXPLAIN_CASES = [
    # seeds' figure, digits, measured values (seeds 42, 43, ...), quick, expected reason, explained
    (0.85, 4, [0.84, 0.86, 0.88], False,
     "within the spread over seeds: the seeds' 0.8500 lies in 0.8400 – 0.8800, the range over seeds 42, 43, 44",
     True),
    (0.95, 4, [0.84, 0.86, 0.88], False,
     "not explained: the seeds' 0.9500 lies outside 0.8400 – 0.8800, the range over seeds 42, 43, 44", False),
    ((10, 12), 0, [12, 14, 15], False,
     "within the spread over seeds: the seeds' range 10 – 12 overlaps 12 – 15, the range over seeds 42, 43, 44",
     True),
    ((10, 12), 0, [14, 15, 16, 13], False,
     "not explained: the seeds' range 10 – 12 lies outside 13 – 16, the range over seeds 42, 43, 44, 45", False),
    (True, 4, [True, False, False], False,
     "within the spread over seeds: the seeds' claim (yes) held for seed 42 of 42, 43, 44", True),
    (True, 4, [False, False, False], False, "not explained: the seeds' claim (yes) held for none of seeds 42, 43, 44",
     False),
    (0.95, 4, [0.84, 0.86], False,
     "not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.", False),
    (0.95, 4, [0.84, None, 0.86], False,  # a missing value does not count as a repeat
     "not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.", False),
    (0.95, 4, [0.84, 0.86, 0.88], True, "quick check (--limit/--epochs): not the seeds' data size or epochs.", True),
]


@pytest.mark.parametrize("seeds, digits, values, quick, reason, explained", EXPLAIN_CASES)
def test_explain_says_only_what_was_measured(seeds, digits, values, quick, reason, explained):
    figure = Figure("x", "x", seeds, digits=digits)
    repeats = [42 + i for i in range(len(values))]
    assert explain(figure, values, repeats, quick, hypothesis="a guess") == (reason, explained)


def test_explain_without_a_hypothesis_says_not_explained_only():
    reason, explained = explain(Figure("x", "x", 0.9), [0.5], [42], quick=False)
    assert reason == "not explained; --repeats 3 measures the seed-to-seed spread." and explained is False
