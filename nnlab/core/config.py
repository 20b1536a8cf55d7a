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
    >>> TASK.config("dnn", **parse_sets(["optimizer.learning_rate=1e-3"])).optimizer.learning_rate
    0.001
"""

import difflib
import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

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
        if self.reduce_lr is not None and self.optimizer.schedule != "constant":
            raise NnlabError(f"reduce_lr sets the optimizer's learning rate, which schedule "
                             f"{self.optimizer.schedule!r} already sets; use optimizer.schedule=constant or "
                             "reduce_lr=null.")
        outputs = [output.name for output in task.outputs]
        if self.loss_weights and len(outputs) == 1:  # compile_args has nothing to weigh it against
            raise NnlabError(f"--loss-weights weighs the losses of several outputs, but the {task.name} task has "
                             f"one ({outputs[0]}); drop --loss-weights.")
        for key in self.loss_weights or {}:
            choice("--loss-weights: output", key, tuple(outputs))
        logged = task.log_names(validation=self.has_validation())
        monitors = (("checkpoint monitor", self.checkpoint.monitor), ("early-stopping monitor",
                    self.early_stopping.monitor), ("reduce_lr monitor", self.reduce_lr and self.reduce_lr.monitor))
        for flag, monitor in monitors:
            if monitor is None:
                continue
            if monitor.startswith("val_") and not self.has_validation():
                raise NnlabError(f"--monitor {monitor} needs validation data, but this run has none; "
                                 f"use --monitor {monitor[4:]} or keep a validation split.")
            choice(f"--monitor ({flag})", monitor, logged)
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


# ---------------------------------------------------------------- checks with messages users can act on


def choice(flag, value, choices):
    """Refuse ``value`` unless it is one of ``choices``; suggests the closest one."""
    if value not in choices:
        raise NnlabError(f"{flag} must be one of {', '.join(map(str, choices))}; got {value!r}.{_hint(value, choices)}")


def _hint(value, choices):
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def at_least(flag, value, minimum):
    """Refuse anything but an integer >= minimum (bools too), naming the flag and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NnlabError(f"{flag} must be an integer >= {minimum}, got {value!r}.")


@functools.cache
def _schema(cls):
    return cls.model_json_schema() if hasattr(cls, "model_json_schema") else TypeAdapter(cls).json_schema()


def _field_schema(cls, loc):
    """The JSON schema of the setting at ``loc`` (a path of keys) in ``cls``'s schema; None where there is none."""
    root = _schema(cls)
    node = root
    for key in loc:
        node = _deref(root, node)
        if "anyOf" in node:  # X or null: the X
            node = next((_deref(root, n) for n in node["anyOf"] if n.get("type") != "null"), node)
        if key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    node = _deref(root, node)
    if "anyOf" in node:  # the section a "X or null" names, spelt out
        node = {**node, "anyOf": [_deref(root, n) for n in node["anyOf"]]}
    return node


def _deref(root, node):
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _bounds(node):
    low = (f"[{node['minimum']}" if "minimum" in node else f"({node['exclusiveMinimum']}"
           if "exclusiveMinimum" in node else None)
    high = (f"{node['maximum']}]" if "maximum" in node else f"{node['exclusiveMaximum']})"
            if "exclusiveMaximum" in node else None)
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1:]}"
    if high:
        return f"{'<=' if high[-1] == ']' else '<'} {high[:-1]}"
    return ""


def allowed(node, typed=True):
    """What a setting's schema allows, in words: ``an integer >= 1``, ``in [0, 1)``, ``one of a, b`` ...

    ``typed=False`` leaves out the type where only the bounds were broken (``--dropout must be in [0, 1)``).
    """
    if node is None:
        return "a valid value"
    if "x-allowed" in node:
        return node["x-allowed"]
    if "anyOf" in node:
        kinds = [n for n in node["anyOf"] if n.get("type") != "null"]
        text = " or ".join(allowed(n, typed) for n in kinds)
        # "or null" only where the type was wrong: a number out of bounds was not meant to be null
        return f"{text} or null" if typed and len(kinds) < len(node["anyOf"]) else text
    if "enum" in node:
        return "one of " + ", ".join(map(str, node["enum"]))
    if "const" in node:
        return repr(node["const"])
    kind, bounds = node.get("type"), _bounds(node)
    if kind == "integer":
        return f"an integer {bounds}".strip()
    if kind == "number":
        return bounds if bounds and not typed else f"a number {bounds}".strip()
    if kind == "boolean":
        return "true or false"
    if kind == "string":
        return "text"
    if kind == "object":
        if "properties" in node or "title" in node and "additionalProperties" not in node:
            return "a mapping of settings"
        return "a mapping of names to numbers"
    if kind == "array":
        return "a list"
    return "a valid value"


def dotted_keys(cls, sections=False):
    """Every setting's dotted name in ``cls``: ``epochs``, ``optimizer.learning_rate``, ``reduce_lr.factor`` ...;
    with ``sections``, the sections' own names too (``optimizer``)."""
    root = _schema(cls)

    def walk(node, prefix):
        node = _deref(root, node)
        if "anyOf" in node:
            named = [_deref(root, n) for n in node["anyOf"] if "properties" in _deref(root, n)]
            node = named[0] if named else node
        for key, child in node.get("properties", {}).items():
            inner = _deref(root, child)
            if "properties" in inner or any("properties" in _deref(root, n) for n in inner.get("anyOf", ())):
                if sections:
                    yield f"{prefix}{key}"
                yield from walk(inner, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    return list(walk(root, ""))


def closest_key(cls, key):
    """The valid dotted key a misspelt or misplaced ``key`` most likely meant, or None."""
    keys = [name for name in dotted_keys(cls, sections=True) if not key.startswith(name + ".")]  # not its own section
    flags = {flag.lstrip("-").replace("-", "_"): name for name, flag in getattr(cls, "FLAGS", {}).items()}
    leaf = key.rsplit(".", 1)[-1]
    if leaf in flags and flags[leaf] != key:  # a flag's name (lr, patience) for its setting
        return flags[leaf]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.75)
    if close:
        return close[0]
    leaves = {name.rsplit(".", 1)[-1]: name for name in reversed(keys)}  # a setting put in the wrong section
    close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.75)
    return leaves[close[0]] if close else None


def explain(error, cls, name_keys=True):
    """One NnlabError for a pydantic ValidationError of ``cls``: the dotted key (and its flag), the value
    received, what is allowed, and for a misspelt key the closest valid one. ``name_keys=False``: the flag
    alone (settings that only flags set, as the server's)."""
    problems = error.errors(include_url=False)
    first = problems[0]
    more = f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''} after this one.)" \
        if len(problems) > 1 else ""
    if isinstance((first.get("ctx") or {}).get("error"), NnlabError):  # a rule of a model validator: its message
        return NnlabError(str(first["ctx"]["error"]) + more)
    loc = [str(part) for part in first["loc"] if not str(part).startswith(("function-", "nullable["))]
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        close = closest_key(cls, key)
        if close:
            hint = f" Did you mean {close!r}?"
        else:
            section = _field_schema(cls, loc[:-1]) or {}
            hint = f" Known keys: {', '.join(section.get('properties', {}))}."
        return NnlabError(f"Unknown config key {key!r}.{hint}{more}")
    value = first["input"]
    if not loc:
        return NnlabError(f"config must be a mapping of settings, got {value!r}.{more}")
    node = _field_schema(cls, loc)
    typed = not first["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
    label = getattr(cls, "FLAGS", {}).get(key)
    named = f" (setting {key})" if label and name_keys else ""
    text = allowed(node, typed)
    if text.startswith("one of ") and "x-allowed" not in (node or {}):
        hint = _hint(value, (node or {}).get("enum", ()))
        return NnlabError(f"{label or key} must be {text}; got {value!r}.{hint}{named}{more}")
    return NnlabError(f"{label or key} must be {text}, got {value!r}{named}.{more}")


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


# ---------------------------------------------------------------- YAML and JSON


class _Loader(yaml.SafeLoader):
    """YAML as a user means it: ``1e-3`` is a number (PyYAML's YAML 1.1 reads it as text without a dot)."""


class _Dumper(yaml.SafeDumper):
    """Writes what :class:`_Loader` reads back the same (quotes the text ``1e5``)."""


_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
for _kind in (_Loader, _Dumper):
    _kind.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(text):
    """Parse YAML text safely (no Python objects), with ``1e-3`` a float."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader is a SafeLoader)


def dump_yaml(values, flow=False):
    """Settings as YAML, in their declared order (``flow``: on one line, as ``--set`` takes a value)."""
    return yaml.dump(values, Dumper=_Dumper, sort_keys=False, default_flow_style=flow, allow_unicode=True,
                     width=10**6 if flow else 80)


def read_settings(path):
    """The settings in a YAML (.yaml, .yml) or JSON file, as a dict; a missing or broken file is a user mistake."""
    path = Path(path)
    kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
    try:
        text = path.read_text()
        values = load_yaml(text) if kind == "YAML" else json.loads(text)
    except FileNotFoundError:
        raise NnlabError(f"Config file {path} does not exist.") from None
    except IsADirectoryError:
        raise NnlabError(f"Config file {path} is a folder; give a .yaml or .json file (a run's config.json).") \
            from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        detail = " ".join(str(error).split())
        raise NnlabError(f"Config file {path} is not valid {kind}: {detail}.") from None
    if not isinstance(values, dict):
        raise NnlabError(f"Config file {path} must hold a {kind} mapping of settings, got {type(values).__name__}.")
    return values


read_json = read_settings  # the name Task.load_config knows


def parse_set(item):
    """``"optimizer.learning_rate=1e-3"`` -> ``{"optimizer": {"learning_rate": 0.001}}``; the value is YAML
    (``[300, 100]``, ``true``, ``null``, ``{factor: 0.5}``)."""
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in parts):
        raise NnlabError(f"--set takes dotted.key=value (e.g. --set optimizer.learning_rate=0.01), got {item!r}.")
    try:
        value = load_yaml(text)
    except yaml.YAMLError as error:
        raise NnlabError(f"--set {item}: the value is not valid YAML ({' '.join(str(error).split())}); "
                         "quote text with special characters.") from None
    for part in reversed(parts):
        value = {part: value}
    return value


def parse_sets(items):
    """Every ``--set`` in order, merged (a later one wins)."""
    values = {}
    for item in items or ():
        values = merge(values, parse_set(item))
    return values


def combine(task, preset=None, config=None, sets=(), flags=None, default_preset=None):
    """``(preset name, settings dict)`` of a run of ``task``, weakest first: ``preset`` (else the one the file or
    a ``--set preset=...`` names, else ``default_preset``), the settings file ``config`` (YAML or JSON, e.g. a
    run's config.json), the ``--set`` items ``sets``, the nested dict ``flags`` (the named flags given)."""
    values = read_settings(config) if config is not None else {}
    values = merge(merge(values, parse_sets(sets)), flags or {})
    named = values.pop("preset", None)
    base = preset if preset is not None else named if named is not None else default_preset
    if base is not None:
        choice("--preset", base, tuple(task.presets))
    return base, merge({**task.presets.get(base, {}), "preset": base}, values)


def settings_from(task, preset=None, config=None, sets=(), flags=None, default_preset=None):
    """A validated config of ``task`` from its defaults < preset < file < ``--set`` < flags (:func:`combine`)."""
    base, values = combine(task, preset, config, sets, flags, default_preset)
    return task.config_from_dict(values)


# ---------------------------------------------------------------- presets, shipped as YAML


def preset_files(system):
    """``{name: path}`` of the preset files shipped in ``nnlab/presets/<system>/``."""
    folder = resources.files("nnlab.presets").joinpath(system)
    return {Path(entry.name).stem: entry for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def load_presets(system):
    """``{name: settings dict}`` of every preset of ``system`` (without the ``task`` key each file states)."""
    presets = {}
    for name, entry in preset_files(system).items():
        values = load_yaml(entry.read_text())
        if not isinstance(values, dict):
            raise NnlabError(f"preset file {entry} must hold a mapping of settings.")
        values.pop("task", None)
        presets[name] = values
    return presets
