"""Where every benchmark writes its result: ``bench/results/<name>.json``, committed with the code.

    >>> from record import save_result                       # from a script in bench/
    >>> save_result("data_load", claim="a warm load takes < 0.3 s", figure=(0.02, "s"), baseline=(0.97, "s"),
    ...             met=True, summary="0.02 s warm vs 0.97 s cold", settings={"repeats": 5})

Each file holds the claim, the figure, the baseline measured in the same run, their
ratio, whether the claim was met, a one-line summary, the settings, the date, the
git commit and the machine. ``bench/readme_table.py`` makes the README's benchmark
table from these files, so the README always shows the latest measurement.
"""

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=RESULTS.parent, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=RESULTS.parent, timeout=5).stdout.strip()
        return (out.stdout.strip() + ("+changes" if dirty else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


def save_result(name, claim, figure, baseline, met, summary, settings, details=None, script=None):
    """Write ``bench/results/<name>.json`` (atomically) and print the claim, figure, baseline and ratio.

    ``figure`` and ``baseline`` are ``(value, unit)``; the ratio is figure / baseline. ``script``: the
    command that measured it, as the README's table shows it (default ``bench/<name>.py``).
    """
    import keras

    import nnlab
    from nnlab.core.runs import write_json

    ratio = figure[0] / baseline[0] if baseline[0] else None
    result = {
        "name": name, "script": script or f"bench/{name}.py", "claim": claim,
        "figure": {"value": figure[0], "unit": figure[1]},
        "baseline": {"value": baseline[0], "unit": baseline[1]},
        "ratio": ratio, "met": bool(met), "summary": summary, "settings": settings, "details": details or {},
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "commit": _commit(),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.machine(), "python": platform.python_version(),
                    "nnlab": nnlab.__version__, "keras": keras.__version__, "backend": keras.backend.backend()},
    }
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{name}.json", result)
    print(f"claim: {claim}")
    ratio_text = "n/a" if ratio is None else f"{ratio:.3f}"
    print(f"figure {figure[0]:.4g} {figure[1]}; baseline {baseline[0]:.4g} {baseline[1]}; ratio {ratio_text}; "
          f"{'met' if met else 'NOT met'}")
    print(f"saved {RESULTS / f'{name}.json'}")
    return result
