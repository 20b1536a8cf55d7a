"""Verdicts of ``nnlab reproduce``: does a measured figure match the seeds' one, and why may it differ?

Verdicts, with ``tol = max(2 * std, 0.01)`` over the repeats (std = 0 for one repeat):

    value   matches when |seeds - mean| <= tol
    range   matches when lo - tol <= mean <= hi + tol   (E8 0.8758-0.8798, E10 epochs 10-12, "~N epochs")
    claim   matches when it holds in every repeat       (e.g. "val loss rises after its minimum")

A figure that differs gets a reason only as far as the call measured one (``explain``):
"quick check" when --limit/--epochs ran less than the seeds did; with --repeats >= 3,
whether the seeds' figure lies within the range of the repeats' values (which seeds,
which range); otherwise "not explained", followed by the experiment's guess
labelled "untested hypothesis". A fixed excuse for every mismatch would hide a
real regression.

    >>> from nnlab.seeds.verdicts import verdict
    >>> verdict(0.8540, [0.8512])["verdict"]
    'matches'
"""

import numpy as np

TOLERANCE_FLOOR = 0.01
SPREAD_REPEATS = 3  # from this many repeats on, a difference is checked against the seed-to-seed range


def tolerance(std):
    return max(2.0 * std, TOLERANCE_FLOOR)


def verdict(seeds, values):
    """Compare the seeds' figure with the measured values of the repeats.

    ``seeds`` is a number, a ``(lo, hi)`` range, a bool (a claim) or None (measured
    only). Returns ``{"mean", "std", "tolerance", "verdict"}``; verdict is
    "matches", "differs", "measured" (no seeds' figure) or "missing" (no value).

        >>> verdict(0.8540, [0.8512])["verdict"]
        'matches'
        >>> verdict((10, 12), [14, 15])["verdict"]
        'differs'
    """
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "tolerance": None, "verdict": "missing"}
    if isinstance(seeds, bool):  # a claim: all repeats must agree with it
        held = sum(bool(v) == seeds for v in values)
        return {"mean": sum(map(bool, values)) / len(values), "std": None, "tolerance": None,
                "verdict": "matches" if held == len(values) else "differs"}
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    tol = tolerance(std)
    edge = tol + 1e-9  # "within" includes the edge despite float rounding (0.854 - 0.844 > 0.01)
    if seeds is None:
        ok = None
    elif isinstance(seeds, (tuple, list)):
        ok = seeds[0] - edge <= mean <= seeds[1] + edge
    else:
        ok = abs(seeds - mean) <= edge
    return {"mean": mean, "std": std, "tolerance": tol,
            "verdict": "measured" if ok is None else ("matches" if ok else "differs")}


def _shown(value, digits):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,.0f}" if digits == 0 and float(value).is_integer() else f"{value:,.{digits or 1}f}"


def explain(figure, values, seeds, quick, hypothesis=None):
    """Why a figure that differs may differ, as far as this call measured it: ``(reason, explained)``.

    ``values``: the measured value of each repeat (None where missing), ``seeds`` the
    seed of each repeat, ``quick`` whether --limit/--epochs were given. Only a
    measured fact explains: the quick check's smaller budget, or -- with at least
    ``SPREAD_REPEATS`` repeats -- the seeds' figure lying within the range of the
    repeats' values (for a claim: holding for at least one seed). Otherwise the
    reason starts "not explained" and ``hypothesis`` is shown as untested.

        >>> explain(Figure("acc", "a", 0.85), [0.84, 0.86, 0.88], [42, 43, 44], quick=False)[0]
        "within the spread over seeds: the seeds' 0.8500 lies in 0.8400 – 0.8800, the range over seeds 42, 43, 44"
    """
    if quick:
        return "quick check (--limit/--epochs): not the seeds' data size or epochs.", True
    measured = [(seed, value) for seed, value in zip(seeds, values) if value is not None]
    untested = f" (untested hypothesis: {hypothesis})" if hypothesis else ""
    if len(measured) < SPREAD_REPEATS:
        return f"not explained{untested}; --repeats {SPREAD_REPEATS} measures the seed-to-seed spread.", False
    names = ", ".join(str(seed) for seed, _ in measured)
    if isinstance(figure.seeds, bool):
        held = [str(seed) for seed, value in measured if bool(value) == figure.seeds]
        claim = f"the seeds' claim ({_shown(figure.seeds, 0)})"
        if held:
            return (f"within the spread over seeds: {claim} held for seed {', '.join(held)} of {names}", True)
        return f"not explained: {claim} held for none of seeds {names}", False
    numbers = [float(value) for _, value in measured]
    low, high = min(numbers), max(numbers)
    spread = f"{_shown(low, figure.digits)} – {_shown(high, figure.digits)}, the range over seeds {names}"
    if isinstance(figure.seeds, (tuple, list)):
        inside = figure.seeds[0] <= high and low <= figure.seeds[1]  # the two ranges overlap
        what = (f"range {_shown(figure.seeds[0], figure.digits)} – {_shown(figure.seeds[1], figure.digits)} "
                f"{'overlaps' if inside else 'lies outside'}")
    else:
        inside = low <= figure.seeds <= high
        what = f"{_shown(figure.seeds, figure.digits)} {'lies in' if inside else 'lies outside'}"
    if inside:
        return f"within the spread over seeds: the seeds' {what} {spread}", True
    return f"not explained: the seeds' {what} {spread}", False
