"""Run configuration: the settings every task shares, declared once as pydantic models.

A task extends :class:`RunConfig` with its own fields (``nnlab.fashion.config.FashionConfig``
adds the model preset, dropout, the validation split, ...). Every constraint is declared
here, as data: types, ``Field`` bounds, ``Literal`` choices; the rules that tie two settings
together (momentum only for sgd and rmsprop, a monitor the task logs, ...) are model
validators. Defaults follow the seeds (RMSprop, batch 32, 5 epochs).

Where settings come from, weakest first: the defaults < a preset (a YAML file shipped in
``nnlab/presets/<task>/``) < a settings file (``--config``: YAML or JSON, e.g. a run's
config.json) < ``--set dotted.key=value`` < the named flags. A mistake anywhere is one
:class:`~nnlab.core.errors.NnlabError` naming the dotted key (and its flag), the value
received, what is allowed and, for a misspelt key, the closest valid one. The resolved
config is written to the run folder.

    >>> from nnlab.fashion.task import TASK
    >>> config = TASK.config("seeds-final", epochs=3)
    >>> config.optimizer.name, config.early_stopping.patience, config.epochs
    ('adam', 2, 3)
    >>> from nnlab.core.config_sources import parse_sets
    >>> TASK.config("dnn", **parse_sets(["optimizer.learning_rate=1e-3"])).optimizer.learning_rate
    0.001

Reading files and ``--set`` items is :mod:`nnlab.core.config_sources`; the error messages are
:mod:`nnlab.core.config_errors`.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nnlab.core.config_errors import at_least, choice, explain  # noqa: F401  (at_least, choice: used from here)
from nnlab.core.errors import NnlabError

OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adam")
SCHEDULES = ("constant", "cosine", "exponential", "step", "warmup_cosine")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Settings(BaseModel):
    """A section of settings: unknown keys and wrong types refused (an int is a float, never a bool an int);
    assigning a value checks it too, so code that changes a config cannot make it invalid."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)
    FLAGS: ClassVar[dict] = {}  # dotted key -> its command-line flag, named in error messages

    def __setattr__(self, name, value):
        try:
            super().__setattr__(name, value)
        except ValidationError as error:
            raise explain(error, type(self)) from None


class OptimizerConfig(Settings):
    name: Literal[OPTIMIZERS] = "rmsprop"  # Keras' default optimizer, as in the seeds
    learning_rate: Annotated[float, Field(gt=0)] | None = None  # None: Keras' default for that optimizer
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd and rmsprop only
    nesterov: bool = False  # sgd only
    # constant; cosine: CosineDecay to 0 over all steps; exponential: x decay_rate every decay_epochs, smoothly;
    # step: x decay_rate at every decay_epochs boundary; warmup_cosine: linear from 0 over warmup_epochs, then cosine
    schedule: Literal[SCHEDULES] = "constant"
    warmup_epochs: float = Field(0.0, ge=0)  # warmup_cosine only
    decay_rate: float = Field(0.1, gt=0, le=1)  # exponential and step: the factor per decay_epochs
    decay_epochs: float = Field(10.0, gt=0)  # exponential and step

    @model_validator(mode="after")
    def _applies(self):
        if self.momentum and self.name not in ("sgd", "rmsprop"):
            raise NnlabError(f"--momentum applies to sgd and rmsprop, not {self.name}; "
                             "drop --momentum or use --optimizer sgd.")
        if self.nesterov and self.name != "sgd":
            raise NnlabError(f"--nesterov applies to sgd only, not {self.name}.")
        if self.warmup_epochs and self.schedule != "warmup_cosine":
            raise NnlabError(f"optimizer.warmup_epochs applies to schedule warmup_cosine only, not "
                             f"{self.schedule}; drop it or set optimizer.schedule=warmup_cosine.")
        return self


class CheckpointConfig(Settings):
    enabled: bool = True  # keeps best.keras in the run folder
    monitor: str | None = None  # None: the task's default (val_loss with validation, loss without)
    save_best_only: bool = True
    save_weights_only: bool = False


class EarlyStoppingConfig(Settings):
    patience: Annotated[int, Field(ge=0)] | None = None  # None: no early stopping
    monitor: str | None = None  # None: as the checkpoint
    restore_best_weights: bool = True  # Keras defaults to False; the seeds' E10 uses True
    min_delta: float = Field(0.0, ge=0)


class ReduceLRConfig(Settings):
    """Keras' ReduceLROnPlateau: the learning rate times ``factor`` after ``patience`` epochs without progress."""

    monitor: str | None = None  # None: the checkpoint's monitor
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(5, ge=0)  # epochs
    min_delta: float = Field(1e-4, ge=0)
    min_lr: float = Field(0.0, ge=0)
    cooldown: int = Field(0, ge=0)  # epochs after a reduction before counting again


class RunConfig(Settings):
    """The settings of a training run that know nothing of the data or the model."""

    # The command-line flag of each dotted key that has one, for error messages (tasks extend it).
    FLAGS: ClassVar[dict] = {
        "name": "--name", "preset": "--preset", "model": "--model", "epochs": "--epochs",
        "batch_size": "--batch-size", "seed": "--seed", "verbose": "--verbose", "runs_dir": "--runs-dir",
        "optimizer.name": "--optimizer", "optimizer.learning_rate": "--lr", "loss_weights": "--loss-weights",
        "checkpoint.monitor": "--monitor", "early_stopping.monitor": "--monitor",
    }

    task: str = ""  # which system: the task package's name (set by each task's config class)
    name: str | None = Field(None, pattern=NAME_PATTERN, json_schema_extra={
        "x-allowed": "letters, digits, '.', '_' or '-'"})  # run folder name; None: <preset or model>-<timestamp>
    preset: str | None = None  # the preset these settings started from
    model: str = ""  # one of the task's model names
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    loss_weights: dict[str, Annotated[float, Field(ge=0)]] | None = None  # per output name; None: all 1
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)  # samples per step, as the seeds (1500 steps per epoch)
    steps_per_execution: int = Field(50, ge=1)  # batches per trip into Keras' JAX step loop; same results, faster
    scan_batches: int = Field(1, ge=1)  # JAX: batches per compiled step (one lax.scan); same updates and history
    eval_batch_size: int = Field(1000, ge=1)  # validation/test only
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    reduce_lr: ReduceLRConfig | None = None  # None: off; only with optimizer.schedule constant
    seed: int = 42  # weights, dropout and shuffling; same seed + machine -> same history
    verbose: Literal[0, 1, 2] = Field(1, json_schema_extra={"x-allowed": "0, 1 or 2"})  # 0 silent, 1 bar, 2 lines
    save_format: Literal["keras", "h5"] = "keras"  # whole-model files: keras (.keras) or h5 (legacy)
    runs_dir: str = "runs"

    def has_validation(self):
        """Whether runs with these settings have a validation split (tasks override)."""
        return True

    @model_validator(mode="after")
    def _fits_the_task(self):
        """The rules that need the task: its models, presets, outputs and the names Keras logs."""
        from nnlab.core.task import get_task

        task = get_task(self.task)
        choice("--model", self.model, tuple(task.models))
        if self.preset is not None:
            choice("--preset", self.preset, tuple(task.presets))
        opt = self.optimizer
        if opt.schedule == "warmup_cosine" and not opt.warmup_epochs < self.epochs:
            raise NnlabError(f"optimizer.warmup_epochs must be less than --epochs ({self.epochs}) to leave epochs "
                             f"for the cosine decay, got {opt.warmup_epochs}.")
        if self.reduce_lr is not None and opt.schedule != "constant":  # Keras refuses to set a scheduled rate
            raise NnlabError(f"reduce_lr needs optimizer.schedule constant, got {opt.schedule!r}: a schedule sets "
                             "the learning rate itself. Set optimizer.schedule=constant or drop reduce_lr "
                             "(reduce_lr=null).")
        outputs = [output.name for output in task.outputs]
        if self.loss_weights and len(outputs) == 1:  # compile_args has nothing to weigh it against
            raise NnlabError(f"--loss-weights weighs the losses of several outputs, but the {task.name} task has "
                             f"one ({outputs[0]}); drop --loss-weights.")
        for key in self.loss_weights or {}:
            choice("--loss-weights: output", key, tuple(outputs))
        logged = task.log_names(validation=self.has_validation())
        monitors = (("--monitor (checkpoint monitor)", "--monitor ", self.checkpoint.monitor),
                    ("--monitor (early-stopping monitor)", "--monitor ", self.early_stopping.monitor),
                    ("reduce_lr.monitor", "reduce_lr.monitor=", self.reduce_lr and self.reduce_lr.monitor))
        for label, setting, monitor in monitors:
            if monitor is None:
                continue
            if monitor.startswith("val_") and not self.has_validation():
                raise NnlabError(f"{setting}{monitor} needs validation data, but this run has none; "
                                 f"use {setting}{monitor[4:]} or keep a validation split.")
            choice(label, monitor, logged)
        return self

    def validate(self):
        """This config, checked again as a whole (every value and rule); NnlabError names the first bad one."""
        return from_dict(type(self), to_dict(self))

    def resolved(self, partial=False):
        """A validated copy with every automatic value filled in (as written to config.json)."""
        from nnlab.core.task import get_task

        values = to_dict(self)
        checkpoint, stopping = values["checkpoint"], values["early_stopping"]
        checkpoint["monitor"] = checkpoint["monitor"] or get_task(self.task).default_monitor(self)
        stopping["monitor"] = stopping["monitor"] or checkpoint["monitor"]
        if values["reduce_lr"] is not None:
            values["reduce_lr"]["monitor"] = values["reduce_lr"]["monitor"] or checkpoint["monitor"]
        return from_dict(type(self), values, partial)


# ---------------------------------------------------------------- dicts <-> configs


def to_dict(config):
    """The settings as plain nested dicts (what config.json holds)."""
    return config.model_dump()


def from_dict(cls, values, partial=False):
    """A validated ``cls`` config from a (possibly nested, possibly partial) dict; NnlabError if anything is wrong.

    ``partial``: settings to look at, not to run (a ticket config without its file, for ``nnlab config show``).
    """
    if not isinstance(values, dict):
        raise NnlabError(f"config must be a mapping of settings, got {values!r}.")
    try:
        return cls.model_validate(values, context={"partial": partial})
    except ValidationError as error:
        raise explain(error, cls) from None


def merge(base, overrides):
    """Deep-merge ``overrides`` (nested dicts) into the dict ``base``; loss_weights are replaced whole."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "loss_weights":
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_json(path):
    """The settings in a YAML or JSON file (the name Task.load_config knows; see config_sources.read_settings)."""
    from nnlab.core.config_sources import read_settings

    return read_settings(path)
