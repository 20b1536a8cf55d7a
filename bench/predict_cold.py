"""Benchmark: a cold `nnlab predict RUN photo.jpg` of one product photo, with the run's exported model vs Keras.

    .venv/bin/python bench/predict_cold.py                          # the best calibrated fashion run in runs/
    .venv/bin/python bench/predict_cold.py --run runs/<run> --repeats 9

Writes bench/results/predict_cold.json.

Claim (this 2-core machine): `nnlab predict RUN photo.jpg` of one photo, as a fresh process,
takes <= 3 s wall time (median). Baseline, measured in the same run: the same command with
`NNLAB_EXPORT=0`, which loads the served model with Keras as `nnlab predict` did before the
exported copy (``<model file>.jaxexport``, nnlab.core.exported) existed.

Each measurement is a new `nnlab predict` process timed from launch to exit; the two kinds
take turns, so the load of this shared machine weighs on both alike, and the CPU seconds of
each process (user + system, which the load moves less than the wall time) are saved too, with
the load average. Both kinds run once before timing: that writes the exported copy when the
run lacks it and fills JAX's compilation cache, as any earlier predict of the run does; the
very first predict of a run after installing nnlab also compiles (about a second more).
The photo is a product-photo-like JPEG of the first test image (nnlab.fashion.photoset), and
both kinds must print the same JSON.

Where the time goes with the exported copy (``python -X importtime``): importing JAX (~0.8 s
of CPU), the CLI's own imports (Typer, which imports pydantic, and Rich: ~0.3 s), then reading
the photo and one call of the compiled function, read back from ~/.cache/nnlab/executables
(~0.1 s; lowering it instead would import SciPy's linear algebra for JAX's CPU kernels,
~0.45 s more). With Keras: `import keras` (~3.5 s idle: JAX, scikit-learn for Keras' sklearn
wrappers, matplotlib, Keras), loading the model and its compiles.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

from record import save_result

ROOT = Path(__file__).resolve().parent.parent
NNLAB = Path(sys.executable).with_name("nnlab")
GOAL_SECONDS = 3.0
KINDS = {"exported": {"NNLAB_EXPORT": "1"}, "keras": {"NNLAB_EXPORT": "0"}}


def best_calibrated_run(runs_dir):
    """The calibrated fashion run in ``runs_dir`` with the best validation accuracy."""
    from nnlab.core.calibration import calibrated_path
    from nnlab.core.runs import list_runs

    found = [(run["metrics"].get("val", {}).get("accuracy", 0), run["path"]) for run in list_runs(runs_dir)
             if not run["broken"] and run["metrics"] and (run["config"] or {}).get("task", "fashion") == "fashion"
             and calibrated_path(run["path"])[0] is not None]
    if not found:
        raise SystemExit(f"no calibrated fashion run in {runs_dir}/: `nnlab train --preset cnn-fast`, then "
                         "`nnlab calibrate runs/<run>`; or pass --run")
    return max(found)[1]


def one_photo(folder):
    """A product-photo-like JPEG of the first Fashion-MNIST test image; returns its path."""
    from nnlab.fashion.data import load_fashion_mnist
    from nnlab.fashion.photoset import make_photo

    _, (x_test, _) = load_fashion_mnist()
    photo = make_photo(x_test[0], index=0, seed=0)  # index 0: a JPEG
    path = Path(folder) / photo.name
    path.write_bytes(photo.data)
    return path


def timed_predict(run, photo, kind):
    """``(wall seconds, CPU seconds, stdout)`` of one fresh `nnlab predict RUN PHOTO --json` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(NNLAB), "predict", str(run), str(photo), "--json"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **KINDS[kind]}, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "note:" in done.stderr:
        raise SystemExit(f"nnlab predict ({kind}) failed or fell back:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a calibrated fashion run (default: the best one in runs/)")
    parser.add_argument("--repeats", type=int, default=7, help="timed processes of each kind (default 7)")
    args = parser.parse_args()
    run = Path(args.run or best_calibrated_run(ROOT / "runs"))
    run = run if run.is_absolute() else Path.cwd() / run

    from nnlab.core.calibration import served_model_path
    from nnlab.core.exported import exported_path

    served, note = served_model_path(run)
    with tempfile.TemporaryDirectory() as folder:
        photo = one_photo(folder)
        # Untimed (see the docstring); twice with the exported copy: the first may have to write it.
        answers = {kind: [timed_predict(run, photo, kind)[2] for _ in range(2 if kind == "exported" else 1)][-1]
                   for kind in KINDS}
        if answers["exported"] != answers["keras"]:
            raise SystemExit("the exported model and Keras printed different predictions")
        load_before = os.getloadavg()
        times = {kind: [] for kind in KINDS}
        for _ in range(args.repeats):
            for kind in KINDS:  # in turns
                wall, cpu, out = timed_predict(run, photo, kind)
                assert out == answers[kind]
                times[kind].append((wall, cpu))
        load_after = os.getloadavg()

    def median(kind, index):
        return statistics.median(t[index] for t in times[kind])

    fast, slow = median("exported", 0), median("keras", 0)
    fast_cpu, slow_cpu = median("exported", 1), median("keras", 1)
    spread = {kind: (min(t[0] for t in times[kind]), max(t[0] for t in times[kind])) for kind in KINDS}
    load = max(load_before[0], load_after[0])
    for kind in KINDS:
        print(f"{kind:>8}: median {median(kind, 0):.2f} s wall, {median(kind, 1):.2f} s CPU; "
              f"min {spread[kind][0]:.2f}, max {spread[kind][1]:.2f} s ({args.repeats} processes)")
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores)")
    save_result(
        "predict_cold",
        claim=f"a cold `nnlab predict RUN photo.jpg` of one photo takes <= {GOAL_SECONDS:g} s wall time "
              "(median of fresh processes; baseline: the same with NNLAB_EXPORT=0, the model loaded by Keras)",
        figure=(fast, "s"), baseline=(slow, "s"), met=fast <= GOAL_SECONDS,
        summary=f"{fast:.2f} s (min {spread['exported'][0]:.2f}; CPU {fast_cpu:.2f} s) with the exported model vs "
                f"{slow:.2f} s (min {spread['keras'][0]:.2f}; CPU {slow_cpu:.2f} s) with Keras, median of "
                f"{args.repeats}; load average {load:.1f}",
        settings={"repeats": args.repeats, "run": run.name, "served": f"{served.name} ({note})",
                  "photo": photo.name, "goal_seconds": GOAL_SECONDS},
        details={kind: {"wall": [t[0] for t in times[kind]], "cpu": [t[1] for t in times[kind]],
                        "median_wall": median(kind, 0), "median_cpu": median(kind, 1)} for kind in KINDS}
        | {"load_average": {"before": list(load_before), "after": list(load_after)},
           "exported_bytes": exported_path(served).stat().st_size, "model_bytes": served.stat().st_size,
           "prediction": json.loads(answers["exported"])[0]["class"]})


if __name__ == "__main__":
    main()
