"""Helpers the tests share (``import helpers``): run sizes, checkpoint watching, noisy labels, synthetic IDX files."""

import gzip
import hashlib
import struct
from pathlib import Path

import nnlab  # noqa: F401  picks the JAX backend before anything imports keras

import keras
import numpy as np

SMALL = 600  # samples per split in the quick trainings
TINY_RUN = dict(epochs=3, verbose=0, name="tiny")  # on top of the seeds-final preset


class CheckpointWatcher(keras.callbacks.Callback):
    """After every epoch, records the SHA-256 of a file (None if absent).

    Put it after nnlab's own callbacks (``extra_callbacks`` go last): it then sees
    the file as the checkpoint left it at that epoch.
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
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def noisy_validation(splits, fraction=0.1):
    """The same splits with the first ``fraction`` of the validation labels wrong (never the true one).

    On 600 samples val_loss then falls for a few epochs and rises as the model grows sure
    of itself, so early stopping stops a run before its last epoch.
    """
    from nnlab.core.task import Splits

    y_val = splits.y_val.copy()
    n = int(len(y_val) * fraction)
    y_val[:n] = (y_val[:n] + 1 + np.arange(n) % 9) % 10
    return Splits(splits.x_train, splits.y_train, splits.x_val, y_val, splits.x_test, splits.y_test, splits.source)


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
