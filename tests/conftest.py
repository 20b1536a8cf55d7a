"""Shared fixtures: the real data loaded once, one tiny trained run, synthetic IDX files.

The real Fashion-MNIST must be installed (``make run`` installs Debian's
``dataset-fashion-mnist``). Tests that train use the first few hundred samples
of each split for one to three epochs; ``-m "not slow"`` skips the longer ones.
"""

import gzip
import struct
from pathlib import Path

import nnlab  # noqa: F401  picks the JAX backend before anything imports keras

import keras
import numpy as np
import pytest

from nnlab.config import from_preset
from nnlab.data import locate, load_splits
from nnlab.training import train

SMALL = 600  # samples per split in the quick trainings


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Never let a test start Keras' internet download."""
    monkeypatch.setenv("NNLAB_OFFLINE", "1")


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def fashion():
    """``(((x_train, y_train), (x_test, y_test)), DataSource)`` of the installed real data."""
    return locate()


@pytest.fixture(scope="session")
def splits():
    """The seeds' full 48,000 / 12,000 / 10,000 split, scaled."""
    return load_splits()


@pytest.fixture(scope="session")
def small_splits():
    """First 600 samples of each split of the seeds' pipeline (a few seconds per epoch)."""
    return load_splits(limit=SMALL)


class CheckpointWatcher(keras.callbacks.Callback):
    """After every epoch, records the SHA-256 of a file (None if absent).

    Put it after ModelCheckpoint in the callback list: it then sees the file as
    the checkpoint left it at that epoch.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.digests = []

    def on_epoch_end(self, epoch, logs=None):
        self.digests.append(file_digest(self.path) if self.path.exists() else None)

    def changed(self):
        """Per epoch: was the file (re)written during it?"""
        previous = [None, *self.digests[:-1]]
        return [now != before for now, before in zip(self.digests, previous)]


def file_digest(path):
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


TINY_RUN = dict(epochs=3, verbose=0, name="tiny")  # on top of the seeds-final preset


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """A folder whose ``runs/`` holds the session's tiny run (cwd for CLI tests on runs)."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def tiny_run(runs_root, small_splits):
    """The seeds' final pipeline (dropout 0.3, Adam, checkpoint, early stopping) for 3 epochs on 600 samples.

    ``tiny_run.checkpoint_changed`` says, per epoch, whether best.keras was written.
    """
    config = from_preset("seeds-final", runs_dir=str(runs_root / "runs"), **TINY_RUN)
    watcher = CheckpointWatcher(runs_root / "runs" / "tiny" / "best.keras")
    result = train(config, splits=small_splits, extra_callbacks=[watcher])
    result.checkpoint_changed = watcher.changed()
    return result


# ---------------------------------------------------------------- synthetic IDX files

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array):
    """IDX encoding of a uint8 array: magic 0x0000080N, N big-endian sizes, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(f">{1 + array.ndim}I", 0x800 + array.ndim, *array.shape)
    return header + array.tobytes()


def synthetic_arrays(n_train=30, n_test=10, label_offset=0, seed=0):
    """Small random Fashion-MNIST-shaped arrays; ``label_offset`` makes sets tell apart."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    y_train = ((np.arange(n_train) + label_offset) % 10).astype(np.uint8)
    y_test = ((np.arange(n_test) + label_offset) % 10).astype(np.uint8)
    return (x_train, y_train), (x_test, y_test)


def write_idx_folder(folder, arrays=None, compress=True, **kwargs):
    """Write the four IDX files (``.gz`` or raw) into ``folder``; returns the arrays written."""
    arrays = arrays or synthetic_arrays(**kwargs)
    (x_train, y_train), (x_test, y_test) = arrays
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(IDX_NAMES, (x_train, y_train, x_test, y_test)):
        data = idx_bytes(array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """No real data anywhere: empty HOME and Debian folder, no NNLAB_DATA_DIR, cache in tmp_path."""
    import nnlab.data

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NNLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("NNLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(nnlab.data, "DEBIAN_DIR", tmp_path / "debian")
    return tmp_path
