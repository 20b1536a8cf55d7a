"""nnlab.fashion.plots: the grid of sample images with class names (and predictions)."""

import numpy as np
import pytest
from PIL import Image

from nnlab.core.errors import NnlabError
from nnlab.fashion.plots import sample_grid


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((12, 28, 28), dtype=np.float32)


def _size(path):
    with Image.open(path) as image:
        return image.format, image.size


def test_sample_grid_writes_a_png_with_one_row_per_ten_images(images, tmp_path):
    labels = np.arange(12) % 10
    one_row = sample_grid(images, labels, tmp_path / "one.png", n=10)
    two_rows = sample_grid(images, labels, tmp_path / "two.png", n=12)
    assert one_row == tmp_path / "one.png"
    (fmt, (width, height)), (_, (width2, height2)) = _size(one_row), _size(two_rows)
    assert fmt == "PNG" and width == width2 and height2 > 1.5 * height
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_sample_grid_with_predictions_and_more_than_there_are(images, tmp_path):
    probabilities = np.eye(10, dtype=np.float32)[np.arange(3)]
    path = sample_grid(images[:3], np.zeros(3, int), tmp_path / "pred.png", n=50, probabilities=probabilities)
    assert _size(path)[0] == "PNG"


def test_sample_grid_refuses_n_below_one(images, tmp_path):
    with pytest.raises(NnlabError, match=r"--n must be an integer >= 1, got 0"):
        sample_grid(images, np.zeros(12, int), tmp_path / "none.png", n=0)
    assert not (tmp_path / "none.png").exists()
