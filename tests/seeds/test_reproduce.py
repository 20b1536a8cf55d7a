"""nnlab.reproduce: verdicts on hand-made numbers, shared runs, the report, Ctrl-C and --resume.

Trainings use a few hundred to 2,000 samples for one or two epochs. The toy
experiment table (``toy_table``) swaps nnlab's E1-E10 for two one-layer runs so
that resume and interrupt tests train in seconds.
"""

import html
import io
import json
import re
import sys

import pytest
from rich.console import Console

import nnlab.experiments
import nnlab.reproduce
from nnlab.errors import NnlabError
from nnlab.experiments import Experiment, Figure, Plot, Run
from nnlab.report_html import figure_row
from nnlab.reproduce import parse_only, reproduce, verdict


def quiet():
    return Console(file=io.StringIO(), width=200)


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


@pytest.mark.parametrize("seeds, values, digits, shown_seeds, shown_measured", [
    (0.8540, [0.8512], 4, "0.8540", "0.8512"),
    (0.85, [0.84, 0.86], 4, "0.8500", "0.8500 ± 0.0141 (n=2)"),
    ((10, 12), [11], 0, "10 – 12", "11"),
    ((10, 12), [11, 12], 0, "10 – 12", "11.5 ± 0.7 (n=2)"),
    (True, [True, False, True], 4, "yes", "yes in 2 of 3"),
    (False, [False], 4, "no", "no"),
    (7850, [7850], 0, "7,850", "7,850"),
])
def test_figure_display(seeds, values, digits, shown_seeds, shown_measured):
    figure = {"label": "x", "seeds": list(seeds) if isinstance(seeds, tuple) else seeds, "seeds_text": None,
              "digits": digits, "values": values, **verdict(seeds, values)}
    row = figure_row(figure)
    assert (row["seeds"], row["measured"]) == (shown_seeds, shown_measured)


def test_every_figure_source_exists_in_the_table():
    """Each figure reads a run measure of one of its experiment's runs, or a value its hook returns."""
    measures = {"params", "acc_first", "acc_last", "loss_last", "val_loss", "val_acc", "min_val_epoch",
                "overfits", "best_epoch", "stopped_epoch", "final_val_loss", "final_val_acc"}
    for experiment in nnlab.experiments.EXPERIMENTS:
        runs = {run.name for run in experiment.runs}
        for figure in experiment.figures:
            run, _, measure = figure.source.rpartition(".")
            if run:
                assert run in runs and measure in measures, (experiment.id, figure.source)
            else:
                assert experiment.hook is not None, (experiment.id, figure.source)


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
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, message):
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


# ---------------------------------------------------------------- toy table: sharing, Ctrl-C, --resume


@pytest.fixture
def toy_table(monkeypatch):
    """E4: a one-epoch run; E6: the same settings for two epochs (so E4 trains two and reads the first)."""
    table = (
        Experiment("E4", "short", "logreg 1 epoch", runs=(Run("a", {"model": "logreg", "epochs": 1}),),
                   figures=(Figure("train accuracy", "a.acc_last", 0.5, reason="toy"),)),
        Experiment("E6", "long", "logreg 2 epochs", runs=(Run("b", {"model": "logreg", "epochs": 2}),),
                   figures=(Figure("val accuracy", "b.val_acc", None),),
                   plots=(Plot("toy.png", "toy curve", ("b",), kind="curves"),)),
    )
    monkeypatch.setattr(nnlab.experiments, "EXPERIMENTS", table)
    return table


def test_shorter_run_reads_the_first_epochs_of_a_longer_one(tmp_path, toy_table):
    results = reproduce(out=tmp_path, limit=300, repeats=2, verbose=0, console=quiet())
    for seed, e4, e6 in zip((42, 43), results["experiments"]["E4"]["repeats"], results["experiments"]["E6"]["repeats"]):
        assert e4["runs"]["a"] == {"dir": f"runs/E4-a-seed{seed}", "epochs": 1, "of": 2, "shared": False}
        assert e6["runs"]["b"] == {"dir": f"runs/E4-a-seed{seed}", "epochs": 2, "of": 2, "shared": True}
        history = json.loads((tmp_path / e4["runs"]["a"]["dir"] / "history.json").read_text())
        assert e4["values"]["a.acc_last"] == history["accuracy"][0]
        assert e6["values"]["b.val_acc"] == history["val_accuracy"][1]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["E4-a-seed42", "E4-a-seed43"]
    assert results["settings"]["seeds"] == [42, 43]
    assert "± " in (tmp_path / "README.md").read_text()  # mean ± std over the two seeds


def test_a_shorter_run_equals_the_start_of_a_longer_run(tmp_path, small_splits):
    """What sharing rests on: with the same seed, fit's first epoch does not depend on how many follow."""
    from nnlab.config import from_preset
    from nnlab.training import train

    histories = [train(from_preset("logreg", epochs=epochs, verbose=0, runs_dir=str(tmp_path), name=f"r{epochs}"),
                       splits=small_splits).history for epochs in (1, 2)]
    assert histories[0]["loss"][0] == histories[1]["loss"][0]
    assert histories[0]["val_loss"][0] == histories[1]["val_loss"][0]


def test_ctrl_c_keeps_finished_experiments_and_resume_skips_them(tmp_path, toy_table, monkeypatch):
    real_run = nnlab.reproduce.Runner.run
    calls = []

    def interrupted_in_e6(self, experiment_id, run, seed, label):
        calls.append(experiment_id)
        if experiment_id == "E6":
            raise KeyboardInterrupt
        return real_run(self, experiment_id, run, seed, label)

    monkeypatch.setattr(nnlab.reproduce.Runner, "run", interrupted_in_e6)
    console = quiet()
    with pytest.raises(KeyboardInterrupt):
        reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, console=console)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert list(saved["experiments"]) == ["E4"]
    assert "E4" in (tmp_path / "index.html").read_text()
    assert "nnlab reproduce --resume --limit 300 --epochs 1 --out" in console.file.getvalue()

    calls.clear()
    monkeypatch.setattr(nnlab.reproduce.Runner, "run",
                        lambda self, *args: calls.append(args[0]) or real_run(self, *args))
    results = reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, resume=True, console=quiet())
    assert calls == ["E6"]  # E4 was not trained again
    assert list(results["experiments"]) == ["E4", "E6"]
    assert results["experiments"]["E4"] == saved["experiments"]["E4"]

    calls.clear()
    reproduce(out=tmp_path, limit=300, max_epochs=1, verbose=0, resume=True, console=quiet())
    assert calls == []  # everything finished: nothing to do

    with pytest.raises(NnlabError, match="resume with the same settings"):
        reproduce(out=tmp_path, limit=300, max_epochs=2, resume=True, console=quiet())


# ---------------------------------------------------------------- the real table, tiny budget


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """E1, E3 and E6-E10 of the real table on 2,000 samples per split, one epoch (one max_iter for E1).

    Capped at one epoch, E6's, E7's, E8's and E9's runs of the same model and optimizer are one run each.
    """
    out = tmp_path_factory.mktemp("reproduce")
    results = reproduce(only="E1,E3,E6,E7,E8,E9,E10", out=out, limit=2000, max_epochs=1, verbose=0,
                        console=quiet())
    return out, results


def test_report_files_hold_every_measured_number(tiny_report):
    out, results = tiny_report
    saved = json.loads((out / "results.json").read_text())
    assert list(saved["experiments"]) == ["E1", "E3", "E6", "E7", "E8", "E9", "E10"]
    page, markdown = (out / "index.html").read_text(), (out / "README.md").read_text()
    for experiment in saved["experiments"].values():
        assert experiment["seconds"] > 0
        assert re.search(rf"\| {experiment['id']} \| {re.escape(experiment['title'])} \| [0-9.]+ \|", markdown)
        for figure in experiment["figures"]:
            row = figure_row(figure)
            assert figure["verdict"] in ("matches", "differs", "measured")
            for text in (row["label"], row["seeds"], row["measured"]):
                assert text in markdown and html.escape(text) in page, text
    e1 = saved["experiments"]["E1"]["repeats"][0]["values"]
    assert set(e1) == {"cv5", "cv9", "cv20"} and all(0.1 < v <= 1 for v in e1.values())
    assert "Fashion_MNIST_DNN_Model" in page  # E3's summaries
    e3 = {f["source"]: f for f in saved["experiments"]["E3"]["figures"]}
    assert e3["params_named"]["values"] == [79510] and e3["summaries_agree"]["verdict"] == "matches"
    e8 = saved["experiments"]["E8"]["repeats"][0]["values"]
    assert e8["all_equal"] and e8["mismatch_refused"] and e8["argmax_acc"] == pytest.approx(e8["reloaded_acc"])
    assert saved["experiments"]["E9"]["repeats"][0]["values"]["best_is_lowest"]
    assert saved["experiments"]["E7"]["repeats"][0]["values"]["dropout_facts"]


def test_report_plots_exist_and_are_embedded(tiny_report):
    out, _ = tiny_report
    plots = ["samples.png", "E6-train-loss-5.png", "E6-train-loss-20.png", "E6-rmsprop-train-val.png",
             "E6-adam-train-val.png", "E7-dropout-train-val.png", "E10-early-stopping.png"]
    for name in plots:
        assert (out / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(plots/{name})" in (out / "README.md").read_text()
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == len(plots)
    assert not re.search(r"<(link|script)|src=\"http|href=\"http", page)  # nothing to fetch: opens offline


def test_runs_are_normal_run_folders_shared_when_settings_match(tiny_report):
    out, results = tiny_report
    e6 = results["experiments"]["E6"]["repeats"][0]["runs"]
    assert e6["rmsprop-5"]["dir"] == e6["rmsprop-20"]["dir"] == "runs/E6-rmsprop-5-seed42"  # both capped at 1 epoch
    assert e6["rmsprop-20"]["shared"] and not e6["adam-20"]["shared"]
    assert results["experiments"]["E7"]["repeats"][0]["runs"]["no-dropout"]["dir"] == "runs/E6-adam-20-seed42"
    for experiment, run in (("E8", "dropout-10"), ("E9", "dropout-20")):
        assert results["experiments"][experiment]["repeats"][0]["runs"][run]["dir"] == "runs/E7-dropout-seed42"
    assert (out / "runs" / "E7-dropout-seed42" / "model-whole.keras").is_file()  # E8's files
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "E10-final-seed42", "E3-add-seed42", "E6-adam-20-seed42", "E6-rmsprop-5-seed42", "E7-dropout-seed42"]
    for name in ("E3-add-seed42", "E6-rmsprop-5-seed42", "E6-adam-20-seed42", "E10-final-seed42"):
        metrics = json.loads((out / "runs" / name / "metrics.json").read_text())
        assert metrics["epochs_run"] == 1
