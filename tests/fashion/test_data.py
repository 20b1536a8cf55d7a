"""nnlab.fashion.data: the real data's known facts, the search order, file checks and the cache."""

import gzip
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import IDX_NAMES, idx_bytes, synthetic_arrays, write_idx_folder
from nnlab.core.errors import NnlabError
from nnlab.core.task import Splits
from nnlab.fashion.data import (DataWarning, load_fashion_mnist, load_splits, locate, scale, search_dirs,
                                split_train_val)

# Decompressed SHA-256 of the official files, as listed in SEEDS.md.
OFFICIAL_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


# ---------------------------------------------------------------- the real data


def test_real_data_matches_keras_loader_shapes_and_dtypes(fashion):
    ((x_train, y_train), (x_test, y_test)), _ = fashion
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype("uint8")}
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10


def test_real_data_is_the_official_files(fashion):
    _, source = fashion
    assert source.official
    assert source.sha256 == OFFICIAL_SHA256


def test_decoded_arrays_equal_the_idx_bytes(fashion):
    """Decode the smaller test files independently and compare with what nnlab returns."""
    (_, (x_test, y_test)), source = fashion
    raw_images = _read_raw(Path(source.files["t10k-images-idx3-ubyte"]))
    raw_labels = _read_raw(Path(source.files["t10k-labels-idx1-ubyte"]))
    assert hashlib.sha256(raw_images).hexdigest() == OFFICIAL_SHA256["t10k-images-idx3-ubyte"]
    assert len(raw_images) == 7_840_016 and len(raw_labels) == 10_008
    np.testing.assert_array_equal(x_test, np.frombuffer(raw_images, np.uint8, offset=16).reshape(10000, 28, 28))
    np.testing.assert_array_equal(y_test, np.frombuffer(raw_labels, np.uint8, offset=8))


def _read_raw(path):
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def test_seeds_split_and_scaling(splits, fashion):
    ((x_raw, _), _), _ = fashion
    assert splits.x_train.shape == (48000, 28, 28) and splits.x_val.shape == (12000, 28, 28)
    assert splits.y_train.shape == (48000,) and splits.y_val.shape == (12000,)
    assert splits.x_test.shape == (10000, 28, 28)
    assert splits.y_train[:10].tolist() == [7, 3, 5, 8, 6, 9, 3, 3, 9, 9]
    for x in (splits.x_train, splits.x_val, splits.x_test):
        assert x.dtype == np.float32
        assert x.min() == 0.0 and x.max() == 1.0
    # The seeds scale by / 255.0 and then split with train_test_split(test_size=0.2, random_state=42).
    from sklearn.model_selection import train_test_split

    expected_first, *_ = train_test_split(x_raw[:, :1, :], test_size=0.2, random_state=42)
    np.testing.assert_allclose(splits.x_train[:, :1, :], expected_first / 255.0, rtol=1e-6)


def test_load_splits_gives_the_core_splits(small_splits):
    assert isinstance(small_splits, Splits)
    x_val, y_val = small_splits.validation()
    assert x_val is small_splits.x_val and y_val is small_splits.y_val
    assert small_splits.source.official
    without = load_splits(validation="none", limit=50)
    assert without.x_val is None and without.y_val is None and without.validation() is None
    assert len(without.x_train) == len(without.y_train) == 50


def test_limit_keeps_the_first_samples(small_splits, splits):
    assert len(small_splits.x_train) == len(small_splits.x_val) == len(small_splits.x_test) == 600
    np.testing.assert_array_equal(small_splits.x_val, splits.x_val[:600])
    with pytest.raises(NnlabError, match=r"--limit must be an integer >= 1, got 0"):
        load_splits(limit=0)


def test_stratified_split_keeps_class_proportions():
    # Unbalanced labels: 500 of class 0, 300 of class 1, 200 of class 2.
    y = np.repeat(np.arange(3), [500, 300, 200]).astype(np.uint8)
    x = np.arange(len(y))
    x_train, y_train, x_val, y_val = split_train_val(x, y, validation="stratified")
    assert np.bincount(y_val).tolist() == [100, 60, 40]
    assert np.bincount(y_train).tolist() == [400, 240, 160]
    assert sorted(np.concatenate([x_train, x_val]).tolist()) == x.tolist()  # a partition


def test_validation_none_and_bad_choice():
    x, y = np.zeros((10, 28, 28)), np.arange(10)
    assert split_train_val(x, y, validation="none")[2:] == (None, None)
    with pytest.raises(NnlabError, match=r"validation must be one of seeds, stratified, none; got 'strat'"):
        split_train_val(x, y, validation="strat")


def test_scale():
    images = np.array([[0, 51, 255]], dtype=np.uint8)
    scaled = scale(images)
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, np.array([[0.0, 0.2, 1.0]], dtype=np.float32))


# ---------------------------------------------------------------- where the data is looked for


@pytest.mark.filterwarnings("ignore::nnlab.fashion.data.DataWarning")
def test_search_order(isolated_data, monkeypatch):
    """argument > $NNLAB_DATA_DIR > ~/.keras/datasets/fashion-mnist > the Debian folder."""
    places = {
        "argument": isolated_data / "arg",
        "env": isolated_data / "env",
        "home": isolated_data / "home" / ".keras" / "datasets" / "fashion-mnist",
        "debian": isolated_data / "debian",
    }
    for offset, folder in enumerate(places.values()):  # each folder's first label tells them apart
        write_idx_folder(folder, label_offset=offset)
    monkeypatch.setenv("NNLAB_DATA_DIR", str(places["env"]))
    assert search_dirs(places["argument"]) == list(places.values())

    def first_label(data_dir=None):
        (_, y_train), _ = load_fashion_mnist(data_dir)
        return int(y_train[0])

    assert first_label(places["argument"]) == 0
    assert first_label() == 1  # the environment variable
    monkeypatch.delenv("NNLAB_DATA_DIR")
    assert first_label() == 2  # ~/.keras
    for path in places["home"].iterdir():
        path.unlink()
    assert first_label() == 3  # Debian's dataset-fashion-mnist
    _, source = locate()
    assert source.folder == str(places["debian"]) and not source.official


@pytest.mark.filterwarnings("ignore::nnlab.fashion.data.DataWarning")
def test_raw_and_gz_files_give_the_same_arrays(isolated_data):
    arrays = synthetic_arrays()
    write_idx_folder(isolated_data / "gz", arrays, compress=True)
    write_idx_folder(isolated_data / "raw", arrays, compress=False)
    for folder in ("gz", "raw"):
        (x_train, y_train), (x_test, y_test) = load_fashion_mnist(isolated_data / folder)
        for got, expected in zip((x_train, y_train, x_test, y_test), (*arrays[0], *arrays[1])):
            assert got.dtype == np.uint8
            np.testing.assert_array_equal(got, expected)


def test_missing_data_lists_every_place_and_the_fix(isolated_data):
    with pytest.raises(NnlabError) as raised:
        load_fashion_mnist(isolated_data / "nowhere")
    message = str(raised.value)
    assert "\n" not in message
    for place in (isolated_data / "nowhere", isolated_data / "home" / ".keras" / "datasets" / "fashion-mnist",
                  isolated_data / "debian"):
        assert str(place) in message
    assert "sudo apt-get install -y dataset-fashion-mnist" in message
    assert "NNLAB_DATA_DIR" in message


def test_missing_data_names_env_folder(isolated_data, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(isolated_data / "from-env"))
    with pytest.raises(NnlabError, match=re.escape(str(isolated_data / "from-env"))):
        load_fashion_mnist()


def test_one_missing_file_means_the_folder_is_skipped(isolated_data):
    write_idx_folder(isolated_data / "partial")
    (isolated_data / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(NnlabError, match="not found"):
        load_fashion_mnist(isolated_data / "partial")


def _corrupt_cases():
    """(case id, file to damage, new content) -> NnlabError naming that file."""
    good_images = idx_bytes(synthetic_arrays()[0][0])  # random pixels: the gzip stream is long
    return [
        ("bad-gzip", "train-images-idx3-ubyte.gz", b"this is not gzip data"),
        ("truncated-gzip", "train-images-idx3-ubyte.gz", gzip.compress(good_images)[:-1000]),
        ("wrong-magic", "train-labels-idx1-ubyte.gz", gzip.compress(b"\x00\x00\x08\x03" + idx_bytes(np.zeros(30))[4:])),
        ("shorter-than-header", "t10k-labels-idx1-ubyte.gz", gzip.compress(b"\x00\x00\x08")),
        ("short-body", "train-images-idx3-ubyte.gz", gzip.compress(good_images[:-100])),
        ("label-out-of-range", "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.full(30, 10)))),
        ("wrong-image-size", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(np.zeros((30, 28, 27))))),
        ("count-mismatch", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(np.zeros((29, 28, 28))))),
    ]


@pytest.mark.parametrize("case, name, content", _corrupt_cases(), ids=[c[0] for c in _corrupt_cases()])
def test_corrupt_file_names_that_file(isolated_data, case, name, content):
    folder = isolated_data / "data"
    write_idx_folder(folder)
    (folder / name).write_bytes(content)
    with pytest.raises(NnlabError, match=re.escape(str(folder / name))):
        load_fashion_mnist(folder)


def test_corrupt_raw_file_names_that_file(isolated_data):
    folder = isolated_data / "data"
    write_idx_folder(folder, compress=False)
    (folder / "t10k-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + b"\x00" * 20)
    with pytest.raises(NnlabError, match=re.escape(str(folder / "t10k-images-idx3-ubyte")) + ".*magic"):
        load_fashion_mnist(folder)


def test_own_data_loads_with_a_data_warning(isolated_data):
    folder = isolated_data / "mine"
    arrays = write_idx_folder(folder)
    with pytest.warns(DataWarning, match=re.escape(str(folder)) + ".*SHA-256 mismatch"):
        data, source = locate(folder)
    assert not source.official
    np.testing.assert_array_equal(data[0][1], arrays[0][1])
    # Every file is named in the warning's list, since none is official.
    assert set(source.sha256) == set(IDX_NAMES)


@pytest.mark.filterwarnings("ignore::nnlab.fashion.data.DataWarning")
def test_cache_is_written_used_and_invalidated(isolated_data):
    folder = isolated_data / "data"
    (x_train, y_train), _ = write_idx_folder(folder)
    load_fashion_mnist(folder)
    caches = list((isolated_data / "cache").glob("fashion-mnist-*"))
    assert len(caches) == 1
    cache = caches[0]
    assert {p.name for p in cache.iterdir()} == {f"{n}.npy" for n in IDX_NAMES} | {"sha256.json"}
    assert json.loads((cache / "sha256.json").read_text())["train-labels-idx1-ubyte"] == hashlib.sha256(
        idx_bytes(y_train)).hexdigest()

    # A second load reads the cache, not the IDX files: tamper with the cached labels to see it.
    np.save(cache / "train-labels-idx1-ubyte.npy", (y_train + 1) % 10)
    (_, cached_labels), _ = load_fashion_mnist(folder)
    np.testing.assert_array_equal(cached_labels, (y_train + 1) % 10)

    # Changing a source file (new modification time) makes a fresh decode of that folder.
    source_file = folder / "train-labels-idx1-ubyte.gz"
    stat = source_file.stat()
    os.utime(source_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (x_again, labels_again), _ = load_fashion_mnist(folder)
    np.testing.assert_array_equal(labels_again, y_train)
    np.testing.assert_array_equal(x_again, x_train)


@pytest.mark.filterwarnings("ignore::nnlab.fashion.data.DataWarning")
def test_a_damaged_cache_is_rebuilt_and_leaves_nothing_behind(isolated_data):
    folder = isolated_data / "data"
    (_, y_train), _ = write_idx_folder(folder)
    load_fashion_mnist(folder)
    (cache,) = (isolated_data / "cache").iterdir()
    (cache / "train-labels-idx1-ubyte.npy").write_bytes(b"\x93NUMPY cut short")
    for _ in range(2):
        (_, labels), _ = load_fashion_mnist(folder)
        np.testing.assert_array_equal(labels, y_train)
        assert [p.name for p in (isolated_data / "cache").iterdir()] == [cache.name]  # no temporary folders
    np.testing.assert_array_equal(np.load(cache / "train-labels-idx1-ubyte.npy"), y_train)  # repaired


@pytest.mark.filterwarnings("ignore::nnlab.fashion.data.DataWarning")
def test_unwritable_cache_only_costs_speed(isolated_data, monkeypatch):
    blocker = isolated_data / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("NNLAB_CACHE_DIR", str(blocker))
    arrays = write_idx_folder(isolated_data / "data")
    (_, y_train), _ = load_fashion_mnist(isolated_data / "data")
    np.testing.assert_array_equal(y_train, arrays[0][1])
