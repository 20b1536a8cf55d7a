"""TensorBoard event files of a run, read back with TensorBoard's own EventAccumulator."""

import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from nnlab.core.tensorboard import LOG_DIR
from nnlab.core.training import train
from nnlab.fashion.task import TASK


def _read(folder):
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0, "images": 0})
    events.Reload()
    return events


def _scalars(events, tag):
    return {event.step: float(tensor_util.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)}


@pytest.fixture(scope="module")
def board_run(tmp_path_factory, small_splits):
    config = TASK.config("seeds-final", runs_dir=str(tmp_path_factory.mktemp("tb")), epochs=2, verbose=0,
                         name="board", tensorboard=True, optimizer={"schedule": "cosine", "learning_rate": 0.01})
    return train(config, splits=small_splits)


def test_scalars_per_epoch_match_the_history(board_run):
    history = board_run.history
    train_events = _read(board_run.run_dir / LOG_DIR / "train")
    val_events = _read(board_run.run_dir / LOG_DIR / "validation")
    for name in ("loss", "accuracy"):
        logged = _scalars(train_events, f"epoch_{name}")
        assert sorted(logged) == [0, 1]
        np.testing.assert_allclose([logged[0], logged[1]], history[name], rtol=1e-5)
        logged = _scalars(val_events, f"epoch_{name}")
        np.testing.assert_allclose([logged[0], logged[1]], history[f"val_{name}"], rtol=1e-5)


def test_learning_rate_per_epoch_as_in_the_history(board_run):
    rates = _scalars(_read(board_run.run_dir / LOG_DIR / "train"), "epoch_learning_rate")
    np.testing.assert_allclose([rates[0], rates[1]], board_run.history["learning_rate"], rtol=1e-5)
    assert rates[1] < rates[0]  # the cosine schedule decays


def test_weight_histograms_and_confusion_images(board_run):
    train_tags = _read(board_run.run_dir / LOG_DIR / "train").Tags()["tensors"]
    assert any(tag.endswith("kernel/histogram") for tag in train_tags)
    val_events = _read(board_run.run_dir / LOG_DIR / "validation")
    images = val_events.Tensors("confusion/class")
    assert [event.step for event in images] == [0, 1]
    # an image summary's tensor: width, height, then the encoded PNG
    width, height, png = tensor_util.make_ndarray(images[-1].tensor_proto)
    assert int(width) > 100 and int(height) > 100 and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_tensorflow_import_without_tensorboard():
    code = ("import pathlib, sys, nnlab; from nnlab.core.training import make_callbacks; "
            "from nnlab.fashion.task import TASK; "
            "make_callbacks(TASK.config('dnn', epochs=1).resolved(), pathlib.Path('.')); "
            "print('tensorflow' in sys.modules, 'mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
