"""nnlab.cli: every command on tiny inputs, and user mistakes -> one ``error:`` line, exit status 2.

Most tests call ``nnlab.cli.main`` in this process with ``sys.argv`` set, so the
real error handler runs; two run the installed ``nnlab`` command in a subprocess.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import write_idx_folder
from nnlab import cli
from nnlab.data import CLASS_NAMES

NNLAB = Path(sys.executable).with_name("nnlab")  # the console script installed next to this Python


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    """``run_cli(*args) -> (exit status, stdout, stderr)``, as ``nnlab ARGS`` run from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["nnlab", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main()
        out, err = capsys.readouterr()
        return exited.value.code or 0, out, err

    return run


def _png(path, value=200):
    Image.fromarray(np.full((28, 28), value, np.uint8), "L").save(path)
    return path


# ---------------------------------------------------------------- data


def test_data_info(run_cli):
    code, out, _ = run_cli("data", "info")
    assert code == 0
    assert "(60000, 28, 28)" in out and "(10000,)" in out and "uint8" in out
    assert out.count(" ok") == 4 and "official Fashion-MNIST" in out
    assert "6,000" in out and "Ankle boot" in out


def test_data_info_on_own_data(run_cli, isolated_data):
    write_idx_folder(isolated_data / "mine")
    with pytest.warns(UserWarning, match="SHA-256 mismatch"):
        code, out, _ = run_cli("data", "info", "--data-dir", isolated_data / "mine")
    assert code == 0
    assert "(30, 28, 28)" in out and out.count("differs") == 4 and "not the official files" in out


def test_data_show_writes_a_png(run_cli, tmp_path):
    code, out, _ = run_cli("data", "show", "--n", "10", "samples.png")
    assert code == 0 and "wrote samples.png" in out
    with Image.open(tmp_path / "samples.png") as image:
        assert image.format == "PNG" and image.width > image.height  # one row of ten


# ---------------------------------------------------------------- user mistakes


@pytest.fixture
def bad_config(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"epoch": 3}))
    return path


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
    (["train", "--optimizer", "adamw"], "got 'adamw'. Did you mean 'adam'?"),
    (["train", "--preset", "nope"], "--preset must be one of"),
    (["train", "--preset", "nope"], "got 'nope'"),
    (["train", "--config", "bad.json"], "Unknown config key 'epoch'. Did you mean 'epochs'?"),
    (["train", "--config", "bad.json", "--preset", "dnn"], "give either --preset or --config, not both"),
    (["train", "--dropout", "1.0"], "--dropout must be in [0, 1), got 1.0"),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to sgd and rmsprop, not adam"),
    (["train", "--validation", "none", "--monitor", "val_loss"], "--monitor val_loss needs validation data"),
    (["train", "--name", "a/b"], "--name must be letters, digits"),
    (["evaluate", "missing.keras"], "Model file missing.keras does not exist"),
    (["evaluate", "notes.txt"], "expected a name ending in .keras"),
    (["predict", "missing.keras", "notanimage.txt"], "notanimage.txt is not a readable image"),
    (["predict", "missing.keras", "nothere.png"], "Image nothere.png does not exist"),
    (["data", "show", "out.jpg"], "output file must end in .png, got out.jpg"),
    (["data", "show", "nofolder/out.png"], "folder nofolder does not exist"),
    (["data", "show", "--split", "val", "out.png"], "--split must be train or test, got 'val'"),
    (["data", "show", "--n", "0", "out.png"], "--n must be an integer >= 1, got 0"),
    (["summary", "nope"], "Model file nope does not exist"),
    (["plot-model", "dnn", "model.svg"], "output file must end in .png, got model.svg"),
    (["runs", "show", "nope"], "no run named 'nope' in runs/"),
])
def test_user_mistakes_exit_2_with_one_error_line(run_cli, bad_config, tmp_path, args, message):
    (tmp_path / "notanimage.txt").write_text("hello")
    (tmp_path / "notes.txt").write_text("hello")
    code, out, err = run_cli(*args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0]
    assert "Traceback" not in err + out
    assert not (tmp_path / "runs").exists()  # nothing was trained or written


def test_bad_flag_types_are_usage_errors(run_cli):
    # Typer's own usage error (a box, not nnlab's one-line `error:`), still status 2 without a traceback.
    code, _, err = run_cli("train", "--epochs", "abc")
    assert code == 2 and "Invalid value for '--epochs'" in err and "Traceback" not in err


def test_installed_command_reports_one_error_line(tmp_path):
    done = subprocess.run([str(NNLAB), "train", "--epochs", "0"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NNLAB_OFFLINE": "1"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: --epochs must be an integer >= 1, got 0."]
    assert "Traceback" not in done.stderr and done.stdout == ""


# ---------------------------------------------------------------- models and runs


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


def test_runs_list_and_show(run_cli, tiny_run):
    runs_dir = tiny_run.run_dir.parent
    code, out, _ = run_cli("runs", "list", "--runs-dir", runs_dir)
    assert code == 0 and "tiny" in out and "adam" in out
    metrics = tiny_run.metrics
    assert f"{metrics['test']['accuracy']:.4f}" in out

    code, out, _ = run_cli("runs", "show", "tiny", "--runs-dir", runs_dir)
    assert code == 0
    assert '"epochs_run": 3' in out and '"name": "adam"' in out
    for name in ("best.keras", "final.keras", "metrics.json", "curves.png"):
        assert name in out


def test_runs_list_without_runs(run_cli):
    code, out, _ = run_cli("runs", "list")
    assert code == 0 and "no runs in runs/ yet" in out


def test_evaluate_a_run(run_cli, tiny_run, small_splits):
    from nnlab.evaluation import evaluate
    from nnlab.saving import load_model

    code, out, _ = run_cli("evaluate", tiny_run.run_dir, "--split", "val", "--limit", "600")
    assert code == 0
    expected = evaluate(load_model(tiny_run.run_dir / "best.keras"), small_splits.x_val, small_splits.y_val)
    match = re.search(r"on val \(600 images\): loss ([\d.]+), accuracy ([\d.]+) \(predict\+argmax ([\d.]+)\)",
                      " ".join(out.split()))
    assert match, out
    loss, accuracy, argmax_accuracy = map(float, match.groups())
    assert loss == pytest.approx(expected["loss"], abs=1e-4)
    assert accuracy == pytest.approx(expected["accuracy"], abs=1e-4) and argmax_accuracy == accuracy


def test_predict_images(run_cli, tiny_run, tmp_path):
    images = [_png(tmp_path / "light.png", 200), _png(tmp_path / "dark.png", 30)]
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
def test_train_end_to_end_on_real_data(tmp_path):
    """``nnlab train`` on 2,000 samples for 2 epochs, as a user would run it."""
    env = {**os.environ, "NNLAB_OFFLINE": "1", "COLUMNS": "200"}
    done = subprocess.run([str(NNLAB), "train", "--preset", "dnn", "--limit", "2000", "--epochs", "2",
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
