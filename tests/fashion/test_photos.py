"""nnlab.fashion.photos: product photos -> Fashion-MNIST-like 28x28 inputs."""

import numpy as np
import pytest
from PIL import Image

from nnlab.core.errors import NnlabError
from nnlab.fashion.photos import load_image, load_images


def photo(path, item=20, background=245, size=(60, 90)):
    """A product photo: a dark rectangle (the item) in the middle of a light background."""
    pixels = np.full((size[1], size[0], 3), background, np.uint8)
    pixels[20:70, 15:45] = item
    Image.fromarray(pixels, "RGB").save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_dark_item_on_white_is_inverted_like_fashion_mnist(tmp_path, suffix):
    image = load_image(photo(tmp_path / f"bag{suffix}"))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # Fashion-MNIST: a light item on a black background.
    assert image[14, 14] > 0.8  # the item
    # The item is taller than wide: it fills the height, with dark columns left and right.
    assert image[:, 0].max() < 0.1 and image[:, -1].max() < 0.1
    assert image[0, 0] < 0.1 and image[-1, -1] < 0.1


def test_light_item_on_black_is_kept(tmp_path):
    path = tmp_path / "shoe.png"
    pixels = np.zeros((28, 28), np.uint8)
    pixels[8:20, 4:24] = 230
    Image.fromarray(pixels, "L").save(path)
    image = load_image(path)
    np.testing.assert_allclose(image, pixels / 255.0, atol=1 / 255)  # already 28x28: unchanged


def test_load_images_stacks(tmp_path):
    paths = [photo(tmp_path / "a.png"), photo(tmp_path / "b.jpg")]
    images = load_images(paths)
    assert images.shape == (2, 28, 28) and images.dtype == np.float32
    np.testing.assert_array_equal(images[0], load_image(paths[0]))


def test_bad_image_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(NnlabError, match=r"notes\.png is not a readable image.*PNG.*JPEG"):
        load_image(text)
    with pytest.raises(NnlabError, match=r"Image .*missing\.jpg does not exist"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(NnlabError, match=r"missing\.jpg does not exist"):
        load_images([photo(tmp_path / "ok.png"), tmp_path / "missing.jpg"])
