"""`nnlab serve` without --model: which fashion run it serves and what it says, on hand-made run folders.

The folders hold real files: config.json, metrics.json, a model file and, when calibrated,
calibrated.keras with a calibration.json naming the digest of the model it was made from (the
model files are a few bytes: choosing a run never loads them).
"""

import json

import pytest

from nnlab.cli.serve import SERVED_PRESETS, best_fashion_run
from nnlab.core.calibration import file_digest
from serving.fashion_fixtures import free_port


def make_run(runs, name, preset=None, model="dnn", val=0.85, calibrated=None, task="fashion", stale=False):
    """A finished run folder; ``calibrated``: the val accuracy after calibration (None: not calibrated)."""
    run = runs / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"task": task, "name": name, "preset": preset, "model": model}))
    (run / "metrics.json").write_text(json.dumps({"status": "finished", "val": {"accuracy": val, "loss": 0.4},
                                                  "test": {"accuracy": val - 0.01, "loss": 0.41}}))
    (run / "final.keras").write_bytes(f"model of {name}".encode())
    if calibrated is not None:
        (run / "calibrated.keras").write_bytes(f"calibrated model of {name}".encode())
        digest = "0" * 64 if stale else file_digest(run / "final.keras")  # stale: made from another final.keras
        (run / "calibration.json").write_text(json.dumps({
            "source_model": "final.keras", "source_sha256": digest,
            "outputs": {"class": {"temperature": 1.1, "val": {"after": {"accuracy": calibrated, "ece": 0.01}}}}}))
    return run


# (name, preset, model, val accuracy, calibrated val accuracy) per run -> the run served, and why
CASES = [
    ("the calibrated cnn-fast run beats a better calibrated one of another preset",
     [("dnn", "seeds-final", "dnn", 0.88, 0.93), ("fast", "cnn-fast", "cnn-fast", 0.91, 0.91)], "fast"),
    ("among calibrated cnn-fast runs, the best val accuracy",
     [("fast-1", "cnn-fast", "cnn-fast", 0.90, 0.90), ("fast-2", "cnn-fast", "cnn-fast", 0.92, 0.92),
      ("cnn", "cnn", "cnn", 0.93, 0.93)], "fast-2"),
    ("a run made with --model cnn-fast and no preset counts",
     [("dnn", "seeds-final", "dnn", 0.88, 0.93), ("flags", None, "cnn-fast", 0.90, 0.90)], "flags"),
    ("an uncalibrated cnn-fast run: the best calibrated run, as before",
     [("fast", "cnn-fast", "cnn-fast", 0.95, None), ("dnn", "seeds-final", "dnn", 0.88, 0.88)], "dnn"),
    ("nothing calibrated: the best val accuracy, as before",
     [("fast", "cnn-fast", "cnn-fast", 0.90, None), ("dnn", "dnn", "dnn", 0.91, None)], "dnn"),
    ("a calibration made from another model file does not count",
     [("fast", "cnn-fast", "cnn-fast", 0.91, "stale"), ("dnn", "seeds-final", "dnn", 0.88, 0.88)], "dnn"),
]


@pytest.mark.parametrize("runs_made, served", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_run_served_by_default(tmp_path, runs_made, served):
    runs = tmp_path / "runs"
    for name, preset, model, val, calibrated in runs_made:
        make_run(runs, name, preset, model, val, calibrated=0.5 if calibrated == "stale" else calibrated,
                 stale=calibrated == "stale")
    make_run(runs, "tickets", preset="seeds", model="seeds", val=0.99, calibrated=0.99, task="tickets")
    assert best_fashion_run(runs).path == runs / served


def test_the_speed_preset_is_preferred_and_a_real_preset():
    from nnlab.fashion.config import PRESETS

    assert SERVED_PRESETS[0] == "cnn-fast" and set(SERVED_PRESETS) <= set(PRESETS)


def serve_says(run_cli):
    """`nnlab serve` in tmp_path (so --runs-dir is runs) on a free port: (status, stdout on one line, stderr)."""
    status, out, err = run_cli("serve", "--port", free_port())
    return status, " ".join(out.split()), err  # rich wraps long lines at the console's width


def test_serve_says_which_run_and_why(run_cli, tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "dnn", "seeds-final", val=0.88, calibrated=0.93)
    make_run(runs, "fast", "cnn-fast", "cnn-fast", val=0.92)
    status, out, err = serve_says(run_cli)
    assert "model: runs/dnn, the best calibrated fashion run in runs/ (val accuracy 0.9300); there is no " \
           "calibrated cnn-fast run" in out
    assert "runs/fast is a cnn-fast run, not calibrated: `nnlab calibrate runs/fast` makes it the default." in out
    # The folders are hand-made: the model files are not models, and loading says so in one line.
    assert status == 2 and err.startswith("error: Cannot load model") and "Traceback" not in err

    make_run(runs, "fast-calibrated", "cnn-fast", "cnn-fast", val=0.91, calibrated=0.915)
    status, out, err = serve_says(run_cli)
    assert "model: runs/fast-calibrated, the cnn-fast run in runs/ with the best val accuracy (0.9150), " \
           "calibrated" in out
    assert "makes it the default" not in out


def test_serve_without_a_fashion_run_says_how_to_make_one(run_cli, tmp_path):
    make_run(tmp_path / "runs", "tickets", "seeds", "seeds", val=0.9, calibrated=0.9, task="tickets")
    status, out, err = serve_says(run_cli)
    assert status == 2 and "nnlab train --preset cnn-fast # about 5 minutes" in out
    assert "nnlab calibrate RUN" in out and err.startswith("error: nothing to serve: no fashion run in runs/")
