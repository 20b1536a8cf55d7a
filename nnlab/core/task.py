"""The task interface: what a system (Fashion-MNIST, ticket triage, ...) hands to the core.

The core trains, saves, evaluates and writes run folders for any :class:`Task`.
A task says what its data and models are; the core never imports a task's code
directly: ``get_task("fashion")`` imports ``nnlab.fashion.task`` and takes its
``TASK``. Adding a system is adding a package with a ``task.py``; nothing under
``nnlab/core/`` changes.

    >>> from nnlab.core.task import get_task
    >>> task = get_task("fashion")
    >>> [output.name for output in task.outputs], task.log_names()[:2]
    (['class'], ['loss', 'accuracy'])

A task declares:

- ``outputs``: one :class:`Output` per model output (its Keras loss, metrics,
  class names). One output compiles with plain strings, so Keras logs ``loss``
  and ``accuracy``; several compile with dicts keyed by output name, so Keras
  logs ``department_loss``, ``val_department_accuracy``, ...
- ``config_class``: its :class:`~nnlab.core.config.RunConfig` subclass;
  ``presets``: named settings; ``models``: the model names ``build_model`` knows.
- ``load_data(config)`` -> :class:`Splits`; ``build_model(config)`` -> keras.Model.
- optionally ``adapt_inputs`` (reshape inputs for a model saved elsewhere),
  ``describe`` (name a prediction), ``default_monitor``, ``write_extras``
  (extra files in a run folder) and ``calibrate_extras`` (what ``nnlab calibrate``
  fits besides temperatures).
"""

import dataclasses
import functools
import importlib
import os
import pkgutil
import re

import numpy as np

from nnlab.core.errors import NnlabError

# Endings of the Keras metric names (as logged) where larger is better; everything else is a loss or an error.
# "acc" is how Keras logs metrics=["acc"]; F1Score, FBetaScore and R2Score log f1_score, fbeta_score, r2_score.
_LARGER_IS_BETTER = ("accuracy", "acc", "auc", "precision", "recall", "f1_score", "fbeta_score", "r2_score")


@dataclasses.dataclass(frozen=True)
class Output:
    """One output of a task's models.

    ``loss`` and ``metrics`` are Keras names (``"sparse_categorical_crossentropy"``,
    ``"mae"``, ...). ``labels`` names the classes of a classification output
    (softmax); None for a value output (e.g. a priority in 0..1).
    """

    name: str
    loss: str
    metrics: tuple = ()
    labels: tuple | None = None


@dataclasses.dataclass
class Splits:
    """Train / validation / test data. Each ``x_*`` / ``y_*`` is an array or a dict of named arrays.

    ``x_val`` and ``y_val`` are None for a run without validation.
    """

    x_train: object
    y_train: object
    x_val: object
    y_val: object
    x_test: object
    y_test: object
    source: object = None

    def validation(self):
        return None if self.x_val is None else (self.x_val, self.y_val)


def num_samples(x):
    """Samples in ``x``: an array, or a dict/list of arrays of the same length."""
    if isinstance(x, dict):
        x = next(iter(x.values()))
    elif isinstance(x, (list, tuple)):
        x = x[0]
    return len(x)


def mode(metric):
    """``"max"`` for a metric where larger is better (accuracy, ...), else ``"min"`` (losses, errors)."""
    base = metric[4:] if metric.startswith("val_") else metric
    return "max" if base.endswith(_LARGER_IS_BETTER) else "min"


def best_epoch(history, monitor):
    """0-based epoch with the best ``monitor`` value (max or min as :func:`mode` says); None if not logged."""
    values = history.get(monitor)
    if not values:
        return None
    return int(np.argmax(values) if mode(monitor) == "max" else np.argmin(values))


class Task:
    """Base class of a system's task; subclasses set the class attributes and the two builders."""

    name = ""
    outputs = ()  # Output, ...
    config_class = None  # a RunConfig subclass
    presets = {}  # preset name -> settings dict
    models = ()  # model names build_model accepts

    # ------------------------------------------------------------ what each task provides

    def load_data(self, config):
        """The run's :class:`Splits` (the same ones every time for the same config)."""
        raise NotImplementedError

    def build_model(self, config):
        """A fresh, uncompiled keras.Model for ``config`` (weights built)."""
        raise NotImplementedError

    def adapt_inputs(self, model, x):
        """Inputs reshaped for ``model`` (e.g. a model saved elsewhere that takes flat pixels)."""
        return x

    def default_monitor(self, config):
        return "val_loss" if config.has_validation() else "loss"

    def write_extras(self, run_dir, model, splits, metrics):
        """Extra files and metrics.json entries a task adds to a finished run folder."""

    def calibrate_extras(self, run_dir, config, splits, calibrated, **options):
        """What ``nnlab calibrate`` fits for this task beyond temperatures (files in ``run_dir``; ``calibrated``:
        the calibrated keras.Model just saved); a dict for calibration.json's ``"ood"`` entry, or None. The
        fashion task fits its out-of-distribution detector."""
        return None

    # ------------------------------------------------------------ derived from the declarations

    @property
    def multi_output(self):
        return len(self.outputs) > 1

    def losses(self, config=None):
        """``{output name: Keras loss}`` of a run with ``config`` (default: each output's declared loss)."""
        return {o.name: o.loss for o in self.outputs}

    def compile_args(self, loss_weights=None, config=None):
        """``loss``, ``metrics`` and ``loss_weights`` for ``model.compile`` (losses as ``losses(config)`` says)."""
        losses = self.losses(config)
        if not self.multi_output:
            (output,) = self.outputs
            return {"loss": losses[output.name], "metrics": list(output.metrics)}
        return {"loss": {o.name: losses[o.name] for o in self.outputs},
                "metrics": {o.name: list(o.metrics) for o in self.outputs},
                "loss_weights": {o.name: float((loss_weights or {}).get(o.name, 1.0)) for o in self.outputs}}

    def log_names(self, validation=True):
        """Every name Keras logs for this task's models: ``loss``, ``accuracy``, ``val_loss``, ..."""
        if self.multi_output:
            names = ["loss", *(f"{o.name}_loss" for o in self.outputs),
                     *(f"{o.name}_{metric}" for o in self.outputs for metric in o.metrics)]
        else:
            names = ["loss", *self.outputs[0].metrics]
        return tuple(names + ([f"val_{name}" for name in names] if validation else []))

    def families(self, names):
        """Group logged names into plot panels: ``{"loss": [...], "accuracy": [...], "mae": [...]}``."""
        families = {}
        prefixes = tuple(f"{o.name}_" for o in self.outputs) if self.multi_output else ()
        for name in names:
            base = name[4:] if name.startswith("val_") else name
            family = base
            for prefix in prefixes:
                if base.startswith(prefix):
                    family = base[len(prefix):]
            families.setdefault(family, []).append(name)
        return families

    def describe(self, predictions):
        """Name each sample's prediction: class label and probabilities, or the value, per output.

        ``predictions``: what ``model.predict`` returned (an array for one output,
        a dict or list of arrays for several). Returns one dict per sample.
        """
        if not self.multi_output:
            predictions = {self.outputs[0].name: predictions}
        elif isinstance(predictions, (list, tuple)):
            predictions = dict(zip((o.name for o in self.outputs), predictions))
        rows = None
        for output in self.outputs:
            values = np.asarray(predictions[output.name])
            rows = rows or [{} for _ in range(len(values))]
            for row, value in zip(rows, values):
                if output.labels is None:
                    row[output.name] = float(np.ravel(value)[0])
                    continue
                top = int(np.argmax(value))
                row[output.name] = output.labels[top]
                row[f"{output.name}_index"] = top
                row[f"{output.name}_probabilities"] = {label: float(p) for label, p in zip(output.labels, value)}
        return rows or []

    # ------------------------------------------------------------ configs

    def config(self, preset=None, **overrides):
        """A validated config from a preset (or the defaults) plus nested ``overrides``."""
        from nnlab.core.config import choice, from_dict, merge

        if preset is not None:
            choice("--preset", preset, tuple(self.presets))
        values = merge({**self.presets.get(preset, {}), "preset": preset}, overrides)
        return self.config_from_dict(values)

    def config_from_dict(self, values):
        from nnlab.core.config import from_dict

        values = dict(values)
        if values.setdefault("task", self.name) != self.name:
            raise NnlabError(f"these settings are for the task {values['task']!r}, not {self.name!r}; "
                             f"use that task's command (e.g. `nnlab {values['task']} train`).")
        return from_dict(self.config_class, values).validate()

    def load_config(self, path, **overrides):
        """A config from a JSON file (e.g. a run's config.json) plus ``overrides``."""
        from nnlab.core.config import merge, read_json

        return self.config_from_dict(merge(read_json(path), overrides))


# ---------------------------------------------------------------- finding tasks


@functools.cache
def _task_names():
    import nnlab

    # Looked up in the folders, not imported: naming the tasks imports none of them (nor their packages).
    return tuple(sorted(info.name for info in pkgutil.iter_modules(nnlab.__path__)
                        if info.ispkg and info.name != "core"  # core/task.py is this interface
                        and any(module.name == "task" for module in
                                pkgutil.iter_modules([os.path.join(info.module_finder.path, info.name)]))))


_REGISTERED = {}


def register_task(task):
    """Make a task defined outside nnlab's packages known to the core (e.g. your own system, or a test's)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", task.name or ""):
        raise NnlabError(f"a task's name must be lowercase letters, digits and '_', got {task.name!r}.")
    _REGISTERED[task.name] = task
    return task


def task_names():
    """The systems nnlab knows: every ``nnlab`` subpackage with a ``task.py``, and registered tasks."""
    return sorted({*_task_names(), *_REGISTERED})


def get_task(name):
    """The :class:`Task` registered as ``name``, else the one of the package ``nnlab.<name>`` (``task.TASK``)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if isinstance(name, str) and name in _task_names():
        return importlib.import_module(f"nnlab.{name}.task").TASK
    import_tasks()  # a task package may register variants of its task when imported (e.g. an added head)
    if name in _REGISTERED:
        return _REGISTERED[name]
    raise NnlabError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}.")


def import_tasks():
    """Import every task package, so that the Keras classes each registers are known when loading."""
    return [get_task(name) for name in task_names()]
