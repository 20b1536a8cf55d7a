"""nnlab.seeds.runner: which runs are shared, reused, continued, refused or replaced.

Trainings use 300 samples per split for one or two epochs (the toy tables in
conftest.py); the real table runs once, on 600 samples (``tiny_report``).
"""

import json

import pytest

from nnlab.core.errors import NnlabError
from nnlab.seeds.reproduce import reproduce


def read_json(path):
    return json.loads(path.read_text())


def test_shorter_run_reads_the_first_epochs_of_a_longer_one(tmp_path, toy_table, quiet):
    results = reproduce(out=tmp_path, limit=300, repeats=2, verbose=0, console=quiet())
    for seed, e4, e6 in zip((42, 43), results["experiments"]["E4"]["repeats"], results["experiments"]["E6"]["repeats"]):
        assert e4["runs"]["a"] == {"dir": f"runs/E4-a-seed{seed}", "epochs": 1, "of": 2, "source": "trained"}
        assert e6["runs"]["b"] == {"dir": f"runs/E4-a-seed{seed}", "epochs": 2, "of": 2, "source": "shared"}
        history = read_json(tmp_path / e4["runs"]["a"]["dir"] / "history.json")
        assert e4["values"]["a.acc_last"] == history["accuracy"][0]
        assert e6["values"]["b.val_acc"] == history["val_accuracy"][1]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["E4-a-seed42", "E4-a-seed43"]
    assert results["settings"]["seeds"] == [42, 43]
    assert "± " in (tmp_path / "README.md").read_text()  # mean ± std over the two seeds


COSINE = {"optimizer": {"name": "rmsprop", "schedule": "cosine"}}
EARLY_STOPPING = {"early_stopping": {"patience": 5}}


@pytest.mark.parametrize("settings, shared", [({}, True), (COSINE, False), (EARLY_STOPPING, False)])
def test_only_constant_rate_runs_without_early_stopping_read_a_longer_run(
        tmp_path, use_table, two_runs, quiet, settings, shared):
    use_table(*two_runs({**settings, "epochs": 1}, {**settings, "epochs": 2}))
    results = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    a = results["experiments"]["E4"]["repeats"][0]["runs"]["a"]
    b = results["experiments"]["E6"]["repeats"][0]["runs"]["b"]
    if shared:
        assert (a["dir"], a["of"], b["dir"], b["source"]) == ("runs/E4-a-seed42", 2, "runs/E4-a-seed42", "shared")
    else:
        assert (a["dir"], a["of"], a["source"]) == ("runs/E4-a-seed42", 1, "trained")
        assert (b["dir"], b["of"], b["source"]) == ("runs/E6-b-seed42", 2, "trained")
        assert read_json(tmp_path / a["dir"] / "config.json")["epochs"] == 1


@pytest.mark.parametrize("schedule, same_start", [("constant", True), ("cosine", False)])
def test_what_sharing_rests_on(tmp_path, small_splits, schedule, same_start):
    """With the same seed and a constant rate, fit's first epoch does not depend on how many follow; with
    a cosine schedule it does (the rate decays over all epochs), so such runs must not be shared."""
    from nnlab.core.training import train
    from nnlab.fashion.task import TASK

    histories = [train(TASK.config("logreg", epochs=epochs, verbose=0, runs_dir=str(tmp_path), name=f"r{epochs}",
                                   optimizer={"schedule": schedule}), splits=small_splits).history
                 for epochs in (1, 2)]
    assert (histories[0]["loss"][0] == histories[1]["loss"][0]) is same_start
    assert (histories[0]["val_loss"][0] == histories[1]["val_loss"][0]) is same_start


def test_a_second_call_reuses_the_finished_runs(tmp_path, toy_table, quiet, calls):
    first = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    assert calls == {"train": 1, "resume": 0}
    config = (tmp_path / "runs" / "E4-a-seed42" / "config.json").read_bytes()
    second = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    assert calls == {"train": 1, "resume": 0}  # nothing trained again
    assert (tmp_path / "runs" / "E4-a-seed42" / "config.json").read_bytes() == config
    for experiment, run in (("E4", "a"), ("E6", "b")):
        then, now = (r["experiments"][experiment]["repeats"][0] for r in (first, second))
        assert now["values"] == then["values"]
        assert now["runs"][run]["source"] == ("reused" if experiment == "E4" else "shared")


def test_a_run_folder_with_another_config_is_refused_then_replaced_with_overwrite(tmp_path, toy_table, quiet):
    reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    (tmp_path / "results.json").unlink()  # so that only the run folder tells the settings apart
    run_dir = tmp_path / "runs" / "E4-a-seed42"
    history = (run_dir / "history.json").read_bytes()
    with pytest.raises(NnlabError, match=rf"run folder {run_dir} was trained with other settings: limit 400 "
                                         r"\(there: 300\); pass --overwrite to replace it, or choose another --out"):
        reproduce(out=tmp_path, limit=400, verbose=0, console=quiet())
    assert (run_dir / "history.json").read_bytes() == history

    console = quiet()
    reproduce(out=tmp_path, limit=400, overwrite=True, verbose=0, console=console)
    assert read_json(run_dir / "config.json")["limit"] == 400
    assert f"replacing {run_dir} (--overwrite)" in console.file.getvalue()


def test_an_empty_run_folder_left_by_a_kill_is_replaced(tmp_path, toy_table, quiet, training_files):
    """Killed between creating the run folder and writing config.json: no epoch was saved, so nothing is lost."""
    (tmp_path / "runs" / "E4-a-seed42").mkdir(parents=True)
    results = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    assert results["experiments"]["E4"]["repeats"][0]["runs"]["a"]["source"] == "trained"
    assert {p.name for p in (tmp_path / "runs" / "E4-a-seed42").iterdir()} == training_files


def test_real_table_runs_are_normal_run_folders_shared_when_settings_match(tiny_report, training_files):
    out, results = tiny_report
    runs = {e: results["experiments"][e]["repeats"][0]["runs"] for e in results["experiments"]}
    assert runs["E6"]["rmsprop-5"]["dir"] == runs["E6"]["rmsprop-20"]["dir"] == "runs/E6-rmsprop-5-seed42"
    assert runs["E6"]["rmsprop-20"]["source"] == "shared" and runs["E6"]["adam-20"]["source"] == "trained"
    assert runs["E7"]["no-dropout"]["dir"] == "runs/E6-adam-20-seed42"
    for experiment, run in (("E8", "dropout-10"), ("E9", "dropout-20")):  # all capped at two epochs
        assert runs[experiment][run]["dir"] == "runs/E7-dropout-seed42"
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "E10-final-seed42", "E3-add-seed42", "E6-adam-20-seed42", "E6-rmsprop-5-seed42", "E7-dropout-seed42"]
    for folder in (out / "runs").iterdir():  # E8's hook saved its files elsewhere: the shared run is as trained
        assert {p.name for p in folder.iterdir()} == training_files, folder.name
        assert read_json(folder / "metrics.json")["epochs_run"] == 2
    assert sorted(p.name for p in (out / "experiments" / "E8" / "seed42").iterdir()) == [
        "model-whole.keras", "model.weights.h5"]
    e8 = results["experiments"]["E8"]["details"]["files"]
    assert set(e8) == {"experiments/E8/seed42/model.weights.h5", "experiments/E8/seed42/model-whole.keras"}
