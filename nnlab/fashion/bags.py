"""Lucky bags: the bag summary the shop shows, and how right it is on simulated bags.

    >>> from nnlab.fashion.bags import bag_summary, simulate_bags, score_bags
    >>> expected, at_least_one = bag_summary(p)        # p: (k, 10) probabilities of a bag's k items
    >>> bags = simulate_bags(y_test, size=5, count=2000, seed=0)      # (2000, 5) indices into y_test
    >>> score_bags(p_test, y_test, bags)["brier_at_least_one"]
    0.03

The summary of a bag of items with class probabilities ``p_i``: the expected count of each
class, ``sum_i p_i``, and the chance that the bag holds at least one, ``1 - prod_i (1 - p_i)``
(the items taken as independent). A simulated bag draws ``size`` items of the test split, each
of a kind drawn from the shop's ``mix`` (uniform by default), and is scored against what it
holds: the Brier score of "at least one" (mean over bags and classes of (P - [present])^2),
the mean absolute error of the expected counts, and a reliability table of "at least one".
Items that are not ``ok`` (``nnlab.fashion.ood``) are left out of the summary, as the server
does, so rejecting a real item costs here what it costs the shop.
"""

import numpy as np

from nnlab.core.errors import NnlabError

SIZE = 5  # items per bag
COUNT = 2000  # bags simulated
BINS = 10


def bag_summary(probabilities, classes=None):
    """``(expected counts, chance of at least one)`` per class: arrays, or dicts when ``classes`` are given.

        >>> bag_summary(np.array([[0.5, 0.5], [0.5, 0.5]]), ["a", "b"])
        ({'a': 1.0, 'b': 1.0}, {'a': 0.75, 'b': 0.75})
    """
    p = np.asarray(probabilities, np.float64).reshape(-1, np.shape(probabilities)[-1])  # (k, classes)
    expected = p.sum(axis=0)
    with np.errstate(divide="ignore"):  # p == 1: log(0) = -inf, and exp(-inf) = 0 as it should
        at_least_one = -np.expm1(np.log1p(-np.clip(p, 0.0, 1.0)).sum(axis=0))
    if classes is None:
        return expected, at_least_one
    return ({c: round(float(v), 6) for c, v in zip(classes, expected)},
            {c: round(float(v), 6) for c, v in zip(classes, at_least_one)})


def simulate_bags(labels, size=SIZE, count=COUNT, mix=None, seed=0):
    """(count, size) indices into ``labels``: each item's kind drawn from ``mix`` (weights per class), then an item."""
    labels = np.asarray(labels).reshape(-1)
    classes = int(labels.max()) + 1
    mix = np.full(classes, 1.0 / classes) if mix is None else np.asarray(mix, np.float64)
    if mix.shape != (classes,) or (mix < 0).any() or not mix.sum() > 0:
        raise NnlabError(f"--mix must give {classes} non-negative weights, one per class, got {mix.tolist()}.")
    if size < 1 or count < 1:
        raise NnlabError(f"bags need --bag-size >= 1 and at least one bag, got size {size}, count {count}.")
    by_class = [np.flatnonzero(labels == c) for c in range(classes)]
    mix = np.where([len(items) > 0 for items in by_class], mix, 0.0)
    rng = np.random.default_rng(seed)
    kinds = rng.choice(classes, size=(count, size), p=mix / mix.sum())
    return np.vectorize(lambda c: by_class[c][rng.integers(len(by_class[c]))])(kinds)


def score_bags(probabilities, labels, bags, ok=None, bins=BINS):
    """How right the bag summaries are: Brier of "at least one", MAE of expected counts, reliability table.

    ``ok``: (n,) bool, the items the summary counts (default all).
    """
    p = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels).reshape(-1)
    counted = np.ones(len(p), bool) if ok is None else np.asarray(ok, bool)
    items = p[bags] * counted[bags][..., None]  # (bags, size, classes): a left-out item adds nothing
    truth = np.zeros((len(bags), p.shape[1]))
    np.add.at(truth, (np.repeat(np.arange(len(bags)), bags.shape[1]), labels[bags].reshape(-1)), 1)
    expected = items.sum(axis=1)
    with np.errstate(divide="ignore"):
        at_least_one = -np.expm1(np.log1p(-np.clip(items, 0, 1)).sum(axis=1))  # (bags, classes)
    present = (truth > 0).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.searchsorted(edges[1:-1], at_least_one.reshape(-1), side="left"), 0, bins - 1)
    n = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.bincount(index, at_least_one.reshape(-1), minlength=bins) / n
        observed = np.bincount(index, present.reshape(-1), minlength=bins) / n
    return {"bags": int(len(bags)), "size": int(bags.shape[1]),
            "brier_at_least_one": float(np.mean((at_least_one - present) ** 2)),
            "count_mae": float(np.mean(np.abs(expected - truth))),
            "items_left_out": float(1 - counted[bags].mean()),
            "reliability": {"edges": edges.tolist(), "count": n.tolist(),
                            "predicted": [None if np.isnan(v) else float(v) for v in predicted],
                            "observed": [None if np.isnan(v) else float(v) for v in observed]}}


def bag_scores(predict, x, y, photos, ok=None, size=SIZE, count=COUNT, mix=None, seed=0):
    """``{"originals": scores, "photos": scores}`` of the same simulated bags: the items' 28x28 ``x``, and their
    ``photos`` through the photo path with only the ``ok`` ones counted. ``predict``: inputs -> probabilities."""
    bags = simulate_bags(y, size, count, mix, seed)
    return {"originals": score_bags(predict(x), y, bags), "photos": score_bags(predict(photos), y, bags, ok)}


def plot_bag_reliability(scores, path, title=None):
    """Reliability diagram of "chance of at least one": observed share of bags holding the class, per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnlab.core.plots import save_figure

    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfect")
    for (label, table), marker in zip(scores.items(), "os^v"):
        rel = table["reliability"]
        points = [(p, o) for p, o in zip(rel["predicted"], rel["observed"]) if p is not None]
        ax.plot(*zip(*points), marker=marker, ms=4,
                label=f"{label}: Brier {table['brier_at_least_one']:.4f}, count MAE {table['count_mae']:.3f}")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel='predicted chance of "at least one"',
           ylabel="share of bags that hold the kind", title=title or "lucky bags")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)
