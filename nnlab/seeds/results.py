"""``results.json`` of ``nnlab reproduce``: the settings it was made with and every experiment's record.

    >>> from nnlab.seeds.results import load_results, save_results
    >>> results = load_results("reports/reproduce", {"repeats": 1, "seeds": [42], "limit": None,
    ...                                              "max_epochs": None})
    >>> save_results("reports/reproduce", results)      # atomically: temp file, then rename

A report folder belongs to one set of settings (``--repeats``, ``--limit``,
``--epochs``). ``load_results`` refuses a folder made with other settings, naming
each difference, unless ``overwrite`` says to start over there: nothing finished is
ever dropped by accident. The pages (index.html, README.md) are rendered from these
records by ``nnlab.seeds.report``.
"""

import json
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.runs import write_json

RESULTS_FILE = "results.json"
# The settings a report folder is made with, and the flag that sets each.
FLAGS = (("repeats", "--repeats"), ("limit", "--limit"), ("max_epochs", "--epochs"))


def jsonable(value):
    """numpy scalars -> plain Python, recursively, for json.dumps."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def settings_differences(old, new):
    """``["--repeats 3 (there: 1)", "--limit 600 (there: none)"]``: each flag whose value differs."""
    shown = lambda value: "none" if value is None else value  # noqa: E731
    return [f"{flag} {shown(new.get(key))} (there: {shown(old.get(key))})"
            for key, flag in FLAGS if old.get(key) != new.get(key)]


def load_results(out, settings, resume=False, overwrite=False):
    """The results of ``out`` to add to: those already there (same settings), else a fresh record.

    Args:
        out: the report folder.
        settings: ``{"repeats", "seeds", "limit", "max_epochs"}`` of this call.
        resume: the caller will skip experiments already recorded (needs the same settings).
        overwrite: start over in ``out``: its earlier results are replaced, whatever their settings.

    Returns ``{"settings": ..., "experiments": {id: record}, ...}``.
    Raises NnlabError when ``out/results.json`` was made with other settings or is
    not a results file, unless ``overwrite``; the message names the differences and the fix.
    """
    path = Path(out) / RESULTS_FILE
    fresh = {"settings": settings, "experiments": {}}
    if overwrite or not path.is_file():
        return fresh
    fix = "pass --overwrite to start over in that folder, choose another --out"
    try:
        results = json.loads(path.read_text())
        old = results["settings"]
        experiments = results["experiments"]
        if not isinstance(old, dict) or not isinstance(experiments, dict):
            raise TypeError("settings and experiments must be objects")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise NnlabError(f"{path} is not a results file of `nnlab reproduce` ({type(error).__name__}: {error}); "
                         f"{fix}, or delete it.") from None
    differences = settings_differences(old, settings)
    if differences:
        again = "resume with the settings there" if resume else "use the settings there"
        raise NnlabError(f"{out} holds results made with other settings: {', '.join(differences)}; "
                         f"{fix}, or {again}.")
    return results


def save_results(out, results, order=()):
    """Write ``out/results.json`` atomically; experiments sorted as ``order`` (ids), totals updated."""
    rank = {name: i for i, name in enumerate(order)}
    results["experiments"] = dict(sorted(results["experiments"].items(),
                                         key=lambda item: rank.get(item[0], len(rank))))
    results["total_seconds"] = round(sum(e["seconds"] for e in results["experiments"].values()), 1)
    return write_json(Path(out) / RESULTS_FILE, jsonable(results))
