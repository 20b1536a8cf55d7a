"""nnlab.fashion.photoset: product-photo-like files made from Fashion-MNIST images, deterministic from a seed."""

import io

import numpy as np
import pytest
from PIL import Image

from nnlab.fashion.photos import PhotoError, load_photo
from nnlab.fashion.photoset import bad_files, decompression_bomb, main, make_photo, make_photos, through_photos


@pytest.fixture(scope="module")
def originals(fashion):
    (_, _), (x_test, y_test) = fashion[0]
    return x_test[:12], y_test[:12]


def decode(photo):
    with Image.open(io.BytesIO(photo.data)) as image:
        image.load()
        return image


def test_photos_are_large_dark_on_light_off_centre_in_three_formats(originals):
    x, _ = originals
    photos = make_photos(x, seed=0)
    assert [p.index for p in photos] == list(range(12))
    assert [p.name[-4:] for p in photos[:3]] == [".jpg", ".png", "webp"]
    assert [decode(p).format for p in photos[:3]] == ["JPEG", "PNG", "WEBP"]
    for photo in photos:
        pixels = np.asarray(decode(photo), np.float32)
        height, width, channels = pixels.shape
        assert channels == 3 and min(height, width) >= 28 * 6 * 1.3 - 1
        corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert corners.mean() > 170  # light background...
        assert pixels.min() < 120  # ...with a dark item on it
        dark = np.argwhere(pixels.mean(axis=-1) < 120)
        centre = dark.mean(axis=0) / (height, width)
        assert np.all((0.2 < centre) & (centre < 0.8))


def test_same_seed_same_bytes_other_seed_other_photos(originals):
    x, _ = originals
    assert [p.data for p in make_photos(x[:4], seed=3)] == [p.data for p in make_photos(x[:4], seed=3)]
    assert make_photo(x[0], index=0, seed=3).data != make_photo(x[0], index=0, seed=4).data
    # A photo depends on its index and seed only: the first photos of a longer set are the same.
    assert make_photos(x[:2], seed=1)[1].data == make_photos(x, seed=1)[1].data


def test_the_photo_path_recovers_the_originals(originals):
    x, _ = originals
    recovered = np.stack([load_photo(p.data, name=p.name) for p in make_photos(x, seed=0)])
    errors = np.abs(recovered - x / 255.0).mean(axis=(1, 2))
    assert errors.max() < 0.12
    # Each photo is much closer to its own original than to the other images.
    others = np.abs(recovered[:, None] - x[None] / 255.0).mean(axis=(2, 3))
    assert np.all(np.argmin(others, axis=1) == np.arange(len(x)))


def test_main_writes_the_files_and_labels(tmp_path, capsys):
    main([str(tmp_path / "photos"), "--n", "3"])
    names = sorted(p.name for p in (tmp_path / "photos").iterdir())
    assert names == ["0000.jpg", "0001.png", "0002.webp", "labels.csv"]
    lines = (tmp_path / "photos" / "labels.csv").read_text().splitlines()
    assert lines[0] == "file,class_index,class" and lines[1].startswith("0000.jpg,9,Ankle boot")
    assert "wrote 3 photos" in capsys.readouterr().out


def test_through_photos_is_what_the_photo_path_reads(originals):
    x, _ = originals
    calls = []
    got = through_photos(x[:3], seed=2, advance=lambda: calls.append(1))
    expected = [load_photo(p.data, name=p.name) for p in make_photos(x[:3], seed=2)]
    np.testing.assert_array_equal(got, np.stack(expected))
    assert got.dtype == np.float32 and len(calls) == 3


def test_bad_files_are_refused_each_for_its_own_reason():
    kinds = {}
    for name, data in bad_files().items():
        with pytest.raises(PhotoError) as error:
            load_photo(data, name=name)
        kinds[name] = error.value.kind
    assert kinds == {"empty.png": "empty", "truncated.jpg": "corrupt", "notes.png": "not_an_image",
                     "bomb.png": "too_many_pixels"}
    with Image.open(io.BytesIO(decompression_bomb(40, 30))) as small:  # a real PNG, not only a header
        small.load()
        assert small.size == (40, 30) and small.mode == "1" and np.asarray(small).all()


def test_varied_habits_give_other_photos_that_still_read_back(originals):
    x, _ = originals
    varied = make_photos(x, seed=0, habits="varied")
    assert [p.data for p in varied] != [p.data for p in make_photos(x, seed=0)]
    assert [p.data for p in make_photos(x[:3], seed=0, habits="varied")] == [p.data for p in varied[:3]]
    corners = [np.asarray(decode(p).convert("RGB"), np.float32)[0, 0].mean() for p in make_photos(
        np.repeat(x[:1], 30, axis=0), seed=1, habits="varied")]
    assert min(corners) < 80 and max(corners) > 170  # dark and light backdrops both drawn
    recovered = through_photos(x, seed=0, habits="varied")
    r = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(recovered, x / 255.0)]
    assert np.median(r) > 0.8
    with pytest.raises(ValueError, match="habits must be 'studio' or 'varied'. Received: habits='odd'"):
        make_photo(x[0], habits="odd")
