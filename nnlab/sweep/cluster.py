"""The Ray executor: ``nnlab sweep SPEC --executor ray [--address HOST:PORT]``, with Ray Tune.

The same spec, trials and sweep folder as the local executor (:mod:`nnlab.sweep.local`),
run by Ray Tune's ``Tuner`` on a Ray cluster (or a local Ray started with this machine's
cores):

- a grid is ``tune.grid_search`` over the grid's point numbers, so trial ``n`` trains
  ``runs/trial-000n`` with the same values as locally; other searches are Ray's
  ``OptunaSearch`` seeded with ``spec.seed`` (the same trials for the same seed with
  one trial at a time: with more, the searcher sees results in the order they arrive);
- each trial is :func:`nnlab.sweep.trials.run_trial` in a Ray worker, reporting its
  metric after every epoch with ``ray.tune.report`` (the first epoch with a small
  checkpoint naming its run folder). The run folder IS the trial's state: on storage every node
  sees, and a trial Ray restarts (on another node, or after the sweep was stopped)
  continues it from its last finished epoch;
- pruners: ``asha`` is Ray's ASHAScheduler, ``median`` its MedianStoppingRule, both on
  the ``epoch`` each result carries; ``none`` runs every trial to its end. Ray stops a
  pruned trial in the middle of ``fit`` (SystemExit in its next report), so its run folder
  is a stopped run (history and resume state up to its last epoch, no test figures),
  not a finished one as locally;
- Ray Tune keeps its own state in ``SWEEP/ray/``; running the same command again after
  Ctrl-C or ``kill -9`` restores the Tuner: finished trials are kept, unfinished ones
  continue;
- each finished trial is recorded in the sweep folder's Optuna study
  (``study.journal``, as locally), so ``nnlab sweep --status`` and results.csv,
  best.yaml and report.html come from the same code as the local executor's.

    >>> spec = parse_spec({"space": {"dropout": {"grid": [0.0, 0.5]}}})
    >>> trial_values(spec, {"number": 1})
    {'dropout': 0.5}
"""

import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path

from nnlab.core.errors import NnlabError
from nnlab.sweep import results, search
from nnlab.sweep.spec import parse_spec, read_spec  # noqa: F401  (parse_spec: the docstring's example)
from nnlab.sweep.trials import base_settings, best_value, check_space, run_names, run_trial

RAY_DIR = "ray"  # Ray Tune's own state, inside the sweep folder
EXPERIMENT = "tune"
OUTCOME = "nnlab_outcome"  # the key of a trial's last result that carries run_trial's outcome (JSON)
MAX_FAILURES = 2  # times Ray restarts a trial whose worker died (a node lost): it continues its run folder


def trial_values(spec, config):
    """The dotted values a trial trains with, from its Ray config (a grid point's number, or Optuna's values)."""
    if spec.is_grid():
        return spec.grid_points()[config["number"]]
    return {key: search._decode(spec.space[key], config[key]) for key in spec.space}


def _encoded(spec, values):
    return {key: search._encode(value) for key, value in values.items()}


def distributions(spec):
    """Optuna's distribution of each key, for recording Ray's trials in the sweep's study."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for key, param in spec.space.items():
        choices = getattr(param, "grid", None) or getattr(param, "choice", None)
        if choices is not None:
            out[key] = CategoricalDistribution([search._encode(c) for c in choices])
        elif hasattr(param, "uniform"):
            out[key] = FloatDistribution(*param.uniform)
        elif hasattr(param, "loguniform"):
            out[key] = FloatDistribution(*param.loguniform, log=True)
        else:
            out[key] = IntDistribution(*param.int)
    return out


# ---------------------------------------------------------------- the trial, on a Ray worker


def make_trainable(sweep_dir, jobs=1):
    """Ray's function trainable for the sweep in ``sweep_dir`` (a path every node sees), ``jobs`` trials at a time.

    Each trial is pinned to its share of its node's cores (at least ``resources.cpus``), as
    the local executor's workers: one trial at a time uses them all.
    """
    sweep_dir = str(sweep_dir)

    def nnlab_trial(config):
        from ray import tune

        from nnlab.core.raycluster import claim_cores

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _die_with_raylet()
        state = search.read_state(sweep_dir)
        spec, metric = state["spec"], state["metric"]
        claim_cores(max(spec.resources.cpus, len(os.sched_getaffinity(0)) // jobs))
        number = config["number"]
        runs_dir = Path(sweep_dir) / "runs"
        last = {"epoch": 0}

        def report(epoch, value):
            first, last["epoch"] = last["epoch"] == 0, epoch + 1
            if not first:
                tune.report({metric: value, "epoch": epoch + 1})
                return False  # Ray's scheduler stops a pruned trial itself (SystemExit in a later report)
            # The checkpoint only names the run folder, which is the state (on shared storage): once per
            # start is enough, and each checkpoint makes Tune save its whole state (~1 s a trial in the bench).
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / "trial.json").write_text(json.dumps(
                    {"run": str(runs_dir / run_names(number, spec.repeats)[0]), "first_epoch": epoch + 1}))
                tune.report({metric: value, "epoch": epoch + 1}, checkpoint=tune.Checkpoint.from_directory(folder))
            return False

        try:
            outcome = run_trial(spec, state["preset"], state["base"], trial_values(spec, config), number, runs_dir,
                                metric, state["direction"], report)
        except NnlabError as error:  # a combination the settings refuse
            outcome = {"status": "failed", "reason": str(error)}
        except (MemoryError, RuntimeError, ValueError, TypeError, ArithmeticError, OSError) as error:
            outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
        value = outcome.get("value")
        tune.report({metric: value if value is not None else math.nan, "epoch": last["epoch"],
                     OUTCOME: json.dumps(outcome)})

    return nnlab_trial


def _die_with_raylet():
    """A worker whose node went away (its raylet killed with a ``kill -9``-ed sweep) stops at once.

    Ray notices within tens of seconds; until then the orphan would go on writing a run
    folder that the continued sweep is resuming.
    """
    import signal
    import threading

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    if not getattr(_die_with_raylet, "watching", False):  # one watcher per worker process (workers are reused)
        _die_with_raylet.watching = True
        threading.Thread(target=watch, daemon=True).start()


# ---------------------------------------------------------------- recording results, on the driver


def outcome_of(spec, state, sweep_dir, config, last_result, error=None):
    """What results.csv records of a Ray trial: run_trial's outcome, or pruned / failed from Ray's side."""
    last_result = last_result or {}
    if OUTCOME in last_result:
        return json.loads(last_result[OUTCOME])
    number = config["number"]
    folders = [str(Path(sweep_dir) / "runs" / name) for name in run_names(number, spec.repeats)]
    if error is not None:
        return {"status": "failed", "reason": error, "runs": folders[:1]}
    try:
        history = json.loads((Path(folders[0]) / "history.json").read_text())
    except (OSError, ValueError):
        history = {}
    score = best_value(history, state["metric"], state["direction"])
    return {"status": "pruned", "reason": f"pruned after epoch {last_result.get('epoch', 0)}", "scores": [score],
            "runs": folders[:1]}


def record(study, spec, state, sweep_dir, config, last_result, error=None):
    """Add one finished Ray trial to the sweep's study (once); returns its number, or None when already there."""
    import optuna

    number = config["number"]
    if any(t.user_attrs.get("folder") == number for t in study.get_trials(deepcopy=False)):
        return None
    outcome = outcome_of(spec, state, sweep_dir, config, last_result, error)
    states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED,
              "failed": optuna.trial.TrialState.FAIL}
    attrs = {"folder": number, **{key: outcome[key] for key in ("status", "reason", "std", "scores", "runs",
                                                                  "seconds") if key in outcome}}
    value = outcome.get("value") if outcome["status"] == "complete" else None
    study.add_trial(optuna.trial.create_trial(
        state=states[outcome["status"]], value=value, params=_encoded(spec, trial_values(spec, config)),
        distributions=distributions(spec), user_attrs=attrs))
    return number


def _recorder(sweep_dir):
    """A Tune callback on the driver: each finished trial into the study, and its line for the user.

    It is pickled with the Tuner's state (SWEEP/ray/), so it holds only the folder and
    opens the study and the console when first used.
    """
    from ray import tune

    class Recorder(tune.Callback):
        def __init__(self, folder):
            self.folder, self._open = str(folder), None

        def __getstate__(self):
            return {"folder": self.folder, "_open": None}

        def opened(self):
            if self._open is None:
                from rich.console import Console

                state = search.read_state(self.folder)
                self._open = (state, search.open_study(self.folder, state["direction"]),
                              Console(highlight=False, soft_wrap=True))
            return self._open

        def on_trial_complete(self, iteration, trials, trial, **info):
            state, study, console = self.opened()
            number = record(study, state["spec"], state, self.folder, trial.config, trial.last_result)
            if number is not None:
                show(console, study, state, self.folder, number)

    return Recorder(sweep_dir)


def show(console, study, state, sweep_dir, number):
    """The local executor's line for a finished trial, with how many of the planned trials are done."""
    from nnlab.sweep.local import _line

    table = results.rows(study, state, sweep_dir)
    best = results.best_row(table, state)
    row = next(row for row in table if row["trial"] == number)
    done = sum(row["status"] in ("complete", "pruned", "failed") for row in table)
    console.print(f"[{done}/{state['spec'].planned_trials()}] " + _line(row, state, best), markup=False)


# ---------------------------------------------------------------- the sweep, on the driver


def _max_epochs(spec, preset, base):
    from nnlab.sweep.trials import trial_config

    epochs = [trial_config(spec, preset, base, {}).epochs]
    if "epochs" in spec.space:
        epochs += [int(v) for v in spec.probe_values("epochs")]
    return max(epochs)


def scheduler(spec, max_epochs):
    """Ray's scheduler for the spec's pruner, on the ``epoch`` each result carries.

    Without a metric and mode of its own: the Tuner gives it TuneConfig's (Tune refuses both).
    """
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    if spec.pruner == "asha":  # Optuna's SuccessiveHalvingPruner's defaults: rungs at 1, 4, 16, ... epochs
        # max_t one past the last epoch: ASHA stops every trial that reaches max_t, which would cut a
        # finished trial off before it reports its outcome (recorded as pruned, its folder left incomplete).
        return ASHAScheduler(time_attr="epoch", max_t=max(max_epochs, 1) + 1, grace_period=1, reduction_factor=4)
    if spec.pruner == "median":  # as the local MedianPruner: from the 2nd epoch, once two trials reported
        return MedianStoppingRule(time_attr="epoch", grace_period=1, min_samples_required=2)
    return FIFOScheduler()


class DefineByRun:
    """Optuna's define-by-run space for OptunaSearch: the local executor's suggest calls, and the trial's number.

    A class, not a closure: OptunaSearch saves itself (with this) with the standard pickle.
    """

    def __init__(self, spec):
        self.spec = spec

    def __call__(self, trial):
        search.suggest(trial, self.spec)
        return {"number": trial.number}


def tuner(sweep_dir, spec, preset, base, metric, direction, jobs):
    """A new Tuner for the sweep, or the stopped one restored from ``SWEEP/ray/``."""
    from ray import tune

    trainable = tune.with_resources(make_trainable(sweep_dir, jobs), {"cpu": spec.resources.cpus})
    path = Path(sweep_dir) / RAY_DIR / EXPERIMENT
    if spec.is_grid():
        param_space, search_alg, samples = {"number": tune.grid_search(list(range(spec.planned_trials())))}, None, 1
    else:
        from ray.tune.search.optuna import OptunaSearch

        param_space, samples = {}, spec.trials
        search_alg = OptunaSearch(space=DefineByRun(spec), metric=metric, mode=direction, seed=spec.seed)
    if tune.Tuner.can_restore(str(path)):
        return tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True, resume_errored=True,
                                  param_space=param_space or None), True
    config = tune.TuneConfig(metric=metric, mode=direction, search_alg=search_alg, num_samples=samples,
                             scheduler=scheduler(spec, _max_epochs(spec, preset, base)),
                             max_concurrent_trials=jobs,
                             # One worker process trains trial after trial: Python, JAX and Keras imported once
                             # (a fresh process per trial cost ~3 s of a 1 s trial in bench/sweep_scale.py).
                             reuse_actors=True)
    run_config = tune.RunConfig(name=EXPERIMENT, storage_path=str(Path(sweep_dir) / RAY_DIR), verbose=0,
                                # results.json per trial: what Tune reads back when it restores the sweep
                                callbacks=[_recorder(sweep_dir), tune.logger.JsonLoggerCallback()],
                                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                                failure_config=tune.FailureConfig(max_failures=MAX_FAILURES))
    return tune.Tuner(trainable, param_space=param_space, tune_config=config, run_config=run_config), False


def run(spec_path, out=None, jobs=1, address=None, console=None):
    """Run (or continue) the sweep of ``spec_path`` on Ray; returns the sweep folder."""
    from rich.console import Console

    from nnlab.core import raycluster
    from nnlab.sweep.local import sweep_folder

    console = console or Console(highlight=False, soft_wrap=True)
    if jobs < 1:
        raise NnlabError(f"--jobs must be at least 1, got {jobs}.")
    raycluster.import_ray()
    spec_path = Path(spec_path)
    spec = read_spec(spec_path)
    preset, base = base_settings(spec, spec_path.parent)
    metric, direction = check_space(spec, preset, base)
    name = spec.name or spec_path.stem
    spec = spec.model_copy(update={"name": name})
    identity = {"spec": spec.model_dump(mode="json"), "preset": preset, "base": base}
    # Absolute: the trials read and write it from every node.
    sweep_dir = sweep_folder(name, spec_path.parent, identity, out).resolve()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(search.file_lock(sweep_dir / "sweep.lock", wait=False))
        except BlockingIOError:
            raise NnlabError(f"a sweep is running in {sweep_dir} already; wait for it, or see it with "
                             f"`nnlab sweep --status {sweep_dir}`.") from None
        if (sweep_dir / search.JOURNAL).exists() and not (sweep_dir / RAY_DIR).exists():
            raise NnlabError(f"{sweep_dir} holds a sweep run by the local executor; continue it without "
                             "--executor ray, or give another --out.")
        search.save_state(sweep_dir, spec, preset, base, metric, direction, spec_path.parent)
        (sweep_dir / RAY_DIR).mkdir(exist_ok=True)
        state = search.read_state(sweep_dir)
        study = search.open_study(sweep_dir, direction)
        if not (sweep_dir / "done").exists():
            started = time.perf_counter()
            where = raycluster.connect(address)
            the_tuner, restored = tuner(sweep_dir, spec, preset, base, metric, direction, jobs)
            console.print(f"sweep folder: [bold]{sweep_dir}[/] ({spec.planned_trials()} trials, {jobs} at a time on "
                          f"{where}, {raycluster.cluster_cpus()} CPUs; metric {metric}, {direction})"
                          + (" continued" if restored else ""))
            grid = the_tuner.fit()
            # Trials that ended in an error (a worker lost MAX_FAILURES times) and any the callback missed.
            for result in grid:
                error = None if result.error is None else raycluster.error_line(result.error)
                number = record(study, spec, state, sweep_dir, result.config, result.metrics, error)
                if number is not None:
                    show(console, study, state, sweep_dir, number)
            (sweep_dir / "ray" / "seconds.json").write_text(json.dumps(
                {"last_fit_seconds": round(time.perf_counter() - started, 3)}))
        table, best = results.write_all(study, state, sweep_dir)
        unfinished = [row for row in table if row["status"] not in ("complete", "pruned", "failed")]
        finished = len(table) >= spec.planned_trials() and not unfinished
        if finished:
            (sweep_dir / "done").write_text("")
    if not finished:  # Ctrl-C: Tune saved its state and returned
        console.print(f"sweep stopped; finished trials are kept. Continue with: nnlab sweep {spec_path} --out "
                      f"{sweep_dir} --executor ray" + (f" --address {address}" if address else ""), style="yellow")
    console.print(results.summary_line(table, best, metric, sweep_dir))
    return sweep_dir


def _reason(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".strip(": ")

