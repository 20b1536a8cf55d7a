"""nnlab.seeds.reproduce: verdicts and reasons, run sharing, reuse, refusal, --overwrite, Ctrl-C and resume.

Trainings use 300 samples per split for one or two epochs (the toy tables in
conftest.py); the real table runs once, on 600 samples (``tiny_report``).
"""

import json
import sys

import keras
import pytest

import nnlab.core.training
import nnlab.seeds.experiments
import nnlab.seeds.reproduce
from nnlab.core.errors import Interrupted, NnlabError
from nnlab.seeds.experiments import Experiment, Figure, Run
from nnlab.seeds.reproduce import explain, parse_only, reproduce, verdict

TRAINING_FILES = {"config.json", "history.csv", "history.json", "metrics.json", "curves.png", "best.keras",
                  "final.keras", "final.weights.h5"}  # what nnlab.core.training.train leaves in a run folder


def read_json(path):
    return json.loads(path.read_text())


@pytest.fixture
def calls(monkeypatch):
    """Counts the trainings reproduce starts and the runs it continues: ``calls == {"train": n, "resume": m}``."""
    counts = {"train": 0, "resume": 0}
    for name in counts:
        real = getattr(nnlab.core.training, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(nnlab.core.training, name, counted)
    return counts


# ---------------------------------------------------------------- verdicts on hand-made numbers

VERDICT_CASES = [
    # seeds, measured values, verdict
    (0.8540, [0.8512], "matches"),  # one repeat: tolerance is the 0.01 floor
    (0.8540, [0.8440], "matches"),  # exactly 0.01 away
    (0.8540, [0.8400], "differs"),
    (0.90, [0.80, 0.84, 0.88], "matches"),  # std 0.04 -> tolerance 0.08 covers |0.90 - 0.84|
    (0.95, [0.80, 0.84, 0.88], "differs"),
    ((10, 12), [11], "matches"),
    ((10, 12), [12.005], "matches"),  # widened by the 0.01 floor
    ((10, 12), [13], "differs"),
    ((10, 12), [13, 15], "matches"),  # mean 14, std 1.41 -> widened by 2.83
    ((0.8758, 0.8798), [0.8700], "matches"),
    ((0.8758, 0.8798), [0.8600], "differs"),
    (True, [True, True, True], "matches"),
    (True, [True, False, True], "differs"),
    (False, [False], "matches"),
    (None, [0.5], "measured"),
    (0.5, [None], "missing"),
]


@pytest.mark.parametrize("seeds, values, expected", VERDICT_CASES)
def test_verdict(seeds, values, expected):
    assert verdict(seeds, values)["verdict"] == expected


def test_verdict_mean_std_and_tolerance():
    judged = verdict(0.85, [0.84, 0.86])
    assert judged["mean"] == pytest.approx(0.85)
    assert judged["std"] == pytest.approx(0.0141421, rel=1e-4)  # sample std (ddof=1)
    assert judged["tolerance"] == pytest.approx(0.0282843, rel=1e-4)
    assert verdict(0.85, [0.85])["std"] == 0.0


EXPLAIN_CASES = [
    # seeds' figure, digits, measured values (seeds 42, 43, ...), quick, expected reason, explained
    (0.85, 4, [0.84, 0.86, 0.88], False,
     "within the spread over seeds: the seeds' 0.8500 lies in 0.8400 – 0.8800, the range over seeds 42, 43, 44",
     True),
    (0.95, 4, [0.84, 0.86, 0.88], False,
     "not explained: the seeds' 0.9500 lies outside 0.8400 – 0.8800, the range over seeds 42, 43, 44", False),
    ((10, 12), 0, [12, 14, 15], False,
     "within the spread over seeds: the seeds' range 10 – 12 overlaps 12 – 15, the range over seeds 42, 43, 44",
     True),
    ((10, 12), 0, [14, 15, 16, 13], False,
     "not explained: the seeds' range 10 – 12 lies outside 13 – 16, the range over seeds 42, 43, 44, 45", False),
    (True, 4, [True, False, False], False,
     "within the spread over seeds: the seeds' claim (yes) held for seed 42 of 42, 43, 44", True),
    (True, 4, [False, False, False], False, "not explained: the seeds' claim (yes) held for none of seeds 42, 43, 44",
     False),
    (0.95, 4, [0.84, 0.86], False,
     "not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.", False),
    (0.95, 4, [0.84, None, 0.86], False,  # a missing value does not count as a repeat
     "not explained (untested hypothesis: a guess); --repeats 3 measures the seed-to-seed spread.", False),
    (0.95, 4, [0.84, 0.86, 0.88], True, "quick check (--limit/--epochs): not the seeds' data size or epochs.", True),
]


@pytest.mark.parametrize("seeds, digits, values, quick, reason, explained", EXPLAIN_CASES)
def test_explain_says_only_what_was_measured(seeds, digits, values, quick, reason, explained):
    figure = Figure("x", "x", seeds, digits=digits)
    repeats = [42 + i for i in range(len(values))]
    assert explain(figure, values, repeats, quick, hypothesis="a guess") == (reason, explained)


def test_explain_without_a_hypothesis_says_not_explained_only():
    reason, explained = explain(Figure("x", "x", 0.9), [0.5], [42], quick=False)
    assert reason == "not explained; --repeats 3 measures the seed-to-seed spread." and explained is False


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
    (None, [f"E{i}" for i in range(1, 11)]),
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


@pytest.mark.parametrize("argv, text", [(["--only", "E99"], "E99"), (["--repeats", "0"], "--repeats")])
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


# ---------------------------------------------------------------- sharing runs


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


# ---------------------------------------------------------------- finished runs are reused, never deleted


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


def test_hooks_write_into_their_own_folder_not_into_a_shared_run(tmp_path, use_table, quiet):
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
    assert {p.name for p in (tmp_path / "runs" / "E4-a-seed42").iterdir()} == TRAINING_FILES


def test_real_table_runs_are_normal_run_folders_shared_when_settings_match(tiny_report):
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
        assert {p.name for p in folder.iterdir()} == TRAINING_FILES, folder.name
        assert read_json(folder / "metrics.json")["epochs_run"] == 2
    assert sorted(p.name for p in (out / "experiments" / "E8" / "seed42").iterdir()) == [
        "model-whole.keras", "model.weights.h5"]
    e8 = results["experiments"]["E8"]["details"]["files"]
    assert set(e8) == {"experiments/E8/seed42/model.weights.h5", "experiments/E8/seed42/model-whole.keras"}


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


def test_an_empty_run_folder_left_by_a_kill_is_replaced(tmp_path, toy_table, quiet):
    """Killed between creating the run folder and writing config.json: no epoch was saved, so nothing is lost."""
    (tmp_path / "runs" / "E4-a-seed42").mkdir(parents=True)
    results = reproduce(out=tmp_path, limit=300, verbose=0, console=quiet())
    assert results["experiments"]["E4"]["repeats"][0]["runs"]["a"]["source"] == "trained"
    assert {p.name for p in (tmp_path / "runs" / "E4-a-seed42").iterdir()} == TRAINING_FILES
