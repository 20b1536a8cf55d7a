"""``nnlab calibrate``, ``nnlab evaluate`` (calibration, --photos) and ``nnlab predict`` on files and folders."""

import csv
import json
import re
import shutil

import numpy as np
import pytest

from nnlab.core.calibration import scale_probabilities
from nnlab.fashion.data import CLASS_NAMES
from nnlab.fashion.photoset import bad_files, main as write_photos


@pytest.fixture
def run(tiny_run, tmp_path):
    """A private copy of the session's tiny run at ``runs/tiny`` under the command's working folder."""
    shutil.copytree(tiny_run.run_dir, tmp_path / "runs" / "tiny")
    return "runs/tiny"


@pytest.fixture
def calibrate(calibrated_tiny, tmp_path):
    """``calibrate()``: ``runs/tiny`` becomes a copy of the session's calibrated tiny run (the same best.keras
    as ``run``'s, with calibrated.keras, calibration.json and ood.keras), as `nnlab calibrate runs/tiny` leaves
    it; `test_calibrate_writes_the_files_and_prints_before_and_after` runs that command itself."""

    def make():
        shutil.rmtree(tmp_path / "runs" / "tiny")
        shutil.copytree(calibrated_tiny, tmp_path / "runs" / "tiny")

    return make


@pytest.fixture
def photos(tmp_path, capsys):
    """``photos/``: three product photos (JPEG, PNG, WebP) of the first test images, with labels.csv."""
    write_photos([str(tmp_path / "photos"), "--n", "3"])
    capsys.readouterr()
    return tmp_path / "photos"


@pytest.fixture
def bad(tmp_path):
    """``bad/``: an empty file, a truncated JPEG, a text file named .png and a 30000x30000 PNG bomb."""
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, data in bad_files().items():
        (folder / name).write_bytes(data)
    return folder


SMALL_OOD = ("--ood-images", "1000", "--ood-photos", "100")  # a quick "not an item" detector


def one_line(out):
    return " ".join(out.split())


def test_calibrate_writes_the_files_and_prints_before_and_after(run_cli, run, tmp_path):
    code, out, err = run_cli("calibrate", run, *SMALL_OOD)
    assert code == 0, err
    for name in ("calibrated.keras", "calibration.json", "reliability.png"):
        assert (tmp_path / run / name).is_file()
    report = json.loads((tmp_path / run / "calibration.json").read_text())
    t = report["outputs"]["class"]["temperature"]
    text = one_line(out)
    assert f"class: T = {t:.4f} (fitted on val, 12,000 samples)" in text
    for row in ("val before", "val after", "test before", "test after"):
        assert re.search(rf"{row} │ 0\.\d{{4}} │ \d\.\d{{4}} │ \d\.\d{{4}} │ \d+\.\d\d% │", text), row
    assert "wrote runs/tiny/calibrated.keras, calibration.json and reliability.png (from best.keras)" in text


def test_calibrate_a_missing_run(run_cli):
    code, _, err = run_cli("calibrate", "nope")
    assert code == 2 and err.startswith("error: no run named 'nope' in runs/")


def test_evaluate_before_and_after_calibration(run_cli, run, calibrate, tmp_path):
    code, out, _ = run_cli("evaluate", run, "--limit", "300")
    assert code == 0
    assert "best.keras │" in out and "calibrated.keras" not in out
    assert "not calibrated; `nnlab calibrate runs/tiny`" in one_line(out)
    assert "reliability diagram: runs/tiny/reliability-test.png" in out
    assert (tmp_path / run / "reliability-test.png").is_file()

    calibrate()
    code, out, _ = run_cli("evaluate", run, "--limit", "300", "--split", "val")
    assert code == 0
    figures = r" +│ ([\d.]+)" * 3 + r" +│ ([\d.]+)%"
    rows = re.findall(r"│ (best\.keras|calibrated\.keras \(T = [\d.]+\))" + figures, out)
    assert [row[0][:10] for row in rows] == ["best.keras", "calibrated"]
    assert rows[0][1] == rows[1][1]  # same accuracy: the temperature never moves the arg-max
    assert "calibration of class on val (300 samples, 15-bin ECE)" in one_line(out)
    assert (tmp_path / run / "reliability-val.png").is_file()


def test_evaluate_photos_next_to_the_originals(run_cli, run):
    code, out, _ = run_cli("evaluate", run, "--photos", "--n", "30")
    assert code == 0
    text = one_line(out)
    assert "on the first 30 test images" in text and "28x28 originals" in text and "photos (JPEG, PNG, WebP)" in text
    match = re.search(r"photo path accuracy ([\d.]+) vs ([\d.]+) on the originals: ([+-][\d.]+) points", text)
    assert match, text
    photo, original, gap = map(float, match.groups())
    assert gap == pytest.approx(100 * (photo - original), abs=0.06)
    code, _, err = run_cli("evaluate", run, "--photos", "--n", "0")
    assert code == 2 and "--n must be an integer >= 1, got 0" in err


def test_predict_a_folder_to_csv_with_unreadable_files_listed(run_cli, run, photos, bad, tmp_path):
    code, out, err = run_cli("predict", run, photos, bad, "--out", "predictions.csv")
    assert code == 0, err  # some files could be predicted
    rows = list(csv.DictReader(open(tmp_path / "predictions.csv")))
    assert [row["file"] for row in rows] == [str(photos / n) for n in ("0000.jpg", "0001.png", "0002.webp")] + [
        str(bad / n) for n in ("bomb.png", "empty.png", "notes.png", "truncated.jpg")]
    for row in rows[:3]:
        assert row["error"] == "" and row["class"] == CLASS_NAMES[int(row["class_index"])]
        assert sum(float(row[name]) for name in CLASS_NAMES) == pytest.approx(1.0, abs=1e-4)
        assert float(row["probability"]) == max(float(row[name]) for name in CLASS_NAMES)
    reasons = {row["file"].rsplit("/", 1)[1]: row["error"] for row in rows[3:]}
    assert reasons["empty.png"] == "is empty (0 bytes)."
    assert reasons["truncated.jpg"].startswith("is a damaged or truncated image")
    assert reasons["notes.png"].startswith("is not a readable image")
    assert reasons["bomb.png"].startswith("has 900,000,000 pixels, over the limit of 40,000,000: refused")
    assert "wrote 3 predictions to predictions.csv (4 unreadable files listed with their reason)" in one_line(out)
    for name in reasons:
        assert re.search(rf"skipped .*{re.escape(name)} ", err)
    assert "model: runs/tiny/best.keras (not calibrated" in err and "Traceback" not in err


def test_predict_uses_the_calibrated_model(run_cli, run, calibrate, photos, tmp_path):
    from nnlab.core.saving import load_model
    from nnlab.fashion.photos import load_photo

    code, out, err = run_cli("predict", run, photos / "0001.png", "--json")
    uncalibrated = json.loads(out)[0]["probabilities"]
    calibrate()
    t = json.loads((tmp_path / run / "calibration.json").read_text())["outputs"]["class"]["temperature"]
    code, out, err = run_cli("predict", run, photos / "0001.png", "--json")
    assert code == 0 and f"model: runs/tiny/calibrated.keras (calibrated, T = {t:.3f})" in err
    (row,) = json.loads(out)
    assert row["image"] == str(photos / "0001.png")
    expected = scale_probabilities([[uncalibrated[name] for name in CLASS_NAMES]], t)[0]
    np.testing.assert_allclose([row["probabilities"][name] for name in CLASS_NAMES], expected, atol=2e-5)
    best = load_model(tmp_path / run / "best.keras").predict(load_photo(photos / "0001.png")[None], verbose=0)
    assert row["class_index"] == int(np.argmax(best))


def test_predict_prints_one_row_per_file_for_many_files(run_cli, run, tmp_path, capsys):
    write_photos([str(tmp_path / "many"), "--n", "8"])
    code, out, _ = run_cli("predict", run, "many")
    assert code == 0
    assert len(re.findall(r"many/000\d\.(jpg|png|webp) +│ [\w/ -]+│ 0\.\d{3}", out)) == 8


def test_predict_only_bad_files_exits_2_naming_each(run_cli, run, bad):
    code, out, err = run_cli("predict", run, bad / "empty.png", bad / "bomb.png", bad / "notes.png")
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: none of the 3 files could be read: ")
    assert "empty.png is empty (0 bytes);" in line and "bomb.png has 900,000,000 pixels" in line
    assert "notes.png is not a readable image" in line


@pytest.mark.parametrize("args, message", [
    (["predict", "runs/tiny", "photos", "--out", "p.txt"], "--out must end in .csv, got p.txt"),
    (["predict", "runs/tiny", "photos", "--out", "nofolder/p.csv"], "folder nofolder does not exist"),
    (["predict", "runs/tiny", "photos", "--max-pixels", "0"], "--max-pixels must be an integer >= 1, got 0"),
    (["predict", "runs/tiny", "empty"], "no image files in empty (looked for .png, .jpg"),
    (["predict", "runs/tiny", "photos/0000.jpg", "--max-pixels", "1000"], "over the limit of 1,000"),
])
def test_predict_mistakes(run_cli, run, photos, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(*args)
    assert code == 2 and err.startswith("error: ") and message in one_line(err), err


def test_photos_and_predict_are_for_fashion_runs(run_cli, tmp_path, photos):
    from types import SimpleNamespace

    from nnlab.cli.evaluate import _evaluate_photos
    from nnlab.core.errors import NnlabError

    (tmp_path / "runs" / "triage").mkdir(parents=True)
    (tmp_path / "runs" / "triage" / "config.json").write_text(json.dumps({"task": "tickets"}))
    code, _, err = run_cli("predict", "runs/triage", photos)
    assert code == 2 and "runs/triage is not a Fashion-MNIST run; `nnlab predict` classifies product photos" in err
    with pytest.raises(NnlabError, match="--photos makes product photos of Fashion-MNIST images; runs/triage is a "
                                         "'tickets' model"):
        _evaluate_photos("runs/triage", SimpleNamespace(name="tickets"), None, None, {"title": []}, {}, "test", 5)


def test_statuses_after_calibration_in_predict_evaluate_ood_and_bags(run_cli, run, calibrate, photos, tmp_path):
    from PIL import Image

    Image.new("RGB", (240, 180), (236, 232, 226)).save(tmp_path / "blank.jpg")  # a photo of the backdrop alone
    code, out, err = run_cli("predict", run, tmp_path / "blank.jpg", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "ok"  # no detector yet: every photo is an item
    calibrate()
    assert (tmp_path / run / "ood.keras").is_file() and (tmp_path / run / "ood.keras.jaxexport").is_file()

    code, out, err = run_cli("predict", run, tmp_path / "blank.jpg", photos / "0000.jpg", "--json")
    blank, item = json.loads(out)
    assert code == 0 and "Traceback" not in err
    assert blank["status"] == "empty" and blank["class"] is None and blank["class_index"] is None
    assert blank["reason"].startswith("no item found") and len(blank["probabilities"]) == 10
    assert item["status"] == "ok" and item["class"] == CLASS_NAMES[item["class_index"]] and item["reason"] is None

    assert run_cli("predict", run, tmp_path / "blank.jpg", photos, "--out", "p.csv")[0] == 0
    rows = {row["file"].rsplit("/", 1)[1]: row for row in csv.DictReader(open(tmp_path / "p.csv"))}
    assert rows["blank.jpg"]["status"] == "empty" and rows["blank.jpg"]["class"] == ""
    assert rows["blank.jpg"]["reason"].startswith("no item found")

    code, out, _ = run_cli("evaluate", run, "--ood", "--n", "60", "--uploads", "18")
    text = one_line(out)
    assert code == 0 and "AUROC" in text and "uploads that are not items │ 18 │" in text
    assert re.search(r"blank +│ 100% +│", out)  # a blank upload is always "empty"
    code, out, _ = run_cli("evaluate", run, "--bags", "--n", "60", "--bag-count", "50")
    assert code == 0 and re.search(r"photos +│ +50 +│ +0\.\d{4} +│ +\d\.\d{4} +│", out)
    assert (tmp_path / run / "bags-test.png").is_file()
    code, _, err = run_cli("evaluate", run, "--bags", "--mix", "1,2")
    assert code == 2 and "--mix must be ten non-negative comma-separated weights" in err


def test_a_run_folder_older_than_the_task_setting_still_evaluates_and_predicts(run_cli, run, photos, tmp_path):
    path = tmp_path / run / "config.json"
    config = json.loads(path.read_text())
    del config["task"]  # run folders of the first days of nnlab: the fashion classifier was the only system
    path.write_text(json.dumps(config))
    code, out, err = run_cli("evaluate", run, "--limit", "100")
    assert code == 0 and "on test (100 samples)" in one_line(out), err
    code, out, err = run_cli("predict", run, photos, "--json")
    assert code == 0 and len(json.loads(out)) == 3, err
