"""Two models on the same test items: McNemar's exact test and a bootstrap interval of the accuracy difference.

    >>> from nnlab.core.comparison import paired_comparison
    >>> paired_comparison(right_a, right_b, seed=42)      # boolean arrays: item i answered right by a / by b
    {'accuracy_a': 0.9328, 'accuracy_b': 0.8842, 'difference': 0.0486, 'low': 0.0431, 'high': 0.0541,
     'p_value': 3.1e-152, 'only_a_right': 702, 'only_b_right': 216, 'items': 10000, 'resamples': 2000}

McNemar's exact test looks only at the discordant items (one model right, the other wrong): under
"equally good", each is a fair coin, so the count ``only_a_right`` out of the discordant ones is
Binomial(n, 1/2), and the p-value is scipy's two-sided ``binomtest``. The bootstrap draws the test
items with replacement ``resamples`` times and takes the 2.5 and 97.5 percentiles of the accuracy
difference. X1 of ``nnlab reproduce`` (cnn-fast against E10) and ``nnlab report RUN_A RUN_B`` use it.
"""

import numpy as np

RESAMPLES = 2000


def paired_comparison(right_a, right_b, seed=0, resamples=RESAMPLES):
    """Accuracies, their difference (a - b) with a bootstrap 95 % interval, and McNemar's exact p-value."""
    from scipy.stats import binomtest

    a, b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"right_a and right_b must be 1-d and of one length, got {a.shape} and {b.shape}.")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))  # the discordant pairs
    p_value = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(resamples, len(a)))  # test items drawn with replacement
    differences = a[picks].mean(axis=1) - b[picks].mean(axis=1)
    low, high = np.percentile(differences, [2.5, 97.5])
    return {"accuracy_a": float(a.mean()), "accuracy_b": float(b.mean()), "difference": float(a.mean() - b.mean()),
            "low": float(low), "high": float(high), "p_value": float(p_value), "only_a_right": only_a,
            "only_b_right": only_b, "items": len(a), "resamples": resamples}
