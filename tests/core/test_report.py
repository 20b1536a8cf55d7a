"""``nnlab report``: report.json against scikit-learn, the calibrated model, two runs, the page in Chromium."""

import json
import shutil

import keras
import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix

from nnlab.core.errors import NnlabError
from nnlab.core.report import REPORT_DIR, WRONG_ITEMS, write_report
from nnlab.core.training import train
from nnlab.fashion.data import CLASS_NAMES, load_splits
from nnlab.fashion.task import TASK

CHROMIUM = shutil.which("chromium")
LIMIT = 2000  # test items reported on: enough for every class, quick


@pytest.fixture(scope="module")
def test_split():
    splits = load_splits()
    return splits.x_test[:LIMIT], splits.y_test[:LIMIT]


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A private copy of the session's tiny run (the report writes into the folder)."""
    return shutil.copytree(tiny_run.run_dir, tmp_path / "tiny")


@pytest.fixture(scope="module")
def calibrated(tiny_run, small_splits, tmp_path_factory):
    from serving.fashion_fixtures import calibrated_run

    return calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())


def _read(run_dir):
    return json.loads((run_dir / REPORT_DIR / "report.json").read_text())


def test_per_class_is_scikit_learns_dict_for_the_served_model(run_copy, test_split):
    index = write_report(run_copy, limit=LIMIT)
    assert index == run_copy / REPORT_DIR / "index.html"
    report = _read(run_copy)
    x, y = test_split
    predicted = keras.models.load_model(run_copy / "best.keras").predict(x, verbose=0).argmax(axis=-1)
    expected = classification_report(y, predicted, labels=list(range(10)), target_names=list(CLASS_NAMES),
                                     output_dict=True, zero_division=0)
    assert report["model"] == "best.keras" and report["items"] == LIMIT
    assert report["per_class"] == expected
    assert report["outputs"]["class"]["confusion_matrix"] == confusion_matrix(y, predicted).tolist()
    wrong = report["outputs"]["class"]["wrong"]
    assert len(wrong) == WRONG_ITEMS and all(y[w["index"]] != CLASS_NAMES.index(w["predicted"]) for w in wrong)
    assert [w["probability"] for w in wrong] == sorted((w["probability"] for w in wrong), reverse=True)
    assert "calibrated" not in report["outputs"]["class"]["ece"]
    history = json.loads((run_copy / "history.json").read_text())
    assert report["sections"]["curves"]["learning_rate"] == history["learning_rate"]
    for picture in ("confusion-class.png", "reliability-class.png", "curves.png", "wrong-gallery.png",
                    "first-layer-weights.png"):
        assert (run_copy / REPORT_DIR / picture).stat().st_size > 5000, picture


def test_a_calibrated_run_is_reported_with_its_calibrated_model(calibrated, test_split, tmp_path):
    run_dir = shutil.copytree(calibrated, tmp_path / "calibrated")
    write_report(run_dir, limit=LIMIT)
    report = _read(run_dir)
    assert report["model"] == "calibrated.keras" and report["model_note"].startswith("calibrated, T = ")
    x, y = test_split
    served = keras.models.load_model(run_dir / "calibrated.keras").predict(x, verbose=0)
    top = report["outputs"]["class"]["wrong"][0]
    assert top["probability"] == pytest.approx(float(served[top["index"]].max()), rel=1e-5)
    ece = report["outputs"]["class"]["ece"]
    assert set(ece) == {"model", "calibrated"} and ece["model"] != ece["calibrated"]


def test_two_runs_on_the_same_items(run_copy, small_splits, tmp_path, test_split):
    other = train(TASK.config("dnn", runs_dir=str(tmp_path / "runs"), epochs=1, verbose=0, name="other", seed=7),
                  splits=small_splits).run_dir
    write_report(run_copy, other, limit=LIMIT)
    comparison = _read(run_copy)["comparison"]
    x, y = test_split
    a = keras.models.load_model(run_copy / "best.keras").predict(x, verbose=0).argmax(axis=-1)
    b = keras.models.load_model(other / "best.keras").predict(x, verbose=0).argmax(axis=-1)
    assert comparison["accuracy_a"] == pytest.approx(np.mean(a == y)) and comparison["b"] == "other"
    assert comparison["only_a_right"] == np.sum((a == y) & (b != y))
    assert comparison["only_b_right"] == np.sum((b == y) & (a != y))
    assert comparison["disagreements"] == np.sum(a != b)
    assert comparison["low"] <= comparison["difference"] <= comparison["high"]
    assert 0 <= comparison["p_value"] <= 1
    assert (run_copy / REPORT_DIR / "comparison-confusion.png").is_file()


def test_the_command_prints_the_page_s_path(run_copy, run_cli):
    status, out, err = run_cli("report", run_copy, "--split", "val", "--limit", "300")
    assert status == 0, err
    assert f"report: {run_copy / REPORT_DIR / 'index.html'}" in out.replace("\n", "")
    report = _read(run_copy)
    assert (report["split"], report["items"]) == ("val", 300)


def test_mistakes_are_named(run_copy, tmp_path, run_cli):
    with pytest.raises(NnlabError, match="--split must be test or val"):
        write_report(run_copy, split="train")
    (run_copy / "metrics.json").unlink()
    with pytest.raises(NnlabError, match="is incomplete; a report needs a finished run"):
        write_report(run_copy)
    status, out, err = run_cli("report", "no-such-run")
    assert status == 2 and "error: no run named 'no-such-run'" in err + out


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_page_opens_offline_in_chromium(run_copy, tmp_path, small_splits):
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    index = write_report(run_copy, limit=LIMIT)
    requested, refused = [], []

    def route(request_route):
        url = request_route.request.url
        requested.append(url)
        if url.startswith("file://"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 900})
            view.route("**/*", route)
            view.goto(index.resolve().as_uri())
            view.wait_for_load_state("load")
            sizes = view.eval_on_selector_all("img", "images => images.map(i => [i.src, i.naturalWidth])")
            text = view.inner_text("body")
            view.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        finally:
            browser.close()
    assert refused == []
    assert len(sizes) >= 5 and all(width > 0 for _, width in sizes), sizes
    assert "Most confidently wrong" in text and "macro avg" in text and "learning_rate" in text
    assert (tmp_path / "report.png").stat().st_size > 20_000  # looked at by hand when this test was written
