"""Run configuration: every setting of a training run in one typed dataclass.

Defaults follow the seeds (RMSprop, batch 32, 5 epochs, the 80/20 split with
``random_state=42``). Presets, a JSON file and command-line flags override them,
in that order; unknown keys and wrong types are refused with a message that
names the value and the fix. The resolved config is written to the run folder.

    >>> from nnlab.config import RunConfig, from_preset
    >>> config = from_preset("seeds-final", epochs=3)
    >>> config.optimizer.name, config.early_stopping.patience, config.epochs
    ('adam', 2, 3)
"""

import dataclasses
import difflib
import json
import re
import types
import typing
from pathlib import Path

from nnlab.errors import NnlabError

OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adam")
SCHEDULES = ("constant", "cosine")
APIS = ("sequential", "functional", "subclass")
VALIDATIONS = ("seeds", "stratified", "none")
MODELS = ("logreg", "dnn-sigmoid", "dnn", "mnist-512", "cnn")


@dataclasses.dataclass
class OptimizerConfig:
    name: str = "rmsprop"  # Keras' default optimizer, as in the seeds
    learning_rate: float | None = None  # None: Keras' default for that optimizer
    momentum: float = 0.0  # sgd and rmsprop only
    nesterov: bool = False  # sgd only
    schedule: str = "constant"  # constant, or cosine: CosineDecay from learning_rate to 0 over all steps


@dataclasses.dataclass
class CheckpointConfig:
    enabled: bool = True  # keeps best.keras in the run folder
    monitor: str | None = None  # None: val_loss with validation, loss without
    save_best_only: bool = True
    save_weights_only: bool = False


@dataclasses.dataclass
class EarlyStoppingConfig:
    patience: int | None = None  # None: no early stopping
    monitor: str | None = None  # None: as the checkpoint
    restore_best_weights: bool = True  # Keras defaults to False; the seeds' E10 uses True
    min_delta: float = 0.0


@dataclasses.dataclass
class RunConfig:
    name: str | None = None  # run folder name; None: <preset or model>-<timestamp>
    preset: str | None = None  # the preset these settings started from (recorded, not applied)
    model: str = "dnn"  # one of MODELS
    api: str = "sequential"  # how the model is built: sequential, functional or subclass
    dropout: float | None = None  # None: the preset's own (0 for dnn, 0.5 for mnist-512)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    loss: str = "sparse_categorical_crossentropy"
    epochs: int = 5
    batch_size: int = 32  # samples per step, as the seeds (1500 steps per epoch)
    steps_per_execution: int = 50  # batches per trip into Keras' JAX step loop; same results, ~1.6x faster
    eval_batch_size: int = 1000  # validation/test only; divides 12,000 and 10,000, so one XLA compile
    validation: str = "seeds"  # seeds: train_test_split(0.2, random_state=42); stratified; none
    checkpoint: CheckpointConfig = dataclasses.field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    seed: int = 42  # weights, dropout and shuffling; same seed + machine -> same history
    verbose: int = 1  # 0 silent, 1 progress bar, 2 one line per epoch (as Keras' fit)
    limit: int | None = None  # keep only the first N samples of each split (quick runs)
    save_format: str = "keras"  # whole-model files: keras (.keras) or h5 (legacy, as the older seed)
    data_dir: str | None = None
    runs_dir: str = "runs"

    def validate(self):
        """Check every value; raise NnlabError naming the first bad one and the fix."""
        _check_types(self, "")
        _choice("--model", self.model, MODELS)
        if self.preset is not None:
            _choice("--preset", self.preset, tuple(PRESETS))
        _choice("--api", self.api, APIS)
        _choice("--optimizer", self.optimizer.name, OPTIMIZERS)
        _choice("--schedule", self.optimizer.schedule, SCHEDULES)
        _choice("--validation", self.validation, VALIDATIONS)
        _choice("--save-format", self.save_format, ("keras", "h5"))
        if self.save_format == "h5" and self.api == "subclass":
            raise NnlabError("--save-format h5 cannot hold a subclassed model (Keras' legacy format only restores "
                             "Sequential and Functional models); use --save-format keras or --api functional.")
        at_least("--epochs", self.epochs, 1)
        at_least("--batch-size", self.batch_size, 1)
        at_least("--eval-batch-size", self.eval_batch_size, 1)
        at_least("--steps-per-execution", self.steps_per_execution, 1)
        if self.limit is not None:
            at_least("--limit", self.limit, 1)
        if self.verbose not in (0, 1, 2):
            raise NnlabError(f"--verbose must be 0, 1 or 2, got {self.verbose}.")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise NnlabError(f"--dropout must be in [0, 1), got {self.dropout}.")
        if self.optimizer.learning_rate is not None and not self.optimizer.learning_rate > 0:
            raise NnlabError(f"--lr must be > 0, got {self.optimizer.learning_rate}.")
        if not 0 <= self.optimizer.momentum < 1:
            raise NnlabError(f"--momentum must be in [0, 1), got {self.optimizer.momentum}.")
        if self.optimizer.momentum and self.optimizer.name not in ("sgd", "rmsprop"):
            raise NnlabError(f"--momentum applies to sgd and rmsprop, not {self.optimizer.name}; "
                             "drop --momentum or use --optimizer sgd.")
        if self.optimizer.nesterov and self.optimizer.name != "sgd":
            raise NnlabError(f"--nesterov applies to sgd only, not {self.optimizer.name}.")
        if self.early_stopping.patience is not None:
            at_least("--early-stopping", self.early_stopping.patience, 0)
        if self.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
            raise NnlabError(f"--name must be letters, digits, '.', '_' or '-', got {self.name!r}.")
        for flag, monitor in (("checkpoint monitor", self.checkpoint.monitor),
                              ("early-stopping monitor", self.early_stopping.monitor)):
            if monitor is None:
                continue
            _choice(f"--monitor ({flag})", monitor, ("loss", "accuracy", "val_loss", "val_accuracy"))
            if monitor.startswith("val_") and self.validation == "none":
                raise NnlabError(f"--monitor {monitor} needs validation data, but --validation is none; "
                                 f"use --monitor {monitor[4:]} or --validation seeds.")
        return self

    def resolved(self):
        """A validated copy with every automatic value filled in (as written to config.json)."""
        config = from_dict(to_dict(self))
        default_monitor = "loss" if config.validation == "none" else "val_loss"
        config.checkpoint.monitor = config.checkpoint.monitor or default_monitor
        config.early_stopping.monitor = config.early_stopping.monitor or config.checkpoint.monitor
        return config.validate()


def _choice(flag, value, choices):
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise NnlabError(f"{flag} must be one of {', '.join(choices)}; got {value!r}.{hint}")


def at_least(flag, value, minimum):
    """Refuse anything but an integer >= minimum (bools too), naming the flag and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NnlabError(f"{flag} must be an integer >= {minimum}, got {value!r}.")


def _allowed_types(annotation):
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(typing.get_args(annotation))
    return (annotation,)


def _check_types(obj, prefix):
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        allowed = _allowed_types(field.type)
        if dataclasses.is_dataclass(field.type):
            _check_types(value, f"{prefix}{field.name}.")
            continue
        ok = any(
            (value is None and kind is type(None))
            or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
            or (kind is int and isinstance(value, int) and not isinstance(value, bool))
            or (kind in (str, bool) and isinstance(value, kind))
            for kind in allowed
        )
        if not ok:
            names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in allowed)
            raise NnlabError(f"{prefix}{field.name} must be {names}, got {value!r} ({type(value).__name__}).")


def to_dict(config):
    return dataclasses.asdict(config)


def _build(cls, values, prefix=""):
    if not isinstance(values, dict):
        raise NnlabError(f"{prefix.rstrip('.') or 'config'} must be a mapping of settings, got {values!r}.")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" Did you mean {prefix + close[0]!r}?" if close else f" Known keys: {', '.join(fields)}."
            raise NnlabError(f"Unknown config key {prefix + key!r}.{hint}")
        field_type = fields[key].type
        if dataclasses.is_dataclass(field_type):
            value = _build(field_type, value, f"{prefix}{key}.")
        elif field_type in (float, float | None) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        kwargs[key] = value
    return cls(**kwargs)


def from_dict(values):
    """A RunConfig from a (possibly nested, possibly partial) dict; refuses unknown keys."""
    config = _build(RunConfig, values)
    _check_types(config, "")
    return config


def merge(base, overrides):
    """Deep-merge ``overrides`` (nested dicts) into the dict ``base``."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Named run presets. The seeds' final pipeline (E10) is the main job.
PRESETS = {
    "logreg": {"model": "logreg"},
    "dnn-sigmoid": {"model": "dnn-sigmoid"},
    "dnn": {"model": "dnn"},
    "dropout": {"model": "dnn", "dropout": 0.3, "optimizer": {"name": "adam"}, "epochs": 20},
    "seeds-final": {
        "model": "dnn", "dropout": 0.3, "optimizer": {"name": "adam"}, "epochs": 20,
        "checkpoint": {"enabled": True, "save_best_only": True},
        "early_stopping": {"patience": 2, "restore_best_weights": True},
    },
    "mnist-512": {
        "model": "mnist-512", "optimizer": {"name": "rmsprop"}, "epochs": 10,
        "checkpoint": {"monitor": "val_loss"},
        "early_stopping": {"monitor": "val_accuracy", "patience": 2},
    },
    "cnn": {
        "model": "cnn", "optimizer": {"name": "adam", "learning_rate": 2e-3, "schedule": "cosine"},
        "epochs": 12, "batch_size": 128,
    },
}


def from_preset(preset=None, **overrides):
    """A validated RunConfig from a preset (or the defaults) plus nested ``overrides``."""
    if preset is not None:
        _choice("--preset", preset, tuple(PRESETS))
    values = merge({**PRESETS.get(preset, {}), "preset": preset}, overrides)
    return from_dict(values).validate()


def load_json(path, **overrides):
    """A RunConfig from a JSON file (e.g. a run's config.json) plus ``overrides``."""
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NnlabError(f"Config file {path} does not exist.") from None
    except json.JSONDecodeError as error:
        raise NnlabError(f"Config file {path} is not valid JSON: {error}.") from None
    return from_dict(merge(values, overrides)).validate()
