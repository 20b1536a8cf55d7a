"""nnlab.core.evaluation: evaluate any model (compiled or not), predictions, the seeds' argmax accuracy."""

import keras
import numpy as np
import pytest

from nnlab.core.evaluation import argmax_accuracy, ensure_compiled, evaluate, predict
from nnlab.fashion.models import build_model
from nnlab.fashion.task import TASK


@pytest.fixture(scope="module")
def model():
    return build_model("dnn")


def test_predict_rows_sum_to_one(model):
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    probabilities = predict(model, x, TASK)
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (5, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-7)


def test_evaluate_compiles_an_uncompiled_model(small_splits):
    fresh = build_model("logreg")
    assert not fresh.compiled
    x, y = small_splits.x_val[:100], small_splits.y_val[:100]
    results = evaluate(fresh, x, y, TASK)
    assert fresh.compiled
    assert set(results) == {"loss", "accuracy"} and all(type(v) is float for v in results.values())
    assert results["accuracy"] == pytest.approx(argmax_accuracy(fresh, x, y, TASK), abs=1e-6)
    # The seeds' loss: mean negative log-probability of the true class.
    probabilities = predict(fresh, x, TASK)
    expected_loss = -np.mean(np.log(probabilities[np.arange(len(y)), y]))
    assert results["loss"] == pytest.approx(expected_loss, rel=1e-4)


def test_ensure_compiled_keeps_an_existing_compile():
    model = build_model("logreg")
    optimizer = keras.optimizers.SGD(0.5)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert ensure_compiled(model, TASK) is model and model.optimizer is optimizer


def test_evaluate_and_predict_adapt_the_inputs(small_splits):
    # A model saved elsewhere that takes flat pixels still takes the task's (N, 28, 28) images.
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    x, y = small_splits.x_val[:64], small_splits.y_val[:64]
    expected = flat.predict(x.reshape(-1, 784), verbose=0)
    np.testing.assert_allclose(predict(flat, x, TASK), expected, rtol=1e-6)
    assert argmax_accuracy(flat, x, y, TASK) == pytest.approx(np.mean(expected.argmax(-1) == y))
    assert evaluate(flat, x, y, TASK)["accuracy"] == pytest.approx(np.mean(expected.argmax(-1) == y), abs=1e-6)
