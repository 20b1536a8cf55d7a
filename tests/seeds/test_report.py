"""nnlab.seeds.report: display strings, the pages rendered from results, and a real tiny report."""

import html
import json
import re

import pytest

from nnlab.seeds.report import RULES, count_line, figure_row, render_html, render_markdown, write_report
from nnlab.seeds.reproduce import verdict


def figure(seeds, values, digits=4, reason=None, explained=None, label="x"):
    return {"label": label, "seeds": list(seeds) if isinstance(seeds, tuple) else seeds, "seeds_text": None,
            "digits": digits, "values": values, **verdict(seeds, values), "reason": reason, "explained": explained}


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
    row = figure_row(figure(seeds, values, digits))
    assert (row["seeds"], row["measured"]) == (shown_seeds, shown_measured)


def results_with(*figures, runs=None):
    runs = runs or {"a": {"dir": "runs/E4-a-seed42", "epochs": 5, "of": 20, "source": "reused"}}
    return {"settings": {"repeats": 1, "seeds": [42], "limit": None, "max_epochs": None},
            "experiments": {"E4": {"id": "E4", "title": "toy", "setup": "toy setup", "seconds": 1.5,
                                   "repeats": [{"seed": 42, "runs": runs}], "figures": list(figures),
                                   "details": {}, "plots": []}}}


def test_pages_count_unexplained_differences_and_show_each_reason():
    unexplained = "not explained (untested hypothesis: random streams)"
    spread = "within the spread over seeds: the seeds' claim (yes) held for seed 42 of 42, 43, 44"
    results = results_with(figure(0.9, [0.5], reason=unexplained, explained=False, label="one"),
                           figure(True, [True, False, False], reason=spread, explained=True, label="two"),
                           figure(0.5, [0.5], label="three"))
    assert count_line(results) == "1 figure matches, 2 differ (1 not explained)."
    assert count_line(results_with(figure(0.5, [0.5]), figure(0.5, [0.5]))) == "2 figures match, 0 differ."
    assert count_line(results_with(figure(0.9, [0.5], reason="quick check", explained=True))) == (
        "0 figures match, 1 differ, each with a measured reason.")
    page, markdown = render_html(results, "."), render_markdown(results)
    for text in (unexplained, spread, count_line(results), "E4-a-seed42 (finished in an earlier call)",
                 "first 5 of 20 epochs of"):
        assert text in markdown and html.escape(text) in page, text


def test_rules_say_reasons_are_measured_or_labelled_untested():
    rules = " ".join(RULES)
    assert "within the spread over seeds" in rules and "--repeats 3" in rules
    assert "not explained" in rules and "untested hypothesis" in rules


def test_write_report_writes_both_pages_atomically(tmp_path):
    path = write_report(results_with(figure(0.5, [0.5])), tmp_path)
    assert path == tmp_path / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "index.html"]  # no temporary files left
    assert (tmp_path / "README.md").read_text().startswith("# nnlab reproduce")


# ---------------------------------------------------------------- the real table, tiny budget


def test_report_files_hold_every_measured_number(tiny_report):
    out, results = tiny_report
    saved = json.loads((out / "results.json").read_text())
    assert list(saved["experiments"]) == ["E1", "E3", "E6", "E7", "E8", "E9", "E10"]
    page, markdown = (out / "index.html").read_text(), (out / "README.md").read_text()
    for experiment in saved["experiments"].values():
        assert experiment["seconds"] > 0
        assert re.search(rf"\| {experiment['id']} \| {re.escape(experiment['title'])} \| [0-9.]+ \|", markdown)
        for figure_record in experiment["figures"]:
            row = figure_row(figure_record)
            assert figure_record["verdict"] in ("matches", "differs", "measured")
            for text in (row["label"], row["seeds"], row["measured"], row["reason"]):
                assert text in markdown and html.escape(text) in page, text
            if figure_record["verdict"] == "differs":  # a quick check: the only reason this call measured
                assert row["reason"].startswith("quick check (--limit/--epochs)")
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
    assert not list(out.rglob(".*.tmp-*"))  # every file was renamed into place


def test_a_tiny_nonzero_figure_is_not_shown_as_zero():
    from nnlab.seeds.report import _number

    assert _number(3.14e-152, 4) == "3.1e-152"  # X1's McNemar p-value on the full test set
    assert _number(0.0, 4) == "0.0000" and _number(0.93496, 4) == "0.9350" and _number(0.00004, 4) == "4.0e-05"
