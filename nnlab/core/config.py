"""Run configuration: the settings every task shares, in one typed dataclass, and the typed-config machinery.

A task extends :class:`RunConfig` with its own fields (``nnlab.fashion.config.FashionConfig``
adds the model preset, dropout, the validation split, ...). Defaults follow the seeds
(RMSprop, batch 32, 5 epochs). Presets, a JSON file and command-line flags override
them, in that order; unknown keys and wrong types are refused with a message that
names the value and the fix. The resolved config is written to the run folder.

    >>> from nnlab.fashion.task import TASK
    >>> config = TASK.config("seeds-final", epochs=3)
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

from nnlab.core.errors import NnlabError

OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adam")
SCHEDULES = ("constant", "cosine", "exponential", "step", "warmup_cosine")  # built by nnlab.core.schedules


@dataclasses.dataclass
class OptimizerConfig:
    name: str = "rmsprop"  # Keras' default optimizer, as in the seeds
    learning_rate: float | None = None  # None: Keras' default for that optimizer
    momentum: float = 0.0  # sgd and rmsprop only
    nesterov: bool = False  # sgd only
    schedule: str = "constant"  # constant, or cosine: CosineDecay from learning_rate to 0 over all steps
    # (more in nnlab.core.schedules): exponential, step, warmup_cosine
    warmup_epochs: float = 0.0  # warmup_cosine: linear from 0 to learning_rate over these epochs
    decay_rate: float = 0.1  # exponential / step: the factor per decay_epochs (smooth / at each boundary)
    decay_epochs: float = 10.0  # exponential / step


@dataclasses.dataclass
class CheckpointConfig:
    enabled: bool = True  # keeps best.keras in the run folder
    monitor: str | None = None  # None: the task's default (val_loss with validation, loss without)
    save_best_only: bool = True
    save_weights_only: bool = False


@dataclasses.dataclass
class EarlyStoppingConfig:
    patience: int | None = None  # None: no early stopping
    monitor: str | None = None  # None: as the checkpoint
    restore_best_weights: bool = True  # Keras defaults to False; the seeds' E10 uses True
    min_delta: float = 0.0


@dataclasses.dataclass
class ReduceLRConfig:
    """Keras' ReduceLROnPlateau: the learning rate times ``factor`` after ``patience`` epochs without progress."""

    monitor: str | None = None  # None: as the checkpoint
    factor: float = 0.1  # 0 < factor < 1
    patience: int = 5  # epochs without an improvement of min_delta before lowering
    min_delta: float = 1e-4
    min_lr: float = 0.0  # never below this
    cooldown: int = 0  # epochs after a reduction before counting again


@dataclasses.dataclass
class TrackingConfig:
    """MLflow tracking (nnlab.core.tracking): off unless ``uri`` or ``$MLFLOW_TRACKING_URI`` names a store."""

    uri: str | None = None  # e.g. sqlite:///mlflow.db or http://host:5000; None: $MLFLOW_TRACKING_URI, else off
    experiment: str | None = None  # None: $MLFLOW_EXPERIMENT_NAME, else the task's name


@dataclasses.dataclass
class RunConfig:
    """The settings of a training run that know nothing of the data or the model."""

    task: str = ""  # which system: the task package's name (set by each task's config class)
    name: str | None = None  # run folder name; None: <preset or model>-<timestamp>
    preset: str | None = None  # the preset these settings started from (recorded, not applied)
    model: str = ""  # one of the task's model names
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    loss_weights: dict[str, float] | None = None  # per output name, for multi-output models; None: all 1
    epochs: int = 5
    batch_size: int = 32  # samples per step, as the seeds (1500 steps per epoch)
    steps_per_execution: int = 50  # batches per trip into Keras' JAX step loop; same results, ~1.6x faster
    scan_batches: int = 1  # JAX: batches per compiled step (one lax.scan); same updates and history, less overhead
    eval_batch_size: int = 1000  # validation/test only
    checkpoint: CheckpointConfig = dataclasses.field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    reduce_lr: ReduceLRConfig | None = None  # None: off; needs optimizer.schedule constant
    seed: int = 42  # weights, dropout and shuffling; same seed + machine -> same history
    verbose: int = 1  # 0 silent, 1 progress bar, 2 one line per epoch (as Keras' fit)
    save_format: str = "keras"  # whole-model files: keras (.keras) or h5 (legacy, as the older seed)
    runs_dir: str = "runs"
    tensorboard: bool = False  # event files under RUN/tensorboard/ (nnlab.core.tensorboard)
    tracking: TrackingConfig = dataclasses.field(default_factory=TrackingConfig)  # MLflow

    def has_validation(self):
        """Whether runs with these settings have a validation split (tasks override)."""
        return True

    def validate(self):
        """Check every value; raise NnlabError naming the first bad one and the fix. Returns self."""
        from nnlab.core.task import get_task

        check_types(self)
        task = get_task(self.task)
        choice("--model", self.model, task.models)
        if self.preset is not None:
            choice("--preset", self.preset, tuple(task.presets))
        choice("--optimizer", self.optimizer.name, OPTIMIZERS)
        choice("--schedule", self.optimizer.schedule, SCHEDULES)
        choice("--save-format", self.save_format, ("keras", "h5"))
        at_least("--epochs", self.epochs, 1)
        at_least("--batch-size", self.batch_size, 1)
        at_least("--eval-batch-size", self.eval_batch_size, 1)
        at_least("--steps-per-execution", self.steps_per_execution, 1)
        at_least("--scan-batches", self.scan_batches, 1)
        if self.verbose not in (0, 1, 2):
            raise NnlabError(f"--verbose must be 0, 1 or 2, got {self.verbose}.")
        opt = self.optimizer
        if opt.learning_rate is not None and not opt.learning_rate > 0:
            raise NnlabError(f"--lr must be > 0, got {opt.learning_rate}.")
        if not 0 <= opt.momentum < 1:
            raise NnlabError(f"--momentum must be in [0, 1), got {opt.momentum}.")
        if opt.momentum and opt.name not in ("sgd", "rmsprop"):
            raise NnlabError(f"--momentum applies to sgd and rmsprop, not {opt.name}; "
                             "drop --momentum or use --optimizer sgd.")
        if opt.nesterov and opt.name != "sgd":
            raise NnlabError(f"--nesterov applies to sgd only, not {opt.name}.")
        if self.early_stopping.patience is not None:
            at_least("--early-stopping", self.early_stopping.patience, 0)
        self._validate_learning_rate()
        if self.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
            raise NnlabError(f"--name must be letters, digits, '.', '_' or '-', got {self.name!r}.")
        outputs = [output.name for output in task.outputs]
        if self.loss_weights and len(outputs) == 1:  # compile_args has nothing to weigh it against
            raise NnlabError(f"--loss-weights weighs the losses of several outputs, but the {task.name} task has "
                             f"one ({outputs[0]}); drop --loss-weights.")
        for key, weight in (self.loss_weights or {}).items():
            choice("--loss-weights: output", key, tuple(outputs))
            if not weight >= 0:
                raise NnlabError(f"--loss-weights {key}={weight}: a loss weight must be >= 0.")
        logged = task.log_names(validation=self.has_validation())
        for flag, monitor in (("checkpoint monitor", self.checkpoint.monitor),
                              ("early-stopping monitor", self.early_stopping.monitor),
                              ("reduce_lr.monitor", self.reduce_lr and self.reduce_lr.monitor)):
            if monitor is None:
                continue
            if monitor.startswith("val_") and not self.has_validation():
                raise NnlabError(f"--monitor {monitor} needs validation data, but this run has none; "
                                 f"use --monitor {monitor[4:]} or keep a validation split.")
            choice(f"--monitor ({flag})", monitor, logged)
        return self

    def _validate_learning_rate(self):
        """optimizer.warmup_epochs / decay_rate / decay_epochs and reduce_lr (nnlab.core.schedules uses them)."""
        opt = self.optimizer
        if not opt.warmup_epochs >= 0:
            raise NnlabError(f"optimizer.warmup_epochs must be >= 0, got {opt.warmup_epochs}.")
        if opt.warmup_epochs and opt.schedule != "warmup_cosine":
            raise NnlabError(f"optimizer.warmup_epochs applies to schedule warmup_cosine only, not "
                             f"{opt.schedule}; drop it or set optimizer.schedule=warmup_cosine.")
        if opt.schedule == "warmup_cosine" and not opt.warmup_epochs < self.epochs:
            raise NnlabError(f"optimizer.warmup_epochs must be less than --epochs ({self.epochs}) to leave epochs "
                             f"for the cosine decay, got {opt.warmup_epochs}.")
        if not 0 < opt.decay_rate <= 1:
            raise NnlabError(f"optimizer.decay_rate must be in (0, 1], got {opt.decay_rate}.")
        if not opt.decay_epochs > 0:
            raise NnlabError(f"optimizer.decay_epochs must be > 0, got {opt.decay_epochs}.")
        reduce = self.reduce_lr
        if reduce is None:
            return
        if opt.schedule != "constant":  # ReduceLROnPlateau sets the rate, which Keras refuses under a schedule
            raise NnlabError(f"reduce_lr needs optimizer.schedule constant, got {opt.schedule!r}: a schedule sets "
                             "the learning rate itself. Set optimizer.schedule=constant or drop reduce_lr.")
        if not 0 < reduce.factor < 1:
            raise NnlabError(f"reduce_lr.factor must be in (0, 1), got {reduce.factor}.")
        at_least("reduce_lr.patience", reduce.patience, 0)
        at_least("reduce_lr.cooldown", reduce.cooldown, 0)
        for key in ("min_delta", "min_lr"):
            if not getattr(reduce, key) >= 0:
                raise NnlabError(f"reduce_lr.{key} must be >= 0, got {getattr(reduce, key)}.")

    def resolved(self):
        """A validated copy with every automatic value filled in (as written to config.json)."""
        from nnlab.core.task import get_task

        config = from_dict(type(self), to_dict(self))
        default = get_task(config.task).default_monitor(config)
        config.checkpoint.monitor = config.checkpoint.monitor or default
        config.early_stopping.monitor = config.early_stopping.monitor or config.checkpoint.monitor
        if config.reduce_lr is not None:
            config.reduce_lr.monitor = config.reduce_lr.monitor or config.checkpoint.monitor
        return config.validate()


# ---------------------------------------------------------------- checks with messages users can act on


def choice(flag, value, choices):
    """Refuse ``value`` unless it is one of ``choices``; suggests the closest one."""
    if value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise NnlabError(f"{flag} must be one of {', '.join(map(str, choices))}; got {value!r}.{hint}")


def at_least(flag, value, minimum):
    """Refuse anything but an integer >= minimum (bools too), naming the flag and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NnlabError(f"{flag} must be an integer >= {minimum}, got {value!r}.")


def _nested(annotation):
    """The dataclass of a field typed ``Settings`` or ``Settings | None`` (reduce_lr), else None."""
    return next((kind for kind in _allowed_types(annotation) if dataclasses.is_dataclass(kind)), None)


def _allowed_types(annotation):
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(typing.get_args(annotation))
    return (annotation,)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fits(value, kind):
    if value is None:
        return kind is type(None)
    if typing.get_origin(kind) is dict:  # dict[str, float]: names -> numbers
        return isinstance(value, dict) and all(isinstance(k, str) and _is_number(v) for k, v in value.items())
    if kind is float:
        return _is_number(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(kind):
        return isinstance(value, kind)
    return kind in (str, bool) and isinstance(value, kind)


def _type_name(kind):
    if kind is type(None):
        return "null"
    if typing.get_origin(kind) is dict:
        return "a mapping of names to numbers"
    if dataclasses.is_dataclass(kind):
        return "a mapping of settings"
    return kind.__name__


def check_types(obj, prefix=""):
    """Refuse a field whose value does not have its declared type, naming the key and the value."""
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        value, annotation = getattr(obj, field.name), hints[field.name]
        if _nested(annotation) and isinstance(value, _nested(annotation)):
            check_types(value, f"{prefix}{field.name}.")
            continue
        allowed = _allowed_types(annotation)
        if not any(_fits(value, kind) for kind in allowed):
            names = " or ".join(_type_name(kind) for kind in allowed)
            raise NnlabError(f"{prefix}{field.name} must be {names}, got {value!r} ({type(value).__name__}).")


def to_dict(config):
    return dataclasses.asdict(config)


def _build(cls, values, prefix=""):
    if not isinstance(values, dict):
        raise NnlabError(f"{prefix.rstrip('.') or 'config'} must be a mapping of settings, got {values!r}.")
    hints = typing.get_type_hints(cls)
    fields = [field.name for field in dataclasses.fields(cls)]  # declaration order, as documented
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" Did you mean {prefix + close[0]!r}?" if close else f" Known keys: {', '.join(fields)}."
            raise NnlabError(f"Unknown config key {prefix + key!r}.{hint}")
        field_type = hints[key]
        if dataclasses.is_dataclass(field_type) or (_nested(field_type) and value is not None):
            value = _build(_nested(field_type), value, f"{prefix}{key}.")
        elif field_type in (float, float | None) and _is_number(value):
            value = float(value)
        kwargs[key] = value
    return cls(**kwargs)


def from_dict(cls, values):
    """A ``cls`` config from a (possibly nested, possibly partial) dict; refuses unknown keys and wrong types."""
    config = _build(cls, values)
    check_types(config)
    return config


def merge(base, overrides):
    """Deep-merge ``overrides`` (nested dicts) into the dict ``base``."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "loss_weights":
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_json(path):
    """The settings in a JSON file, as a dict; a missing or broken file is a user mistake."""
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NnlabError(f"Config file {path} does not exist.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise NnlabError(f"Config file {path} is not valid JSON: {error}.") from None
    if not isinstance(values, dict):
        raise NnlabError(f"Config file {path} must hold a JSON object of settings, got {type(values).__name__}.")
    return values
