"""The task interface: what a system (Fashion-MNIST, ticket triage, ...) hands to the core.

The core trains, saves, evaluates and writes run folders for any :class:`Task`.
A task says what its data and models are; the core never imports a task's code
directly: ``get_task("fashion")`` (:mod:`nnlab.core.registry`) imports
``nnlab.fashion.task`` and takes its ``TASK``. Adding a system is adding a package
with a ``task.py``; nothing under ``nnlab/core/`` changes.

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
- ``load_data(config, preprocessing=None)`` -> :class:`Splits`; ``build_model(config)`` -> keras.Model.
- optionally fitted preprocessing (the ticket vectorizer): ``fit_preprocessing``
  learns it from the training split, ``preprocessing(run_dir)`` reads a finished
  run's, and ``load_data`` takes it so a run is scored as it was trained;
- ``variant(settings)``: the task for one run's settings (a ticket run with an
  extra head has a third output), read from the settings, never from a name;
- ``adapt_inputs`` (reshape inputs for a model saved elsewhere), ``describe``
  (name a prediction), ``default_monitor``, ``write_extras`` (extra files in a
  run folder; returns the metrics.json entries they add) and ``calibrate_extras``
  (what ``nnlab calibrate`` fits besides temperatures).
"""

import dataclasses

import numpy as np

from nnlab.core.errors import NnlabError
# Finding tasks lives in nnlab.core.registry (the config looks tasks up there); importable from here as before.
from nnlab.core.registry import get_task, import_tasks, register_task, task_for, task_names  # noqa: F401

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


def describe(outputs, predictions):
    """Name each sample's prediction of a model with ``outputs`` (:class:`Output`, ...), without a Task object.

    ``predictions``: an array for one output, a dict or list of arrays for several. One dict per
    sample: ``{name: label, name_index: i, name_probabilities: {label: p}}`` for a class output,
    ``{name: value}`` for a value output.

        >>> describe((Output("class", "sparse_categorical_crossentropy", labels=("cat", "dog")),), [[0.2, 0.8]])
        [{'class': 'dog', 'class_index': 1, 'class_probabilities': {'cat': 0.2, 'dog': 0.8}}]
    """
    if len(outputs) == 1:
        predictions = {outputs[0].name: predictions}
    elif isinstance(predictions, (list, tuple)):
        predictions = dict(zip((o.name for o in outputs), predictions))
    rows = None
    for output in outputs:
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


class Task:
    """Base class of a system's task; subclasses set the class attributes and the two builders."""

    name = ""
    outputs = ()  # Output, ...
    config_class = None  # a RunConfig subclass
    presets = {}  # preset name -> settings dict
    models = ()  # model names build_model accepts

    # ------------------------------------------------------------ what each task provides

    def load_data(self, config, preprocessing=None):
        """The run's :class:`Splits` (the same ones every time for the same config).

        ``preprocessing``: fitted state from :meth:`preprocessing` (a finished run's), used as it
        is; None: fitted on the training split (:meth:`fit_preprocessing`), for a new run.
        """
        raise NotImplementedError

    def fit_preprocessing(self, config, train):
        """State learned from the training split's raw samples ``train`` (e.g. vocabularies); None: nothing."""
        return None

    def preprocessing(self, run_dir):
        """The fitted preprocessing state a finished run folder saved (None for a task without any)."""
        return None

    def variant(self, settings):
        """The task for one run's ``settings`` (a config, or a dict such as config.json); default: this task.

        A task whose outputs depend on a setting (the ticket task's ``head``) returns a copy with them.
        """
        return self

    def reads_name(self, name):
        """Whether run folders naming the task ``name`` are this task's (older nnlab saved variants' names)."""
        return name == self.name

    def upgrade_settings(self, values):
        """Settings an older nnlab saved (a dict), in today's form; ``config_from_dict`` reads them through this."""
        return values

    def build_model(self, config):
        """A fresh, uncompiled keras.Model for ``config`` (weights built)."""
        raise NotImplementedError

    def adapt_inputs(self, model, x):
        """Inputs reshaped for ``model`` (e.g. a model saved elsewhere that takes flat pixels)."""
        return x

    def default_monitor(self, config):
        return "val_loss" if config.has_validation() else "loss"

    def write_extras(self, run_dir, model, splits, metrics):
        """Write a task's extra files into a finished run folder; returns the metrics.json entries they add.

        ``metrics``: the run's figures so far (read, not changed). Returns a dict, ``{}`` for none.
        """
        return {}

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
        a dict or list of arrays for several). Returns one dict per sample (:func:`describe`).
        """
        return describe(self.outputs, predictions)

    # ------------------------------------------------------------ configs

    def config(self, preset=None, **overrides):
        """A validated config from a preset (or the defaults) plus nested ``overrides``."""
        from nnlab.core.config import choice

        if preset is not None:
            choice("--preset", preset, tuple(self.presets))
        from nnlab.core.config_sources import layered

        values = layered(self, {**self.presets.get(preset, {}), "preset": preset}, overrides)
        return self.config_from_dict(values)

    def default_model(self):
        """The model a run gets when its settings name none."""
        return self.config_class.model_fields["model"].default

    def expand_model(self, values):
        """``values`` with a named model (``"dnn"``) replaced by its spec (a dict), for changes inside it."""
        return values

    def fold_model(self, values):
        """``values`` with settings that belong to a model given as a spec moved into it (e.g. ``--dropout``)."""
        return values

    def config_from_dict(self, values):
        from nnlab.core.config import from_dict

        values = self.upgrade_settings(dict(values))
        if values.setdefault("task", self.name) != self.name:
            raise NnlabError(f"these settings are for the task {values['task']!r}, not {self.name!r}; "
                             f"use that task's command (e.g. `nnlab {values['task']} train`).")
        return from_dict(self.config_class, values).validate()

    def load_config(self, path, **overrides):
        """A config from a JSON file (e.g. a run's config.json) plus ``overrides``."""
        from nnlab.core.config import merge
        from nnlab.core.config_sources import read_settings

        return self.config_from_dict(merge(read_settings(path), overrides))

