"""nnlab.core.runs: atomic writes, leftovers of killed processes, new run folders, reading broken folders."""

import json
import os
import re

import pytest

from nnlab.core.errors import NnlabError
from nnlab.core.runs import (TMP_MARK, atomic_path, clean_temporary, find_run, list_runs, new_run_dir, read_run,
                             run_status, versions, write_json, write_text)
from nnlab.fashion.task import TASK


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path, error):
    path = write_text(tmp_path / "metrics.json", "old")
    with pytest.raises(type(error)):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            assert path.read_text() == "old"  # nothing replaced while writing
            raise error
    assert path.read_text() == "old"
    assert _names(tmp_path) == ["metrics.json"]  # the temporary file is gone too


def test_atomic_path_writes_next_to_the_file_with_its_endings(tmp_path):
    with atomic_path(tmp_path / "final.weights.h5") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".final" + TMP_MARK)
        assert tmp.name.endswith(".weights.h5")  # Keras picks the format from the ending
        tmp.write_bytes(b"new")
    assert (tmp_path / "final.weights.h5").read_bytes() == b"new"
    with atomic_path(tmp_path / "NOTES") as tmp:  # no suffix at all
        tmp.write_text("x")
    assert _names(tmp_path) == ["NOTES", "final.weights.h5"]


def test_write_json_replaces_the_whole_file(tmp_path):
    path = write_json(tmp_path / "history.json", {"loss": [1.0, 0.5]})
    write_json(path, {"loss": [0.25]})
    assert json.loads(path.read_text()) == {"loss": [0.25]} and path.read_text().endswith("\n")


def test_clean_temporary_removes_only_leftovers(tmp_path):
    leftovers = [f".best{TMP_MARK}checkpoint.keras", f".history{TMP_MARK}123-4.json",
                 f".resume-state{TMP_MARK}9-1.npz"]
    kept = ["best.keras", "history.json", ".gitignore", "notes.tmp-1.txt"]
    for name in leftovers + kept:
        (tmp_path / name).write_text("x")
    assert sorted(clean_temporary(tmp_path)) == sorted(leftovers)
    assert _names(tmp_path) == sorted(kept)
    assert clean_temporary(tmp_path) == []


# ---------------------------------------------------------------- new run folders


def test_unnamed_runs_get_distinct_folders(tmp_path):
    config = TASK.config("dnn", runs_dir=str(tmp_path))
    first, second = new_run_dir(config), new_run_dir(config)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("dnn-") and second.name.startswith(first.name)


def test_a_named_run_folder_is_never_reused(tmp_path):
    config = TASK.config("dnn", runs_dir=str(tmp_path), name="mine")
    run_dir = new_run_dir(config)
    assert run_dir == tmp_path / "mine" and run_dir.is_dir()
    with pytest.raises(NnlabError, match=r"Run folder .*mine already exists; pick another --name, continue it with "
                                         r"`nnlab train --resume .*mine`"):
        new_run_dir(config)


def test_versions():
    found = versions()
    assert {"nnlab", "keras", "backend", "backend_version", "python", "git_commit"} == set(found)
    assert found["backend"] == "jax" and found["backend_version"]


# ---------------------------------------------------------------- reading run folders, broken ones included

CONFIG = {"task": "fashion", "model": "dnn", "epochs": 3}


def _run(root, name, files):
    folder = root / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        (folder / file).write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


@pytest.fixture
def runs(tmp_path):
    """A runs folder with good, stopped and broken runs (oldest first)."""
    root = tmp_path / "runs"
    folders = {
        "finished": {"config.json": CONFIG, "metrics.json": {"status": "finished", "epochs_run": 3}},
        "interrupted": {"config.json": CONFIG, "metrics.json": {"status": "interrupted", "epochs_run": 1}},
        "incomplete": {"config.json": CONFIG, "history.json": {"loss": [0.5]}},
        "half-metrics": {"config.json": CONFIG, "metrics.json": '{"run": "half-metrics", "stat'},
        "no-config": {"metrics.json": {"status": "finished"}, "history.json": {"loss": [0.5]}},
        "list-config": {"config.json": [1, 2], "metrics.json": {"status": "finished"}},
        "null-config": {"config.json": "null"},
        "string-metrics": {"config.json": CONFIG, "metrics.json": '"finished"'},
        "binary-config": {"config.json": CONFIG},
    }
    for age, (name, files) in enumerate(folders.items()):
        folder = _run(root, name, files)
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))
    (root / "binary-config" / "config.json").write_bytes(b"\xff\xfe\x00garbage")
    os.utime(root / "binary-config", (2_000_000, 2_000_000))
    (root / "empty").mkdir()
    (root / ".hidden").mkdir()
    (root / ".hidden" / "config.json").write_text("{}")
    (root / "stray-file.txt").write_text("not a run")
    return root


@pytest.mark.parametrize("name, status, reason", [
    ("finished", "finished", None),
    ("interrupted", "interrupted", None),
    ("incomplete", "incomplete", None),
    ("half-metrics", "broken", r"^metrics\.json is unreadable \(JSONDecodeError: "),
    ("no-config", "broken", r"^config\.json is missing$"),
    ("list-config", "broken", r"^config\.json holds list, not an object$"),
    ("null-config", "broken", r"^config\.json holds NoneType, not an object$"),
    ("string-metrics", "broken", r"^metrics\.json holds str, not an object$"),
    ("binary-config", "broken", r"^config\.json is unreadable \(UnicodeDecodeError: "),
    ("empty", "broken", r"^config\.json is missing$"),
])
def test_read_run_never_raises_and_says_why_a_folder_is_broken(runs, name, status, reason):
    info = read_run(runs / name)
    assert info["name"] == name and info["path"] == str(runs / name)
    assert info["status"] == status
    if reason is None:
        assert info["broken"] is None
        assert info["config"] == CONFIG and (info["metrics"] is None) == (status == "incomplete")
    else:
        assert info["broken"] is not None and re.search(reason, info["broken"]), info["broken"]
    assert info["config"] is None or isinstance(info["config"], dict)
    assert info["metrics"] is None or isinstance(info["metrics"], dict)


def test_list_runs_lists_broken_folders_with_the_others_newest_first(runs):
    listed = list_runs(runs)
    assert [run["name"] for run in listed] == [
        "binary-config", "string-metrics", "null-config", "list-config", "no-config", "half-metrics",
        "incomplete", "interrupted", "finished"]  # empty and hidden folders and plain files are not runs
    broken = {run["name"] for run in listed if run["status"] == "broken"}
    assert broken == {"binary-config", "string-metrics", "null-config", "list-config", "no-config", "half-metrics"}
    assert all(run["broken"] for run in listed if run["status"] == "broken")
    assert list_runs(runs / "nowhere") == []


def test_run_status_of_older_metrics_without_a_status():
    assert run_status(CONFIG, None) == "incomplete"
    assert run_status(CONFIG, {"interrupted": True}) == "interrupted"
    assert run_status(CONFIG, {"interrupted": False}) == "finished"
    assert run_status(CONFIG, {"status": "interrupted", "interrupted": True}) == "interrupted"


def test_find_run(runs, monkeypatch):
    assert find_run("finished", runs_dir=runs) == runs / "finished"
    assert find_run(runs / "incomplete") == runs / "incomplete"
    monkeypatch.chdir(runs.parent)
    assert find_run("finished").resolve() == (runs / "finished").resolve()
    with pytest.raises(NnlabError, match=r"no run named 'nope' in .*runs/; `nnlab runs list` shows the runs"):
        find_run("nope", runs_dir=runs)
