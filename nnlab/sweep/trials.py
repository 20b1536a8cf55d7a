"""Trial stage: one configuration of a sweep trained as ordinary run folders.

A trial's settings are the sweep's base settings with the trial's values set at
their dotted names. With ``repeats: R`` it trains R runs (seeds ``seed`` ...
``seed + R - 1``) and scores the configuration by their mean. Each run is a
normal run folder under ``SWEEP/runs/`` named after the trial (``trial-0003``,
or ``trial-0003-r1`` for repeats), so ``nnlab runs list``, ``evaluate``,
``predict`` and ``serve`` work on it, and a run stopped by Ctrl-C or ``kill -9``
is continued from its last finished epoch by ``nnlab train --resume``'s code.

    >>> settings = trial_settings({"model": "dnn"}, {"optimizer.name": "adam"}, seed=43, name="trial-0000-r1",
    ...                           runs_dir="sweeps/s/runs")
    >>> settings["optimizer"], settings["seed"], settings["name"]
    ({'name': 'adam'}, 43, 'trial-0000-r1')
"""

import json
import math
import time
from pathlib import Path

import yaml

from nnlab.core.config import merge
from nnlab.core.errors import AlreadyFinished, NnlabError
from nnlab.core.task import get_task, mode
from nnlab.sweep.spec import nested


def base_settings(spec, spec_dir="."):
    """``(preset, settings)`` trials start from: ``spec.base`` as a preset name, a settings file or inline."""
    task = get_task(spec.task)
    if spec.base is None:
        preset, values = None, {}
    elif isinstance(spec.base, dict):
        values = dict(spec.base)
        preset = values.pop("preset", None)
    elif spec.base in task.presets:
        preset, values = spec.base, {}
    else:
        path = Path(spec_dir) / spec.base
        if not path.is_file():
            raise NnlabError(f"base: {spec.base!r} is neither a {spec.task} preset ({', '.join(task.presets)}) nor a "
                             f"settings file ({path} does not exist).")
        try:
            values = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise NnlabError(f"base: {path} is not valid YAML or JSON: {error}") from None
        if not isinstance(values, dict):
            raise NnlabError(f"base: {path} must hold a mapping of settings.")
        preset = values.pop("preset", None)
    if spec.data is not None:
        values["data"] = str((Path(spec_dir) / spec.data).resolve())
    for key in ("name", "runs_dir", "verbose"):  # the sweep names and places its runs
        values.pop(key, None)
    return preset, values


def trial_settings(base, values, seed, name, runs_dir):
    """The settings of one run of a trial: ``base`` with the trial's dotted ``values`` set."""
    return merge(merge(base, nested(values)), {"seed": seed, "name": name, "runs_dir": str(runs_dir), "verbose": 0})


def trial_config(spec, preset, base, values, seed=None, name="trial", runs_dir="runs"):
    task = get_task(spec.task)
    settings = trial_settings(base, values, spec.seed if seed is None else seed, name, runs_dir)
    return task.config(preset, **settings).resolved()


def default_metric(spec, preset, base):
    return get_task(spec.task).default_monitor(trial_config(spec, preset, base, {}))


def check_space(spec, preset, base):
    """Refuse a space key the task has no setting for, or a value it cannot take, before any trial runs.

    Returns the metric and its mode (``"min"``/``"max"``).
    """
    task = get_task(spec.task)
    try:
        config = trial_config(spec, preset, base, {})
        task.load_data(config)  # a missing or broken data file fails here, not in every trial
    except NnlabError as error:
        raise NnlabError(f"base: {error}") from None
    first = {key: spec.probe_values(key)[0] for key in spec.space}
    for key in spec.space:
        for value in spec.probe_values(key):
            try:
                trial_config(spec, preset, base, {**first, key: value})
            except NnlabError as error:
                raise NnlabError(f"space.{key} = {value!r}: {error}") from None
    metric = spec.metric or task.default_monitor(config)
    logged = task.log_names(validation=config.has_validation())
    if metric not in logged:
        raise NnlabError(f"metric must be a name Keras logs for this {spec.task} run ({', '.join(logged)}); "
                         f"got {metric!r}.")
    return metric, spec.mode or mode(metric)


def run_names(number, repeats):
    if repeats == 1:
        return [f"trial-{number:04d}"]
    return [f"trial-{number:04d}-r{r}" for r in range(repeats)]


def best_value(history, metric, direction):
    values = [v for v in history.get(metric, []) if v is not None]
    if not values:
        return None
    return max(values) if direction == "max" else min(values)


def _reporter(report, metric):
    import keras

    class Reporter(keras.callbacks.Callback):
        """Hands each epoch's metric to ``report(epoch, value)``; stops training when it says so (pruned) or on NaN."""

        stopped = None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(metric)
            if value is None:
                return
            value = float(value)
            if not math.isfinite(value):
                self.stopped, self.model.stop_training = f"{metric} became {value} in epoch {epoch + 1}", True
            elif report(epoch, value):
                self.stopped, self.model.stop_training = "pruned", True

    return Reporter()


def run_trial(spec, preset, base, values, number, runs_dir, metric, direction, report=lambda epoch, value: False):
    """Train (or continue) the runs of one trial; returns a dict of what results.csv records.

    ``report(epoch, value)`` sees the first run's metric after each epoch and returns True to prune.
    Raises NnlabError for a configuration the task refuses; Interrupted (Ctrl-C) passes through.
    """
    from nnlab.core.runs import read_run
    from nnlab.core.training import resume, train

    start, outcome = time.perf_counter(), {"status": "complete", "reason": ""}
    scores, folders = [], []
    for repeat, name in enumerate(run_names(number, spec.repeats)):
        run_dir = Path(runs_dir) / name
        reporter = _reporter(report if repeat == 0 else (lambda epoch, value: False), metric)
        info = read_run(run_dir) if (run_dir / "config.json").exists() else None
        if info is not None and info["status"] == "finished":
            history = json.loads((run_dir / "history.json").read_text())
        else:
            config = trial_config(spec, preset, base, values, seed=spec.seed + repeat, name=name, runs_dir=runs_dir)
            try:
                result = resume(run_dir, extra_callbacks=[reporter]) if info is not None else \
                    train(config, extra_callbacks=[reporter])
                history = result.history
            except AlreadyFinished:
                history = json.loads((run_dir / "history.json").read_text())
        folders.append(str(run_dir))
        if reporter.stopped == "pruned":
            outcome = {"status": "pruned", "reason": f"pruned after epoch {len(history.get(metric, []))}"}
        elif reporter.stopped:
            outcome = {"status": "failed", "reason": reporter.stopped}
        scores.append(best_value(history, metric, direction))
        if outcome["status"] != "complete":
            break
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    if outcome["status"] == "complete" and len(finite) < len(scores):
        outcome = {"status": "failed", "reason": f"{metric} was not logged"}
    mean = sum(finite) / len(finite) if finite else None
    std = (sum((s - mean) ** 2 for s in finite) / len(finite)) ** 0.5 if len(finite) > 1 else None
    return {**outcome, "value": mean, "std": std, "scores": scores, "runs": folders,
            "seconds": round(time.perf_counter() - start, 3)}


def resolved_settings(run_dir):
    """A run's resolved settings, as a settings file takes them (its own name and folder left out)."""
    config = json.loads((Path(run_dir) / "config.json").read_text())
    for key in ("name", "runs_dir", "verbose"):
        config.pop(key, None)
    return config

