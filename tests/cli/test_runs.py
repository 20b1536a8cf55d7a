"""``nnlab runs list | show``, also with broken and unfinished run folders next to good ones."""

import json
import shutil

import pytest


def test_runs_list_and_show(run_cli, tiny_run):
    runs_dir = tiny_run.run_dir.parent
    code, out, _ = run_cli("runs", "list", "--runs-dir", runs_dir)
    assert code == 0 and "tiny" in out and "finished" in out
    metrics = tiny_run.metrics
    assert f"{metrics['test']['accuracy']:.4f}" in out

    code, out, _ = run_cli("runs", "show", "tiny", "--runs-dir", runs_dir)
    assert code == 0 and ": finished" in out
    assert '"epochs_run": 3' in out and '"name": "adam"' in out
    for name in ("best.keras", "final.keras", "metrics.json", "curves.png"):
        assert name in out


def test_runs_list_without_runs(run_cli):
    code, out, _ = run_cli("runs", "list")
    assert code == 0 and "no runs in runs/ yet" in out


@pytest.fixture
def messy_runs(tiny_run, tmp_path):
    """A runs folder with one good run and every way a run folder can be broken or unfinished."""
    root = tmp_path / "messy"
    shutil.copytree(tiny_run.run_dir, root / "good")
    half = root / "half-metrics"  # killed while writing metrics.json by hand (nnlab itself renames into place)
    shutil.copytree(tiny_run.run_dir, half)
    (half / "metrics.json").write_text((half / "metrics.json").read_text()[:40])
    (root / "no-config").mkdir()
    (root / "no-config" / "history.json").write_text("{}")
    (root / "list-config").mkdir()
    (root / "list-config" / "config.json").write_text("[1, 2]")
    (root / "binary").mkdir()
    (root / "binary" / "config.json").write_bytes(b"\xff\xfe\x00garbage")
    running = root / "running"  # killed mid-training: config and history, no metrics.json
    running.mkdir()
    shutil.copy(tiny_run.run_dir / "config.json", running / "config.json")
    (root / "empty").mkdir()  # an empty folder is not a run
    return root


def test_runs_list_survives_broken_folders(run_cli, messy_runs):
    code, out, err = run_cli("runs", "list", "--runs-dir", messy_runs)
    assert code == 0 and "Traceback" not in out + err
    text = " ".join(out.split())
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()
            if line.split() and line.split()[0] in {p.name for p in messy_runs.iterdir()}}
    assert rows == {"good": "finished", "half-metrics": "broken", "no-config": "broken", "list-config": "broken",
                    "binary": "broken", "running": "incomplete"}
    assert "half-metrics: metrics.json is unreadable" in text
    assert "no-config: config.json is missing" in text
    assert "list-config: config.json holds list" in text
    assert "nnlab train --resume" in text


@pytest.mark.parametrize("name, says", [("half-metrics", "metrics.json is unreadable"),
                                        ("no-config", "config.json is missing"),
                                        ("running", "incomplete")])
def test_runs_show_survives_a_broken_folder(run_cli, messy_runs, name, says):
    code, out, err = run_cli("runs", "show", name, "--runs-dir", messy_runs)
    assert code == 0 and "Traceback" not in out + err
    assert says in " ".join(out.split())
