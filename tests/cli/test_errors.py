"""User mistakes at the command line: one ``error:`` line naming the value and the fix, exit status 2."""

import json
import os
import subprocess

import pytest


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
    (["train", "--config", "bad.json", "--preset", "dnn"], "Unknown config key 'epoch'"),  # the file over the preset
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


def test_installed_command_reports_one_error_line(tmp_path, nnlab_command):
    done = subprocess.run([nnlab_command, "train", "--epochs", "0"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NNLAB_OFFLINE": "1"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: --epochs must be an integer >= 1, got 0 (setting epochs)."]
    assert "Traceback" not in done.stderr and done.stdout == ""
