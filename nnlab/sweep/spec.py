"""Sweep spec stage: what ``nnlab sweep SPEC.yaml`` searches, read and checked before any trial starts.

A spec names the task, the settings every trial starts from (``base``), the space
(dotted setting names -> values to try), the metric and how many trials to run:

.. code-block:: yaml

    task: fashion
    base: dnn                      # a preset, a settings file, or settings inline
    space:
      optimizer.name: {grid: [sgd, rmsprop, adam]}
      dropout: {grid: [0.0, 0.3]}
    metric: val_accuracy           # default: the task's monitor (val_loss)
    repeats: 2                     # seeds per configuration: mean and std
    pruner: median                 # none, median or asha

    >>> spec = SweepSpec.model_validate({"task": "fashion", "base": "dnn",
    ...                                  "space": {"dropout": {"grid": [0.0, 0.3]}}})
    >>> spec.is_grid(), spec.grid_points()
    (True, [{'dropout': 0.0}, {'dropout': 0.3}])

Every key of the space is checked against the task's settings with each value it
can take (grid and choice values, range ends), so a typo or an impossible value is
refused naming the key, before any trial runs.
"""

import difflib
import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nnlab.core.errors import NnlabError


class Grid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grid: list[Any] = Field(min_length=1)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: list[Any] = Field(min_length=1)


class Uniform(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uniform: tuple[float, float]


class LogUniform(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loguniform: tuple[float, float]


class IntRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    int: tuple[int, int]


Param = Grid | Choice | Uniform | LogUniform | IntRange


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpus: float = Field(1.0, gt=0)  # CPU cores each trial gets (local: pinned to them; Ray: reserved)


class SweepSpec(BaseModel):
    """One sweep: the task, the settings trials start from, the space and the search."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # the sweep folder's name (default: the spec file's name)
    task: str = "fashion"
    base: str | dict[str, Any] | None = None  # preset name, settings file, or settings; None: the task's defaults
    data: str | None = None  # tickets: the ticket file (relative to the spec file)
    space: dict[str, Param] = Field(min_length=1)
    metric: str | None = None  # any name Keras logs for the task; None: the task's monitor
    mode: Literal["min", "max"] | None = None  # None: from the metric (accuracy: max, loss: min)
    trials: int = Field(20, ge=1)  # non-grid searches; a grid runs each point once
    seed: int = 42  # the sampler's seed and the first run seed (repeat r uses seed + r)
    repeats: int = Field(1, ge=1)
    pruner: Literal["none", "median", "asha"] = "none"
    resources: Resources = Field(default_factory=Resources)

    @model_validator(mode="after")
    def _ranges(self):
        kinds = {type(param) for param in self.space.values()}
        if Grid in kinds and kinds != {Grid}:
            raise ValueError("a grid cannot be mixed with sampled values (choice, uniform, loguniform, int); "
                             "write the grid's keys as choice, or every key as grid")
        for key, param in self.space.items():
            low_high = getattr(param, "uniform", None) or getattr(param, "loguniform", None)
            if isinstance(param, IntRange):
                low_high = param.int
            if low_high is not None:
                low, high = low_high
                if not low < high:
                    raise ValueError(f"space.{key}: the range [{low}, {high}] is empty; give [low, high] with low < high")
                if isinstance(param, LogUniform) and low <= 0:
                    raise ValueError(f"space.{key}: loguniform needs low > 0, got {low}")
        return self

    def is_grid(self):
        return all(isinstance(param, Grid) for param in self.space.values())

    def grid_points(self):
        """Every combination of a grid, in the spec's order (the last key varies fastest)."""
        keys = list(self.space)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.space[k].grid for k in keys))]

    def planned_trials(self):
        return len(self.grid_points()) if self.is_grid() else self.trials

    def probe_values(self, key):
        """The values that check ``key`` before the sweep starts: every grid/choice value, the ends of a range."""
        param = self.space[key]
        for field in ("grid", "choice", "uniform", "loguniform", "int"):
            if hasattr(param, field):
                return list(getattr(param, field))
        return []


def read_spec(path):
    """The :class:`SweepSpec` in a YAML or JSON file; its faults are one NnlabError naming the key."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise NnlabError(f"sweep spec {path} does not exist.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise NnlabError(f"sweep spec {path} is not valid YAML: {error}".rstrip(".") + ".") from None
    if not isinstance(values, dict):
        raise NnlabError(f"sweep spec {path} must be a mapping (task, base, space, ...), got {type(values).__name__}.")
    return parse_spec(values, where=str(path))


def parse_spec(values, where="sweep spec"):
    try:
        return SweepSpec.model_validate(values)
    except ValidationError as error:
        raise NnlabError(f"{where}: {_first_error(error, values)}") from None


def _first_error(error, values):
    problems = error.errors()
    unknown = [p for p in problems if p["type"] == "extra_forbidden" and p["loc"][0] != "space"]
    problem = (unknown or problems)[0]  # a misspelt key first: it explains a missing one
    loc = [str(part) for part in problem["loc"]]
    # A space entry is tried against each kind of parameter; say what the entry may be instead.
    if len(loc) >= 2 and loc[0] == "space":
        key = loc[1]
        entry = values.get("space", {}).get(key)
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in PARAM_KINDS:
            return (f"space.{key} must be one of {{grid: [...]}}, {{choice: [...]}}, {{uniform: [lo, hi]}}, "
                    f"{{loguniform: [lo, hi]}} or {{int: [lo, hi]}}; got {entry!r}.")
        kind = next(iter(entry))
        matching = [p for p in error.errors() if len(p["loc"]) > 2 and p["loc"][2] == kind]
        problem = matching[0] if matching else problem
        return f"space.{key}.{kind}: {problem['msg']}; got {entry[kind]!r}."
    dotted = ".".join(loc)
    if problem["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], list(SweepSpec.model_fields), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(SweepSpec.model_fields)}."
        return f"unknown key {dotted!r}.{hint}"
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "value_error":
        return message + "."
    return f"{dotted}: {message}; got {problem.get('input')!r}."


PARAM_KINDS = ("grid", "choice", "uniform", "loguniform", "int")


def nested(dotted):
    """``{"optimizer.name": "adam", "epochs": 3}`` -> ``{"optimizer": {"name": "adam"}, "epochs": 3}``."""
    values = {}
    for key, value in dotted.items():
        *parents, last = key.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise NnlabError(f"space key {key!r} sets inside {part!r}, which another key sets to a value.")
        if isinstance(node.get(last), dict):
            raise NnlabError(f"space key {key!r} sets a value where other keys set settings inside it.")
        node[last] = value
    return values

