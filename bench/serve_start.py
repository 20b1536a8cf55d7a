"""Benchmark: how soon `nnlab serve` of a fashion model answers, and what it does not import.

    .venv/bin/python bench/serve_start.py                        # the run `nnlab serve` picks in runs/
    .venv/bin/python bench/serve_start.py --model runs/<run> --repeats 5

Writes bench/results/serve_start.json.

Claim (this 2-core machine): `nnlab serve --model RUN` of a fashion run answers GET /healthz
within 8 s of its launch (median of 5), and its process imports none of the ticket package,
TensorFlow, scikit-learn and matplotlib. Baseline, measured in the same run: the same start as
before this was tuned, i.e. with scikit-learn and matplotlib imported (``import keras`` imports
them for keras.wrappers and keras.visualization; ``nnlab.serving.app.import_keras`` now keeps
them out) and every task package imported (as ``load_model`` did before it imported only the
run's own task). Also measured: the same start with
TensorFlow imported first, what loading a ticket model costs (its text layers run on TensorFlow).

Each start is a fresh process (``python -c "...; nnlab.cli.main()" serve ...``, the same launcher
for all three), timed from its launch to the first 200 from /healthz, then stopped with SIGINT
(Ctrl-C); the three kinds take turns, so the load of this shared machine weighs on them alike
(the load average is saved with the result). On exit each server writes which of
``nnlab.tickets``, ``tensorflow``, ``sklearn`` and ``matplotlib`` it had imported.

Where the rest goes (``python -X importtime``): ``import keras`` with JAX is most of it, then
FastAPI and uvicorn, loading the model, and compiling the model call for the padded batch sizes
(from JAX's persistent cache after the first start).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

from record import save_result
from serve_load import default_model, healthy  # default_model: the run `nnlab serve` picks, else an untrained cnn

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 8.0
SETTINGS = {"repeats": 5, "timeout_seconds": 180}
# What each kind of start runs before `nnlab serve`: nothing, every task package, TensorFlow.
PRELUDES = {"nnlab serve": "",
            "as before": "import sklearn, matplotlib.pyplot; from nnlab.core.task import import_tasks; import_tasks()",
            "tensorflow first": "import tensorflow"}
LAUNCHER = """
import atexit, json, sys
import nnlab
{prelude}
atexit.register(lambda: open({report!r}, "w").write(json.dumps(
    {{name: name in sys.modules for name in ("nnlab.tickets", "tensorflow", "sklearn", "matplotlib")}})))
from nnlab.cli import main
main()
"""


def cpu_seconds(pid):
    """CPU time (user + system, s) process ``pid`` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_seconds(model, port, prelude, report):
    """``(wall, cpu)``: seconds from launching the server to its first 200 from /healthz, and the CPU seconds
    it used by then (less sensitive to the other programs on this machine); the server is then stopped."""
    command = [sys.executable, "-c", LAUNCHER.format(prelude=prelude, report=str(report)), "serve", "--model", model,
               "--port", str(port)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while time.monotonic() - started < SETTINGS["timeout_seconds"]:
            if process.poll() is not None:
                raise SystemExit(f"the server stopped: {process.stderr.read()[-2000:]}")
            if healthy(port):
                return time.monotonic() - started, cpu_seconds(process.pid)
            time.sleep(0.02)
        raise SystemExit(f"the server did not answer within {SETTINGS['timeout_seconds']} s")
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down, then the atexit report is written
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="fashion run folder or model file (default: what `nnlab serve` picks)")
    parser.add_argument("--repeats", type=int, default=SETTINGS["repeats"], help="starts of each kind")
    parser.add_argument("--port", type=int, default=8941)
    args = parser.parse_args()
    SETTINGS.update(repeats=args.repeats, model=args.model or default_model(tempfile.mkdtemp()))
    model = SETTINGS["model"]
    print(f"model {model}; {args.repeats} starts of each kind, taking turns; {os.cpu_count()} CPUs")
    load_before = os.getloadavg()
    seconds, cpu, imported = {kind: [] for kind in PRELUDES}, {kind: [] for kind in PRELUDES}, {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for kind, prelude in PRELUDES.items():
                report = Path(folder) / "modules.json"
                wall, used = start_seconds(model, args.port, prelude, report)
                seconds[kind].append(wall)
                cpu[kind].append(used)
                imported[kind] = json.loads(report.read_text()) if report.is_file() else None
                report.unlink(missing_ok=True)
                print(f"{kind:>16}: {wall:5.2f} s, {used:5.2f} s CPU (load average {os.getloadavg()[0]:.1f}); "
                      f"imported {imported[kind]}")
    load_after = os.getloadavg()
    median = {kind: statistics.median(values) for kind, values in seconds.items()}
    median_cpu = {kind: statistics.median(values) for kind, values in cpu.items()}
    figure, baseline, tensorflow = median["nnlab serve"], median["as before"], median["tensorflow first"]
    clean = not any(imported["nnlab serve"].values())
    save_result(
        "serve_start",
        claim=f"`nnlab serve` of a fashion run answers GET /healthz within {GOAL_SECONDS:g} s of launch (median of "
              f"{args.repeats}), importing none of the ticket package, TensorFlow, scikit-learn, matplotlib (baseline: "
              "the same start as before: Keras importing scikit-learn and matplotlib, every task package imported)",
        figure=(figure, "s"), baseline=(baseline, "s"), met=figure <= GOAL_SECONDS and clean,
        summary=f"{figure:.1f} s vs {baseline:.1f} s as before (ratio {figure / baseline:.2f}; CPU seconds "
                f"{median_cpu['nnlab serve']:.1f} vs {median_cpu['as before']:.1f}); none of nnlab.tickets, tensorflow, "
                f"sklearn, matplotlib imported: {'yes' if clean else 'NO'}; with TensorFlow imported "
                f"(as a ticket model's loading does): {tensorflow:.1f} s; load average {load_before[0]:.1f}",
        settings=SETTINGS,
        details={"seconds": seconds, "median_seconds": median, "cpu_seconds": cpu, "median_cpu_seconds": median_cpu,
                 "imported_at_exit": imported,
                 "load_average_1_5_15_min": {"before": load_before, "after": load_after}})


if __name__ == "__main__":
    main()
