"""nnlab.fashion.task: the classifier as a task of the core (one softmax output, input reshaping)."""

import keras
import numpy as np
import pytest

from nnlab.core.errors import NnlabError
from nnlab.core.task import get_task, task_names
from nnlab.fashion.data import CLASS_NAMES
from nnlab.fashion.models import build_model
from nnlab.fashion.task import TASK


def test_the_core_finds_the_fashion_task():
    assert "fashion" in task_names() and get_task("fashion") is TASK
    assert TASK.models == ("logreg", "dnn-sigmoid", "dnn", "mnist-512", "cnn", "cnn-fast", "cnn-deep")


def test_one_output_logs_as_the_seeds():
    assert not TASK.multi_output
    assert TASK.log_names() == ("loss", "accuracy", "val_loss", "val_accuracy")
    assert TASK.log_names(validation=False) == ("loss", "accuracy")
    assert TASK.compile_args() == {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    assert TASK.families(["loss", "accuracy", "val_loss", "val_accuracy"]) == {
        "loss": ["loss", "val_loss"], "accuracy": ["accuracy", "val_accuracy"]}


def test_describe_names_the_class():
    probabilities = np.full((2, 10), 0.01, np.float32)
    probabilities[0, 9], probabilities[1, 1] = 0.91, 0.91
    rows = TASK.describe(probabilities)
    assert [row["class"] for row in rows] == ["Ankle boot", "Trouser"]
    assert [row["class_index"] for row in rows] == [9, 1]
    assert list(rows[0]["class_probabilities"]) == list(CLASS_NAMES)
    assert rows[0]["class_probabilities"]["Ankle boot"] == pytest.approx(0.91)


def test_config_and_data_of_the_task(small_splits):
    config = TASK.config("seeds-final", limit=600)
    np.testing.assert_array_equal(TASK.load_data(config).x_val, small_splits.x_val)
    model = TASK.build_model(config)
    assert model.count_params() == 79_510
    assert any(isinstance(layer, keras.layers.Dropout) and layer.rate == 0.3 for layer in model.layers)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
def test_adapt_inputs_reshapes_for_flat_models():
    flat = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
    images = np.zeros((3, 28, 28), np.float32)
    assert TASK.adapt_inputs(flat, images).shape == (3, 784)
    assert TASK.adapt_inputs(build_model("logreg"), images) is images  # already the right shape
    assert TASK.adapt_inputs(build_model("logreg", api="subclass"), images) is images
    other = keras.Sequential([keras.Input((100,)), keras.layers.Dense(10)], name="other")
    with pytest.raises(NnlabError, match=r"model 'other' expects inputs of shape \(100,\), got images of shape "
                                         r"\(28, 28\)"):
        TASK.adapt_inputs(other, images)
