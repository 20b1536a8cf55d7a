"""nnlab.seeds.reproduce: reasons in a whole call, bad input, settings of a folder, hooks' files, Ctrl-C, resume.

Trainings use 300 samples per split for one or two epochs (the toy tables in conftest.py).
"""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import pytest

import nnlab.core.training
import nnlab.seeds.experiments
import nnlab.seeds.reproduce
from nnlab.core.errors import Interrupted, NnlabError
from nnlab.seeds.experiments import Experiment, Figure, Run
from nnlab.seeds.reproduce import parse_only, reproduce


def read_json(path):
    return json.loads(path.read_text())


def test_every_figure_source_exists_in_the_table():
    """Each figure reads a run measure of one of its experiment's runs, or a value its hook returns."""
    measures = {"params", "acc_first", "acc_last", "loss_last", "val_loss", "val_acc", "min_val_epoch",
                "overfits", "best_epoch", "stopped_epoch", "final_val_loss", "final_val_acc"}
    for experiment in nnlab.seeds.experiments.EXPERIMENTS:
        runs = {run.name for run in experiment.runs}
        for figure in experiment.figures:
            run, _, measure = figure.source.rpartition(".")
            if run:
                assert run in runs and measure in measures, (experiment.id, figure.source)
            else:
                assert experiment.hook is not None, (experiment.id, figure.source)


# ---------------------------------------------------------------- reasons in a whole call, from a fake experiment

SPREAD = {42: 0.80, 43: 0.84, 44: 0.88}


def spread_hook(ctx):
    return {"x": SPREAD[ctx.seed], "claim": ctx.seed != 43, "never": False}


SPREAD_TABLE = Experiment(
    "E1", "fake", "a hook whose values depend on the seed",
    figures=(Figure("value", "x", 0.95), Figure("claim", "claim", True), Figure("never", "never", True),
             Figure("close", "x", 0.80, hypothesis="its own guess")),
    hook=spread_hook, hypothesis="a guess")


@pytest.mark.parametrize("options, reasons", [
    ({"repeats": 3}, {
        "value": ("not explained: the seeds' 0.9500 lies outside 0.8000 – 0.8800, the range over seeds 42, 43, 44",
                  False),
        "claim": ("within the spread over seeds: the seeds' claim (yes) held for seed 42, 44 of 42, 43, 44", True),
        "never": ("not explained: the seeds' claim (yes) held for none of seeds 42, 43, 44", False),
        "close": (None, None)}),
    ({"repeats": 1}, {
        "value": ("not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.",
                  False),
        "claim": (None, None),
        "never": ("not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.",
                  False),
        "close": (None, None)}),
    ({"repeats": 1, "limit": 300}, {
        "value": ("quick check (--limit/--epochs): not the seeds' data size or epochs.", True),
        "claim": (None, None),
        "never": ("quick check (--limit/--epochs): not the seeds' data size or epochs.", True),
        "close": (None, None)}),
])
def test_a_difference_has_a_reason_only_when_the_call_measured_one(tmp_path, use_table, quiet, options, reasons):
    use_table(SPREAD_TABLE)
    results = reproduce(out=tmp_path, verbose=0, console=quiet(), **options)
    figures = {f["label"]: f for f in results["experiments"]["E1"]["figures"]}
    assert {label: (f["reason"], f["explained"]) for label, f in figures.items()} == reasons
    markdown = (tmp_path / "README.md").read_text()
    for reason, _ in reasons.values():
        assert reason is None or reason in markdown


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("only, normalized", [
    (None, [f"E{i}" for i in range(1, 11)] + ["X1", "T1"]),
    ("E5,E9", ["E5", "E9"]),
    ("e9, E5,E5", ["E5", "E9"]),  # case, spaces, order and duplicates do not matter
    (["E10", "E1"], ["E1", "E10"]),
])
def test_parse_only(only, normalized):
    assert parse_only(only) == normalized


@pytest.mark.parametrize("kwargs, message", [
    ({"only": "E99"}, r"unknown experiment E99; valid: E1, E2, .*E10"),
    ({"only": "E5,X"}, r"unknown experiment X"),
    ({"only": ","}, r"unknown experiment"),
    ({"repeats": 0}, r"--repeats must be an integer >= 1, got 0"),
    ({"repeats": 1.5}, r"--repeats must be an integer >= 1, got 1.5"),
    ({"max_epochs": 0}, r"--epochs must be an integer >= 1, got 0"),
    ({"limit": -3}, r"--limit must be an integer >= 1, got -3"),
    ({"resume": True, "overwrite": True}, r"--resume keeps .* --overwrite starts over .*; pass one of them"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, quiet, kwargs, message):
    with pytest.raises(NnlabError, match=message):
        reproduce(out=tmp_path / "report", console=quiet(), **kwargs)
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("argv, text", [
    (["--only", "E99"], "E99"), (["--repeats", "0"], "--repeats"),
    (["--executor", "dask"], "--executor must be local or ray"),
    (["--address", "127.0.0.1:6379"], "--address joins a Ray cluster: give it with --executor ray"),
    # nothing listens on port 1: refused at once (Ray itself would retry for ever)
    (["--executor", "ray", "--address", "127.0.0.1:1"], "could not join the Ray cluster at 127.0.0.1:1"),
])
def test_cli_prints_one_error_line_and_exits_2(monkeypatch, capsys, tmp_path, argv, text):
    from nnlab.cli import main

    monkeypatch.setattr(sys, "argv", ["nnlab", "reproduce", *argv, "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and text in err and len(err.splitlines()) == 1


def test_cli_ctrl_c_in_a_run_exits_130_without_the_train_resume_hint(monkeypatch, capsys, tmp_path):
    """reproduce prints its own resume command; the run's `nnlab train --resume` would not finish the report."""
    from nnlab.cli import main

    def interrupted(**kwargs):
        raise Interrupted(tmp_path / "runs" / "E2-dense10-seed42", 1)

    monkeypatch.setattr(nnlab.seeds.reproduce, "reproduce", interrupted)
    monkeypatch.setattr(sys, "argv", ["nnlab", "reproduce", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted" and "train --resume" not in err


# ---------------------------------------------------------------- a report folder belongs to one set of settings


def test_a_folder_with_other_settings_is_refused_until_overwrite(tmp_path, toy_table, quiet, calls):
    reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(NnlabError, match=r"holds results made with other settings: --repeats 2 \(there: 1\); "
                                         r"pass --overwrite to start over in that folder, choose another --out"):
        reproduce(out=tmp_path, limit=300, repeats=2, verbose=0, console=quiet())
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing touched

    results = reproduce(out=tmp_path, limit=300, repeats=2, overwrite=True, verbose=0, console=quiet())
    assert results["settings"]["repeats"] == 2 == len(results["experiments"]["E4"]["repeats"])
    sources = [repeat["runs"]["a"]["source"] for repeat in results["experiments"]["E4"]["repeats"]]
    assert sources == ["reused", "trained"]  # seed 42's run has the same config: kept, not retrained
    assert calls["train"] == 2


def test_hooks_write_into_their_own_folder_not_into_a_shared_run(tmp_path, use_table, quiet, training_files):
    def hook(ctx):
        path = ctx.own_folder() / "note.txt"
        path.write_text(str(ctx.runs["b"].epochs))
        ctx.details["note"] = ctx.relative(path)
        return {"note": ctx.runs["b"].epochs}

    use_table(Experiment("E4", "reads", "toy", runs=(Run("a", {"model": "logreg", "epochs": 1}),),
                         figures=(Figure("acc", "a.acc_last", None),)),
              Experiment("E8", "writes", "toy", runs=(Run("b", {"model": "logreg", "epochs": 1}, keep=True),),
                         figures=(Figure("note", "note", None),), hook=hook))
    results = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    e8 = results["experiments"]["E8"]["repeats"][0]
    assert e8["runs"]["b"] == {"dir": "runs/E4-a-seed42", "epochs": 1, "of": 1, "source": "shared"}
    assert results["experiments"]["E8"]["details"]["note"] == "experiments/E8/seed42/note.txt"
    assert (tmp_path / "experiments" / "E8" / "seed42" / "note.txt").read_text() == "1"
    assert {p.name for p in (tmp_path / "runs" / "E4-a-seed42").iterdir()} == training_files


# ---------------------------------------------------------------- Ctrl-C and --resume


def test_ctrl_c_keeps_finished_experiments_and_resume_skips_them(tmp_path, toy_table, monkeypatch, quiet):
    real_run = nnlab.seeds.reproduce.Runner.run
    calls = []

    def interrupted_in_e6(self, experiment_id, run, seed, label):
        calls.append(experiment_id)
        if experiment_id == "E6":
            raise KeyboardInterrupt
        return real_run(self, experiment_id, run, seed, label)

    monkeypatch.setattr(nnlab.seeds.reproduce.Runner, "run", interrupted_in_e6)
    console = quiet()
    with pytest.raises(KeyboardInterrupt):
        reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, console=console)
    saved = read_json(tmp_path / "results.json")
    assert list(saved["experiments"]) == ["E4"]
    assert "E4" in (tmp_path / "index.html").read_text()
    assert f"nnlab reproduce --resume --limit 300 --epochs 1 --out {tmp_path}" in console.file.getvalue()

    calls.clear()
    monkeypatch.setattr(nnlab.seeds.reproduce.Runner, "run",
                        lambda self, *args: calls.append(args[0]) or real_run(self, *args))
    results = reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, resume=True, console=quiet())
    assert calls == ["E6"]  # E4 was not run again
    assert list(results["experiments"]) == ["E4", "E6"]
    assert results["experiments"]["E4"] == saved["experiments"]["E4"]

    calls.clear()
    reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, resume=True, console=quiet())
    assert calls == []  # everything finished: nothing to do

    with pytest.raises(NnlabError, match=r"--epochs 2 \(there: 1\); .*or resume with the settings there"):
        reproduce(out=tmp_path, limit=300, max_epochs=2, resume=True, console=quiet())


class CtrlCAfterFirstEpoch(keras.callbacks.Callback):
    """Acts like Ctrl-C once the first epoch is saved (nnlab's own callbacks run before extra ones)."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


@pytest.mark.parametrize("killed", [False, True])
def test_ctrl_c_mid_run_then_resume_continues_it_to_the_uninterrupted_result(tmp_path, toy_table, monkeypatch,
                                                                              quiet, calls, killed):
    """Ctrl-C, or ``kill -9`` (no metrics.json: the folder of a run that was still training)."""
    reference = reproduce(out=tmp_path / "uninterrupted", limit=300, verbose=0, console=quiet())
    train = nnlab.core.training.train
    monkeypatch.setattr(nnlab.core.training, "train", lambda config, splits=None, model=None, extra_callbacks=():
                        train(config, splits=splits, model=model, extra_callbacks=[CtrlCAfterFirstEpoch()]))
    out, console = tmp_path / "stopped", quiet()
    with pytest.raises(Interrupted):
        reproduce(out=out, limit=300, verbose=0, console=console)
    run_dir = out / "runs" / "E4-a-seed42"
    assert read_json(run_dir / "metrics.json")["status"] == "interrupted"
    assert len(read_json(run_dir / "history.json")["loss"]) == 1  # one of E4's two epochs (E6 reads both)
    assert f"Resume with: nnlab reproduce --resume --limit 300 --out {out}" in console.file.getvalue()
    assert read_json(out / "results.json")["experiments"] == {}
    if killed:
        (run_dir / "metrics.json").unlink()

    monkeypatch.setattr(nnlab.core.training, "train", train)
    results = reproduce(out=out, limit=300, verbose=0, resume=True, console=quiet())
    assert calls["resume"] == 1
    assert results["experiments"]["E4"]["repeats"][0]["runs"]["a"]["source"] == "resumed"
    assert read_json(run_dir / "history.json") == read_json(tmp_path / "uninterrupted" / "runs" / "E4-a-seed42"
                                                            / "history.json")
    for experiment in ("E4", "E6"):
        assert (results["experiments"][experiment]["repeats"][0]["values"]
                == reference["experiments"][experiment]["repeats"][0]["values"])


def test_jobs_train_the_runs_side_by_side_with_the_results_of_one_at_a_time(tmp_path, quiet, use_table, two_runs):
    # Two independent runs (sgd, adam): two processes at a time give the sequential call's results.
    use_table(*two_runs({"epochs": 1, "optimizer": {"name": "sgd"}}, {"epochs": 2, "optimizer": {"name": "adam"}}))
    options = {"limit": 300, "verbose": 0}
    one = reproduce(out=tmp_path / "one", console=quiet(), **options)
    two = reproduce(out=tmp_path / "two", console=quiet(), jobs=2, **options)
    same_results(one, two)


def same_results(one, other):
    """Two reproduce calls' results.json: the same run folders, all trained by the call, the same figures."""
    for experiment in ("E4", "E6"):
        first, second = one["experiments"][experiment]["repeats"], other["experiments"][experiment]["repeats"]
        assert [r["runs"] for r in first] == [r["runs"] for r in second]  # same folders, "trained" by the call
        assert {run["source"] for r in second for run in r["runs"].values()} == {"trained"}
        for a, b in zip(first, second):
            assert a["values"].keys() == b["values"].keys()
            for key, value in a["values"].items():
                assert b["values"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


# ---------------------------------------------------------------- --executor ray, on the test session's Ray


@pytest.fixture
def ray_driver(ray_address):
    """This process joins the session's Ray for one test (reproduce runs in-process) and leaves it after."""
    yield ray_address
    import ray

    ray.shutdown()


def test_ray_tasks_train_the_runs_with_the_results_of_one_at_a_time(tmp_path, quiet, use_table, two_runs,
                                                                     ray_driver):
    use_table(*two_runs({"epochs": 1, "optimizer": {"name": "sgd"}}, {"epochs": 2, "optimizer": {"name": "adam"}}))
    options = {"limit": 300, "verbose": 0}
    one = reproduce(out=tmp_path / "one", console=quiet(), **options)
    console = quiet()
    on_ray = reproduce(out=tmp_path / "ray", console=console, jobs=2, executor="ray", address=ray_driver, **options)
    same_results(one, on_ray)
    assert "as a Ray task" in console.file.getvalue()
    page = (tmp_path / "ray" / "README.md").read_text()
    assert page.count("| E") == (tmp_path / "one" / "README.md").read_text().count("| E")


def _ray_workers_running(name, token):
    """PIDs of this test session's Ray workers (found by the session's token) running the task ``name``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes()
            if title.startswith(f"ray::{name}".encode()) and token.encode() in (proc / "environ").read_bytes():
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def test_a_killed_ray_worker_is_rerun_and_continues_its_run(tmp_path, quiet, use_table, two_runs, ray_driver):
    """kill -9 of the worker training a run, after its first epoch: Ray reruns it, the run continues its folder."""
    use_table(*two_runs({"epochs": 2}, {"epochs": 8}))
    options = {"limit": 3000, "verbose": 0}
    killed = []

    def kill_after_first_epoch():
        deadline = time.monotonic() + 300
        history = tmp_path / "ray" / "runs"
        while time.monotonic() < deadline and not killed:
            started = [p for p in history.glob("*/history.json")] if history.exists() else []
            pids = _ray_workers_running("nnlab-run", os.environ["RAY_AUTH_TOKEN"]) if started else []
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_first_epoch, daemon=True)
    killer.start()
    on_ray = reproduce(out=tmp_path / "ray", console=quiet(), jobs=1, executor="ray", address=ray_driver, **options)
    killer.join()
    assert killed, "no worker was killed: the test did not test anything"
    one = reproduce(out=tmp_path / "one", console=quiet(), **options)
    for experiment in ("E4", "E6"):  # the same runs, trained (E6) or shared (E4) as one at a time does
        first, second = one["experiments"][experiment]["repeats"], on_ray["experiments"][experiment]["repeats"]
        assert [r["runs"] for r in first] == [r["runs"] for r in second]
    runs = sorted(p.name for p in (tmp_path / "ray" / "runs").iterdir())
    assert runs == sorted(p.name for p in (tmp_path / "one" / "runs").iterdir())
    for name in runs:  # every epoch once, in the folder it started in, as without the kill
        a = read_json(tmp_path / "one" / "runs" / name / "history.json")
        b = read_json(tmp_path / "ray" / "runs" / name / "history.json")
        assert a.keys() == b.keys() and len(a["loss"]) == len(b["loss"])
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
