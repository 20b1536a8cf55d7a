"""Evaluation stage: loss and metrics of any task's model, and its predictions.

    >>> from nnlab.core.evaluation import evaluate, predict
    >>> evaluate(model, splits.x_val, splits.y_val, task)    # {'loss': ..., 'accuracy': ...}
    >>> predict(model, x, task)                              # model.predict, in eval-sized batches

``evaluate`` works on any model, compiled or not (the seeds note that ``evaluate``
needs ``compile``; a loaded model that was not compiled is compiled with the
task's losses and metrics). Inputs go through ``task.adapt_inputs`` first, so a
model saved elsewhere with another input layout still takes the task's arrays.
"""

import numpy as np


def ensure_compiled(model, task, loss_weights=None):
    """Compile ``model`` with the task's losses and metrics unless it already has a loss."""
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        model.compile(**task.compile_args(loss_weights))
    return model


def evaluate(model, x, y, task, batch_size=1000):
    """``model.evaluate`` as a dict of floats keyed as Keras logs them (``loss``, ``accuracy``, ...)."""
    ensure_compiled(model, task)
    results = model.evaluate(task.adapt_inputs(model, x), y, batch_size=batch_size, verbose=0, return_dict=True)
    results = {key: float(value) for key, value in results.items()}
    if "compile_metrics" in results and not task.multi_output:  # models loaded from .h5 log it under this key
        (metric,) = task.outputs[0].metrics
        results[metric] = results.pop("compile_metrics")
    return results


def predict(model, x, task, batch_size=1000):
    """``model.predict``: an array for a one-output model, else what Keras returns (dict or list)."""
    outputs = model.predict(task.adapt_inputs(model, x), batch_size=batch_size, verbose=0)
    return np.asarray(outputs) if not isinstance(outputs, (dict, list, tuple)) else outputs


def argmax_accuracy(model, x, y, task, batch_size=1000):
    """Accuracy from ``predict`` + ``np.argmax(axis=-1)``, as the seeds compute it (one-output classifiers)."""
    return float(np.mean(np.argmax(predict(model, x, task, batch_size), axis=-1) == y))
