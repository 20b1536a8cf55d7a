"""nnlab.evaluation: images from files, probabilities, input reshaping, evaluate on any model."""

import keras
import numpy as np
import pytest
from PIL import Image

from nnlab.errors import NnlabError
from nnlab.evaluation import argmax_accuracy, evaluate, fit_input, load_image, load_images, predict_proba
from nnlab.models import build_model


def _photo(path, item=20, background=245, size=(60, 90)):
    """A product photo: a dark rectangle (the item) in the middle of a light background."""
    pixels = np.full((size[1], size[0], 3), background, np.uint8)
    pixels[20:70, 15:45] = item
    Image.fromarray(pixels, "RGB").save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_dark_item_on_white_is_inverted_like_fashion_mnist(tmp_path, suffix):
    image = load_image(_photo(tmp_path / f"bag{suffix}"))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # Fashion-MNIST: a light item on a black background.
    assert image[14, 14] > 0.8  # the item
    assert image[14, 0] < 0.1 and image[0, 14] < 0.2  # the background and the padding
    assert image[0, 0] < 0.1


def test_light_item_on_black_is_kept(tmp_path):
    path = tmp_path / "shoe.png"
    pixels = np.zeros((28, 28), np.uint8)
    pixels[8:20, 4:24] = 230
    Image.fromarray(pixels, "L").save(path)
    image = load_image(path)
    np.testing.assert_allclose(image, pixels / 255.0, atol=1 / 255)  # already 28x28: unchanged


def test_load_images_stacks(tmp_path):
    paths = [_photo(tmp_path / "a.png"), _photo(tmp_path / "b.jpg")]
    images = load_images(paths)
    assert images.shape == (2, 28, 28) and images.dtype == np.float32


def test_bad_image_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(NnlabError, match=r"notes\.png is not a readable image.*PNG or JPEG"):
        load_image(text)
    with pytest.raises(NnlabError, match=r"Image .*missing\.jpg does not exist"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(NnlabError, match=r"missing\.jpg does not exist"):
        load_images([_photo(tmp_path / "ok.png"), tmp_path / "missing.jpg"])


@pytest.fixture(scope="module")
def model():
    return build_model("dnn")


def test_predict_proba_rows_sum_to_one(model):
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    probabilities = predict_proba(model, x)
    assert probabilities.shape == (5, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_evaluate_compiles_an_uncompiled_model(small_splits):
    fresh = build_model("logreg")
    assert not fresh.compiled
    x, y = small_splits.x_val[:100], small_splits.y_val[:100]
    results = evaluate(fresh, x, y)
    assert set(results) == {"loss", "accuracy"}
    assert results["accuracy"] == pytest.approx(argmax_accuracy(fresh, x, y), abs=1e-6)
    # The seeds' loss: mean negative log-probability of the true class.
    probabilities = predict_proba(fresh, x)
    expected_loss = -np.mean(np.log(probabilities[np.arange(len(y)), y]))
    assert results["loss"] == pytest.approx(expected_loss, rel=1e-4)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
def test_fit_input_reshapes_for_flat_models():
    flat = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
    images = np.zeros((3, 28, 28), np.float32)
    assert fit_input(flat, images).shape == (3, 784)
    assert fit_input(build_model("logreg"), images) is images  # already the right shape
    assert fit_input(build_model("logreg", api="subclass"), images) is images
    other = keras.Sequential([keras.Input((100,)), keras.layers.Dense(10)], name="other")
    with pytest.raises(NnlabError, match=r"model 'other' expects inputs of shape \(100,\), got images of shape "
                                         r"\(28, 28\)"):
        fit_input(other, images)
