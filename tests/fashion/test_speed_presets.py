"""The speed presets of issue 9: cnn-fast and cnn-deep, RandomShift, and scan_batches (same history).

Builds and one tiny training step only; the timings are benchmarks (bench/time_to_accuracy.py), never asserted here.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import TINY_RUN
from nnlab.core.errors import NnlabError
from nnlab.core.saving import load_model, save_model
from nnlab.core.training import train
import keras

from nnlab.fashion.augment import AddMirrored, AverageMirrored, PhotoStyle, RandomShift
from nnlab.fashion.config import PRESETS
from nnlab.fashion.models import build_model, parse_spec
from nnlab.fashion.task import TASK


@pytest.mark.parametrize("preset, params", [
    ("cnn-fast", 313_418),   # conv 240 + BN 96 + conv 10,416 + BN 192 + 2352*128+128 + 1,290
    ("cnn-deep", 656_426),   # cnn-fast's first two blocks + conv 41,568 + BN 384 + 4704*128+128 + 1,290
])
def test_speed_presets_build_with_their_parameter_counts(preset, params):
    config = TASK.config(preset)
    assert config.model == preset and PRESETS[preset]["model"] == preset
    for api in ("sequential", "functional", "subclass"):
        assert build_model(preset, api=api).count_params() == params


@pytest.mark.parametrize("preset", ["cnn-fast", "cnn-deep"])
def test_speed_presets_train_one_epoch_and_reload(preset, small_splits, tmp_path):
    config = TASK.config(preset, epochs=1, verbose=0, runs_dir=str(tmp_path), name="fast")
    result = train(config, splits=small_splits)
    assert np.isfinite(result.history["loss"][0]) and 0 <= result.metrics["test"]["accuracy"] <= 1
    reloaded = load_model(save_model(result.model, tmp_path / "again.keras"))  # nnlab's layers are registered
    images = small_splits.x_test[:16]
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), result.model.predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_random_shift_is_the_identity_at_inference_and_shifts_each_image_in_training():
    images = np.zeros((64, 28, 28, 1), "float32")
    images[:, 13, 13, 0] = 1.0  # one bright pixel in the middle
    layer = RandomShift(2, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    shifted = np.asarray(layer(images, training=True))
    assert shifted.shape == images.shape and np.all(shifted.sum(axis=(1, 2, 3)) == 1)  # moved, not lost
    rows, cols = np.nonzero(shifted[..., 0])[1:]
    assert set(rows) <= set(range(11, 16)) and set(cols) <= set(range(11, 16))  # at most 2 pixels away
    assert len(set(zip(rows, cols))) > 5  # each image draws its own offset


@pytest.mark.parametrize("preset", ["cnn-fast", "cnn-deep"])
def test_speed_presets_average_each_image_with_its_mirror_at_inference_only(preset):
    model = build_model(preset)
    assert isinstance(model.layers[0], AddMirrored) and isinstance(model.layers[-1], AverageMirrored)
    inner = keras.Sequential([keras.Input((28, 28)), *model.layers[1:-1]])  # the same layers, one pass
    images = np.random.default_rng(0).random((5, 28, 28), dtype="float32")
    expected = (inner.predict(images, verbose=0) + inner.predict(images[:, :, ::-1], verbose=0)) / 2
    averaged = model.predict(images, verbose=0)
    assert averaged.shape == (5, 10)
    np.testing.assert_allclose(averaged, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged, inner.predict(images, verbose=0), atol=1e-4)  # the mirror counts
    np.testing.assert_array_equal(np.asarray(AddMirrored()(images, training=True)), images)  # training: once
    np.testing.assert_array_equal(np.asarray(AverageMirrored()(images, training=True)), images)


def test_cnn_deep_erases_a_box_of_a_quarter_of_the_training_images_only():
    erasing = [layer for layer in build_model("cnn-deep").layers if isinstance(layer, keras.layers.RandomErasing)]
    assert len(erasing) == 1 and not any(isinstance(layer, keras.layers.RandomErasing)
                                         for layer in build_model("cnn-fast").layers)
    images = np.ones((400, 28, 28, 1), "float32")
    np.testing.assert_array_equal(np.asarray(erasing[0](images, training=False)), images)
    erased = 1 - np.asarray(erasing[0](images, training=True)).mean(axis=(1, 2, 3))  # share of each image set to 0
    hit = erased[erased > 0]
    assert 60 <= len(hit) <= 140  # a quarter of 400 images
    assert hit.min() >= 0.005 and hit.max() <= 0.35  # a box of about 2-25 % of the image


@pytest.mark.parametrize("max_shift", [-1, 1.5, True])
def test_random_shift_refuses_a_bad_max_shift(max_shift):
    with pytest.raises(ValueError, match="max_shift must be an integer >= 0"):
        RandomShift(max_shift)


def test_scan_batches_gives_the_same_history(tiny_run, small_splits, tmp_path):
    # tiny_run scanned all 600 samples in one call (18 batches of 32, then a step on the last 24); here 7 batches
    # of 32 go through one lax.scan, 3 calls per trip (600 = 2 x 224 + 152: the last call scans 4 batches and
    # steps once more on the remaining 24 samples).
    assert tiny_run.config.scan_batches == 50
    config = TASK.config("seeds-final", runs_dir=str(tmp_path),
                         **{**TINY_RUN, "scan_batches": 7, "steps_per_execution": 3})
    history = train(config, splits=small_splits).history
    assert set(history) == set(tiny_run.history)
    for key in history:
        np.testing.assert_allclose(history[key], tiny_run.history[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_scan_batches_must_be_a_positive_integer():
    with pytest.raises(NnlabError, match="scan_batches must be an integer >= 1, got 0"):
        TASK.config("dnn", scan_batches=0).resolved()


def test_scan_batches_is_on_for_the_seeds_final_preset_only():
    final = TASK.config("seeds-final")
    assert (final.scan_batches, final.steps_per_execution, final.batch_size) == (50, 1, 32)
    assert all(TASK.config(preset).scan_batches == 1 for preset in PRESETS if preset != "seeds-final")


def test_photo_style_changes_a_share_of_the_training_images_only(fashion):
    (_, _), (x_test, _) = fashion[0]
    images = (x_test[:200, :, :, None] / 255.0).astype("float32")
    layer = PhotoStyle(0.5, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    out = np.asarray(layer(images, training=True))
    assert out.shape == images.shape and 0 <= out.min() and out.max() <= 1
    changed = np.abs(out - images).max(axis=(1, 2, 3)) > 1e-6
    assert 0.35 < changed.mean() < 0.65  # about half of them
    # A changed image is the same item, turned, re-toned and re-sharpened: close to it, not equal to it.
    for before, after in zip(images[changed], out[changed]):
        r = np.corrcoef(before.ravel(), after.ravel())[0, 1]
        assert 0.5 < r < 0.9999
    # Stretched back to a brightest pixel of 1, as the photo path does (a blur may soften a thin peak).
    assert np.median(out[changed].max(axis=(1, 2, 3))) > 0.95
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]. Received: rate=1.5"):
        PhotoStyle(1.5)


def test_cnn_fast_and_only_cnn_fast_trains_with_photo_style():
    def styles(preset):
        return [layer for layer in build_model(preset).layers if isinstance(layer, PhotoStyle)]

    (style,) = styles("cnn-fast")
    assert style.rate == 0.5 and style.shadow == 0.0
    assert styles("cnn-deep") == [] and styles("cnn") == []
    assert PhotoStyle.from_config(style.get_config()).get_config() == style.get_config()


def test_cnn_ensemble_is_three_cnn_deep_networks_and_trains_saves_and_reloads(small_splits, tmp_path):
    """Issue 21's preset: three cnn-deep members side by side (nnlab.core.ensemble), one run folder."""
    from nnlab.core.ensemble import Ensemble

    config = TASK.config("cnn-ensemble", epochs=1, limit=None, verbose=0, runs_dir=str(tmp_path), name="ens")
    model = build_model(config.model)
    assert isinstance(model, Ensemble) and len(model.members) == 3
    assert model.count_params() == 3 * build_model("cnn-deep").count_params()
    first, second = (member.get_weights()[0] for member in model.members[:2])
    assert not np.allclose(first, second)  # each member from its own initial weights
    result = train(config, splits=small_splits)
    assert np.isfinite(result.history["loss"][0])
    images = small_splits.x_test[:16]
    mean = np.mean([member.predict(images, verbose=0) for member in result.model.members], axis=0)
    np.testing.assert_allclose(result.model.predict(images, verbose=0), mean, rtol=1e-5, atol=1e-6)
    reloaded = load_model(tmp_path / "ens" / "final.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), mean, rtol=1e-5, atol=1e-6)
    assert "x 3 members, averaged" in config.model.describe()


@settings(max_examples=4, deadline=None)
@given(mirror=st.booleans(), seed=st.integers(0, 100))
def test_shift_average_is_the_mean_over_the_image_and_its_four_one_pixel_shifts(mirror, seed):
    spec = {"kind": "cnn", "convs": [[4, 2]], "hidden": [8], "mirror_average": mirror, "augment": {"shift": 1}}
    plain, averaged = build_model(spec), build_model({**spec, "shift_average": True})
    averaged.set_weights(plain.get_weights())
    assert plain.count_params() == averaged.count_params()
    images = np.random.default_rng(seed).random((6, 28, 28), dtype="float32")
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    views = [images] + [padded[:, 1 - r:29 - r, 1 - c:29 - c] for r, c in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    assert np.array_equal(views[1][:, 1:], images[:, :-1]) and not views[1][:, 0].any()  # moved down one row
    expected = np.mean([plain.predict(view, verbose=0) for view in views], axis=0)
    np.testing.assert_allclose(averaged.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected, plain.predict(images, verbose=0), atol=1e-5)  # the shifts count
    assert "AddShifted" in parse_spec({**spec, "shift_average": True}).describe()
