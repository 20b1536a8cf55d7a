"""``nnlab train | evaluate | predict | summary | plot-model`` on tiny runs of the real data."""

import json
import os
import re
import subprocess

import pytest
from PIL import Image

from nnlab.fashion.data import CLASS_NAMES


def test_summary_of_a_preset(run_cli):
    code, out, _ = run_cli("summary", "dnn-sigmoid")
    assert code == 0
    assert "Fashion_MNIST_DNN_Model" in out and "hidden" in out and "output" in out
    assert "79,510" in out and "78,500" in out and "1,010" in out


def test_summary_of_a_run(run_cli, tiny_run):
    code, out, _ = run_cli("summary", tiny_run.run_dir)
    assert code == 0 and "79,510" in out and "Dropout" in out


def test_plot_model_writes_a_png(run_cli, tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    code, out, _ = run_cli("plot-model", "dnn-sigmoid", "model.png")
    assert code == 0 and "wrote model.png" in out
    with Image.open(tmp_path / "model.png") as image:
        assert image.format == "PNG"


def test_evaluate_a_run(run_cli, tiny_run, small_splits):
    from nnlab.core.evaluation import evaluate
    from nnlab.core.saving import load_model
    from nnlab.fashion.task import TASK

    code, out, _ = run_cli("evaluate", tiny_run.run_dir, "--split", "val", "--limit", "600")
    assert code == 0
    expected = evaluate(load_model(tiny_run.run_dir / "best.keras"), small_splits.x_val, small_splits.y_val, TASK)
    match = re.search(r"on val \(600 samples\): accuracy ([\d.]+), loss ([\d.]+) \(predict\+argmax ([\d.]+)\)",
                      " ".join(out.split()))
    assert match, out
    accuracy, loss, argmax_accuracy = map(float, match.groups())
    assert loss == pytest.approx(expected["loss"], abs=1e-4)
    assert accuracy == pytest.approx(expected["accuracy"], abs=1e-4) and argmax_accuracy == accuracy


def test_predict_images(run_cli, tiny_run, tmp_path, png):
    images = [png(tmp_path / "light.png", 200), png(tmp_path / "dark.png", 30)]
    code, out, _ = run_cli("predict", tiny_run.run_dir, *images, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["image"] for row in rows] == [str(p) for p in images]
    for row in rows:
        assert list(row["probabilities"]) == list(CLASS_NAMES)
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert row["class"] == CLASS_NAMES[row["class_index"]]
        assert row["class"] == max(row["probabilities"], key=row["probabilities"].get)


@pytest.mark.slow
def test_train_end_to_end_on_real_data(tmp_path, nnlab_command):
    """``nnlab train`` on 2,000 samples for 2 epochs, as a user would run it."""
    env = {**os.environ, "NNLAB_OFFLINE": "1", "COLUMNS": "200"}
    done = subprocess.run([nnlab_command, "train", "--preset", "dnn", "--limit", "2000", "--epochs", "2",
                           "--verbose", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    match = re.search(r"run folder: (\S+)", done.stdout)
    assert match, done.stdout
    run_dir = tmp_path / match.group(1)
    assert run_dir.parent == tmp_path / "runs" and run_dir.is_dir()
    assert {"config.json", "history.csv", "history.json", "metrics.json", "curves.png", "best.keras",
            "final.keras", "final.weights.h5"} <= {p.name for p in run_dir.iterdir()}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert config["limit"] == 2000 and config["epochs"] == 2 and config["model"] == "dnn"
    assert metrics["epochs_run"] == 2 and metrics["interrupted"] is False
    assert metrics["test"]["accuracy"] > 0.5  # far above chance (0.1) after 2 epochs
    assert f"{metrics['test']['accuracy']:.4f}" in done.stdout


def test_evaluate_val_uses_the_runs_own_validation_split(run_cli, tmp_path):
    # A stratified split holds other images than the seeds' split: scoring on the seeds' one would mix in
    # images this run trained on, and give another figure than the run's own metrics.json.
    code, _, err = run_cli("train", "--model", "logreg", "--validation", "stratified", "--limit", "300",
                           "--epochs", "1", "--verbose", "0", "--name", "strat")
    assert code == 0, err
    metrics = json.loads((tmp_path / "runs" / "strat" / "metrics.json").read_text())
    code, out, _ = run_cli("evaluate", "runs/strat", "--split", "val")
    assert code == 0
    match = re.search(r"on val \(300 samples\): accuracy ([\d.]+), loss ([\d.]+)", " ".join(out.split()))
    assert match, out
    assert float(match.group(1)) == pytest.approx(metrics["val"]["accuracy"], abs=1e-4)
    assert float(match.group(2)) == pytest.approx(metrics["val"]["loss"], abs=1e-4)


def test_evaluate_val_of_a_run_without_validation_is_refused(run_cli):
    code, _, err = run_cli("train", "--model", "logreg", "--validation", "none", "--limit", "200", "--epochs", "1",
                           "--verbose", "0", "--name", "noval")
    assert code == 0, err
    code, _, err = run_cli("evaluate", "runs/noval", "--split", "val")
    assert code == 2 and "trained without a validation split" in err and "--split test" in err


def test_train_help_names_every_preset_and_model(run_cli, monkeypatch):
    from nnlab.fashion.config import PRESETS
    from nnlab.fashion.models import MODELS

    monkeypatch.setenv("COLUMNS", "400")  # one help line per option
    status, out, _ = run_cli("train", "--help")
    lines = {option: next(line for line in out.splitlines() if f"--{option} " in line) for option in ("preset", "model")}
    assert status == 0
    assert all(name in lines["preset"] for name in PRESETS), lines["preset"]
    assert all(name in lines["model"] for name in MODELS), lines["model"]
