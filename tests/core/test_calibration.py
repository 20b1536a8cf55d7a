"""nnlab.core.calibration: the metrics on hand-made probabilities, temperature scaling, the calibrated model."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from nnlab.core import calibration
from nnlab.core.calibration import (brier, calibrated_model, calibrated_path, calibration_metrics, ece,
                                    fit_temperature, nll, reliability, scale_probabilities)
from nnlab.core.errors import NnlabError


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def overconfident():
    """Labels drawn from softmax(z); the 'model' reports softmax(3 z): three times too sure of itself."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.0, (4000, 5))
    y = np.array([rng.choice(5, p=p) for p in softmax(z)])
    return softmax(3 * z), y


# ---------------------------------------------------------------- metrics with known answers


def test_ece_on_hand_made_probabilities():
    # Two samples at confidence 0.9 (one right: accuracy 0.5) and two at 0.7 (both right):
    # ECE = 0.5 * |0.5 - 0.9| + 0.5 * |1.0 - 0.7| = 0.35.
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.3, 0.7]])
    y = np.array([0, 1, 0, 1])
    assert ece(p, y) == pytest.approx(0.35)
    # Ten samples at 0.8, eight of them right: perfectly calibrated.
    p = np.tile([0.8, 0.2], (10, 1))
    assert ece(p, np.array([0] * 8 + [1] * 2)) == pytest.approx(0.0, abs=1e-12)
    # One label as one-hot rows gives the same figure.
    assert ece(p, np.eye(2)[[0] * 8 + [1] * 2]) == pytest.approx(0.0, abs=1e-12)


def test_fifteen_equal_width_bins_right_edge_included():
    table = reliability(np.array([[1.0, 0.0], [0.5, 0.5], [14 / 15, 1 / 15]]), [0, 0, 1])
    assert len(table["count"]) == 15 and table["edges"][1] == pytest.approx(1 / 15)
    assert table["count"][14] == 1  # confidence 1.0 is in the last bin, (14/15, 1]
    assert table["count"][7] == 1  # 0.5 is in (7/15, 8/15]
    assert table["count"][13] == 1 and table["accuracy"][13] == 0.0  # 14/15 is bin 13's right edge
    assert np.isnan(table["accuracy"][0]) and table["count"].sum() == 3  # empty bins: NaN


def test_nll_and_brier_known_values():
    assert nll(np.array([[0.5, 0.5]]), [1]) == pytest.approx(np.log(2))
    assert brier(np.array([[1.0, 0.0]]), [0]) == 0.0
    assert brier(np.array([[1.0, 0.0]]), [1]) == pytest.approx(2.0)
    assert brier(np.array([[0.5, 0.5]]), [0]) == pytest.approx(0.5)
    metrics = calibration_metrics(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 0])
    assert metrics["accuracy"] == 0.5 and set(metrics) == {"accuracy", "nll", "brier", "ece"}


@pytest.mark.parametrize("p, y, message", [
    (np.zeros((2, 3)), [0, 3], r"labels must be in 0\.\.2, got 0\.\.3"),
    (np.zeros((2, 3)), [0], r"expected probabilities of shape \(n, classes\) and n labels"),
    (np.zeros((0, 3)), [], r"n >= 1"),
])
def test_bad_inputs_are_named(p, y, message):
    with pytest.raises(NnlabError, match=message):
        calibration_metrics(p, y)


# ---------------------------------------------------------------- temperature scaling


def test_temperature_one_leaves_probabilities_unchanged(overconfident):
    p, _ = overconfident
    np.testing.assert_allclose(scale_probabilities(p[:100], 1.0), p[:100], atol=1e-12)
    with pytest.raises(NnlabError, match="temperature must be > 0, got 0"):
        scale_probabilities(p, 0)


def test_temperature_undoes_overconfidence(overconfident):
    p, y = overconfident
    t = fit_temperature(p[:2000], y[:2000])  # fitted on one slice...
    assert t == pytest.approx(3.0, rel=0.15)
    before = calibration_metrics(p[2000:], y[2000:])  # ...measured on the other
    after = calibration_metrics(scale_probabilities(p[2000:], t), y[2000:])
    assert after["accuracy"] == before["accuracy"]  # the arg-max never moves
    assert after["nll"] < before["nll"] - 0.1
    assert after["ece"] < before["ece"] / 3 and after["brier"] < before["brier"]


def test_a_calibrated_model_keeps_its_temperature_near_one():
    rng = np.random.default_rng(1)
    p = softmax(rng.normal(0, 2, (3000, 4)))
    y = np.array([rng.choice(4, p=row) for row in p])
    assert fit_temperature(p, y) == pytest.approx(1.0, abs=0.1)


def test_temperature_lowers_nll_on_a_slice_of_a_real_model(tiny_run, small_splits):
    p = np.asarray(tiny_run.model.predict(small_splits.x_val[:300], verbose=0))
    y = small_splits.y_val[:300]
    t = fit_temperature(p, y)
    assert nll(scale_probabilities(p, t), y) <= nll(p, y) + 1e-9
    assert nll(scale_probabilities(p, t), y) <= min(nll(scale_probabilities(p, t * f), y) for f in (0.9, 1.1))


# ---------------------------------------------------------------- the calibrated model


def tiny_classifier(api="sequential"):
    layers = [keras.layers.Flatten(), keras.layers.Dense(6, activation="softmax")]
    if api == "sequential":
        return keras.Sequential([keras.Input((4, 4)), *layers], name="tiny")
    inputs = keras.Input((4, 4))
    return keras.Model(inputs, layers[1](layers[0](inputs)), name="tiny")


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_calibrated_model_divides_the_logits_by_t(api):
    model = tiny_classifier(api)
    x = np.random.default_rng(2).normal(size=(8, 4, 4)).astype("float32")
    p = np.asarray(model(x))
    for t in (1.0, 0.5, 2.5):
        got = np.asarray(calibrated_model(model, {"class": t})(x))
        np.testing.assert_allclose(got, scale_probabilities(p, t), atol=2e-6)
    assert calibrated_model(model, {"class": 2.0}).output_names == [model.layers[-1].name]  # the same name


def test_multi_output_model_scales_only_its_class_output():
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    features = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(features)
    group = keras.layers.Dense(4, activation="softmax", name="group")(features)
    model = keras.Model(inputs, [score, group])
    rng = np.random.default_rng(3)
    x = {"a": rng.normal(size=(5, 3)).astype("float32"), "b": rng.normal(size=(5, 2)).astype("float32")}
    before = [np.asarray(v) for v in model(x)]
    calibrated = calibrated_model(model, {"group": 2.0})
    after = [np.asarray(v) for v in calibrated(x)]
    assert calibrated.output_names == ["score", "group"]
    np.testing.assert_allclose(after[0], before[0], atol=1e-7)
    np.testing.assert_allclose(after[1], scale_probabilities(before[1], 2.0), atol=2e-6)
    with pytest.raises(NnlabError, match=r"has no output \['department'\]"):
        calibrated_model(model, {"department": 2.0})


def test_a_subclassed_model_is_wrapped_from_the_data():
    from nnlab.fashion.models import build_model

    model = build_model("logreg", api="subclass")
    x = np.random.default_rng(4).random((3, 28, 28)).astype("float32")
    got = np.asarray(calibrated_model(model, {"class": 1.5}, x)(x))
    np.testing.assert_allclose(got, scale_probabilities(np.asarray(model(x)), 1.5), atol=2e-6)


PLAIN_KERAS_LOAD = """
import os, sys
os.environ["KERAS_BACKEND"] = "jax"
import keras, numpy as np
model = keras.models.load_model(sys.argv[1], safe_mode=True)
x, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-6)
print("nnlab" in sys.modules, [type(layer).__name__ for layer in model.layers])
"""


def test_plain_keras_loads_the_calibrated_file_in_safe_mode(tmp_path):
    model = tiny_classifier()
    x = np.random.default_rng(5).normal(size=(4, 4, 4)).astype("float32")
    calibrated = calibrated_model(model, {"class": 1.7})
    calibrated.save(tmp_path / "calibrated.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", np.asarray(calibrated(x)))
    (tmp_path / "load.py").write_text(PLAIN_KERAS_LOAD)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    done = subprocess.run([sys.executable, str(tmp_path / "load.py"), str(tmp_path / "calibrated.keras"),
                           str(tmp_path / "x.npy"), str(tmp_path / "expected.npy")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("False ")  # nnlab was never imported
    assert "Rescaling" in done.stdout and "Activation" in done.stdout


# ---------------------------------------------------------------- a run folder


QUICK_OOD = {"photos": 60}  # the fashion task's "not an item" detector, quickly fitted


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A private copy of the session's tiny run (calibrating writes into the folder)."""
    return shutil.copytree(tiny_run.run_dir, tmp_path / "tiny")


def test_calibrate_run_writes_its_three_files(run_copy, small_splits):
    report = calibration.calibrate_run(run_copy, splits=small_splits, extras=QUICK_OOD)
    assert (run_copy / "calibrated.keras").is_file()
    with Image.open(run_copy / "reliability.png") as image:
        assert image.format == "PNG"
    saved = json.loads((run_copy / "calibration.json").read_text())
    assert saved["source_model"] == "best.keras" and saved["run"] == "tiny" and saved["bins"] == 15
    entry = saved["outputs"]["class"]
    assert entry["temperature"] == report["outputs"]["class"]["temperature"] > 0
    for split in ("val", "test"):
        assert entry[split]["samples"] == 600
        assert entry[split]["after"]["accuracy"] == entry[split]["before"]["accuracy"]
        assert set(entry[split]["after"]) == {"accuracy", "nll", "brier", "ece"}
    assert entry["val"]["after"]["nll"] <= entry["val"]["before"]["nll"] + 1e-9
    # The calibrated model gives the scaled probabilities of the run's model.
    from nnlab.core.saving import load_model

    x = small_splits.x_test[:50]
    expected = scale_probabilities(load_model(run_copy / "best.keras").predict(x, verbose=0), entry["temperature"])
    np.testing.assert_allclose(load_model(run_copy / "calibrated.keras").predict(x, verbose=0), expected, atol=2e-6)
    assert calibrated_path(run_copy) == (run_copy / "calibrated.keras", None)
    # The fashion task's extra: the "not an item" detector, a model plain Keras loads, and its threshold.
    assert saved["ood"]["detector"] == "ood.keras" and (run_copy / "ood.keras").is_file()
    assert saved["ood"]["val_photos"]["samples"] == 60 and saved["ood"]["val_photos"]["not_ok"] <= 0.015 + 1e-9
    assert 0 < saved["ood"]["threshold"] < 1 and set(saved["ood"]["bags"]) == {"photos", "originals"}


def test_a_calibration_of_another_model_is_not_used(run_copy, calibrated_tiny, tmp_path):
    from nnlab.core.saving import load_model, save_model

    assert calibrated_path(run_copy) == (None, None)  # never calibrated
    run_copy = shutil.copytree(calibrated_tiny, tmp_path / "calibrated")
    assert calibrated_path(run_copy)[0] == run_copy / "calibrated.keras"
    retrained = load_model(run_copy / "best.keras")  # e.g. the run was trained again
    retrained.layers[-1].bias.assign(retrained.layers[-1].bias + 1.0)
    save_model(retrained, run_copy / "best.keras")
    path, reason = calibrated_path(run_copy)
    assert path is None and "made from another best.keras" in reason and "nnlab calibrate" in reason


def test_a_run_without_validation_cannot_be_calibrated(run_copy, small_splits):
    from dataclasses import replace

    with pytest.raises(NnlabError, match="fits the temperature on the validation split.*has none"):
        calibration.calibrate_run(run_copy, splits=replace(small_splits, x_val=None, y_val=None))


def test_calibrate_any_task_with_one_hot_targets_and_several_outputs():
    from nnlab.core.task import Output, Splits, Task

    class TwoHeads(Task):
        name = "two_heads"
        outputs = (Output("score", "mean_squared_error", ("mae",)),
                   Output("group", "categorical_crossentropy", ("accuracy",), labels=("a", "b", "c")))

    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    features = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    model = keras.Model(inputs, [keras.layers.Dense(1, activation="sigmoid", name="score")(features),
                                 keras.layers.Dense(3, activation="softmax", name="group")(features)])
    rng = np.random.default_rng(6)

    def split(n):
        x = {"a": rng.normal(size=(n, 3)).astype("float32"), "b": rng.normal(size=(n, 2)).astype("float32")}
        return x, {"score": rng.random((n, 1)).astype("float32"), "group": np.eye(3)[rng.integers(0, 3, n)]}

    (x_val, y_val), (x_test, y_test) = split(200), split(100)
    calibrated, report, predicted, targets = calibration.calibrate(
        model, TwoHeads(), Splits(None, None, x_val, y_val, x_test, y_test))
    assert list(report["outputs"]) == ["group"]  # the value output has no labels: not calibrated
    entry = report["outputs"]["group"]
    assert entry["val"]["samples"] == 200 and entry["test"]["samples"] == 100
    assert entry["val"]["after"]["nll"] <= entry["val"]["before"]["nll"] + 1e-9
    score, group = calibrated.predict(x_test, verbose=0)
    np.testing.assert_allclose(score, predicted["test"]["score"], atol=1e-6)
    np.testing.assert_allclose(group, scale_probabilities(predicted["test"]["group"], entry["temperature"]),
                               atol=2e-6)
