"""Reproduce the seeds' experiments E1-E10 and compare with the figures they report.

    nnlab reproduce                           # all ten, seed 42 -> reports/reproduce/index.html
    nnlab reproduce --only E5,E9 --repeats 3  # seeds 42, 43, 44: mean ± std per figure
    nnlab reproduce --resume                  # after Ctrl-C: skip experiments already in results.json
    nnlab reproduce --repeats 3 --overwrite   # the folder holds other settings: start over there

Each experiment is one entry of ``EXPERIMENTS`` (in ``nnlab/seeds/experiments.py``): its
training runs as nnlab config settings (the seeds' values), the figures the seeds
report, the plots, and at most one hook for the steps that are not a plain training
run. The report folder (``--out DIR``) holds:

    results.json               settings and every experiment's numbers   (nnlab.seeds.results)
    index.html, README.md      the report, rendered from results.json    (nnlab.seeds.report)
    plots/                     the report's plots
    runs/E5-sgd-seed42/, ...   normal run folders of nnlab.core.training.train
    experiments/E8/seed42/     files a hook writes (never into a run folder: runs are shared)

After each experiment its numbers go into ``results.json`` and the pages are
rewritten, every file atomically; Ctrl-C keeps finished experiments and prints the
command that resumes.

Nothing finished is deleted. A folder whose results.json was made with other
settings is refused (the message names the differences) unless ``--overwrite``.
A run folder that a run needs and that has the same config is used as it is:
finished, it is read back (history.json, metrics.json, final.keras when a hook needs
the model); interrupted or killed, it is continued with
``nnlab.core.training.resume`` to the result an uninterrupted run gives. A run
folder with another config is replaced only with ``--overwrite``.

Verdicts, with ``tol = max(2 * std, 0.01)`` over the repeats (std = 0 for one repeat):

    value   matches when |seeds - mean| <= tol
    range   matches when lo - tol <= mean <= hi + tol   (E8 0.8758-0.8798, E10 epochs 10-12, "~N epochs")
    claim   matches when it holds in every repeat       (e.g. "val loss rises after its minimum")

A figure that differs gets a reason only as far as this call measured one: "quick
check" when --limit/--epochs ran less than the seeds did; with --repeats >= 3,
whether the seeds' figure lies within the range of the repeats' values (which seeds,
which range); otherwise "not explained", followed by the experiment's guess
labelled "untested hypothesis". A fixed excuse for every mismatch would hide a
real regression.

Runs with the same settings and seed are trained once and shared. The sharing key is
the run's whole resolved config but its folder name, verbosity and runs folder --
epochs included: a cosine schedule decays the learning rate over all epochs, so
epoch 1 of a 5-epoch cosine run is not epoch 1 of a 20-epoch one, and early
stopping's restore changes what the run ends with. A shorter run is read off the
first N epochs of a longer one only where that provably gives the same numbers:
constant learning rate and no early stopping, for a run used only for its history.
Then epoch k is the same computation in both runs: the same weights and optimizer
state after epoch k-1, the same learning rate, and the same batches, because ``fit``
draws each epoch's shuffle in turn from the seeded generator and no callback draws
random numbers or looks at the number of epochs still to come.
So E4, E5's RMSprop and E6's 5-epoch curve read the first epochs of one 20-epoch run.
"""

import dataclasses
import functools
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from nnlab.core.config import at_least
from nnlab.core.errors import NnlabError
from nnlab.seeds import experiments
from nnlab.seeds.experiments import RISE
from nnlab.seeds.report import print_summary, write_report
from nnlab.seeds.results import jsonable, load_results, save_results

FIRST_SEED = 42  # repeats use 42, 43, ...; the data split stays the seeds' random_state=42
TOLERANCE_FLOOR = 0.01
SPREAD_REPEATS = 3  # from this many repeats on, a difference is checked against the seed-to-seed range
NOT_COMPUTING = ("name", "verbose", "runs_dir")  # config keys that do not change what a run computes
FIX = "pass --overwrite to replace it, or choose another --out"


# ---------------------------------------------------------------- verdicts


def tolerance(std):
    return max(2.0 * std, TOLERANCE_FLOOR)


def verdict(seeds, values):
    """Compare the seeds' figure with the measured values of the repeats.

    ``seeds`` is a number, a ``(lo, hi)`` range, a bool (a claim) or None (measured
    only). Returns ``{"mean", "std", "tolerance", "verdict"}``; verdict is
    "matches", "differs", "measured" (no seeds' figure) or "missing" (no value).

        >>> verdict(0.8540, [0.8512])["verdict"]
        'matches'
        >>> verdict((10, 12), [14, 15])["verdict"]
        'differs'
    """
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "tolerance": None, "verdict": "missing"}
    if isinstance(seeds, bool):  # a claim: all repeats must agree with it
        held = sum(bool(v) == seeds for v in values)
        return {"mean": sum(map(bool, values)) / len(values), "std": None, "tolerance": None,
                "verdict": "matches" if held == len(values) else "differs"}
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    tol = tolerance(std)
    edge = tol + 1e-9  # "within" includes the edge despite float rounding (0.854 - 0.844 > 0.01)
    if seeds is None:
        ok = None
    elif isinstance(seeds, (tuple, list)):
        ok = seeds[0] - edge <= mean <= seeds[1] + edge
    else:
        ok = abs(seeds - mean) <= edge
    return {"mean": mean, "std": std, "tolerance": tol,
            "verdict": "measured" if ok is None else ("matches" if ok else "differs")}


def _shown(value, digits):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,.0f}" if digits == 0 and float(value).is_integer() else f"{value:,.{digits or 1}f}"


def explain(figure, values, seeds, quick, hypothesis=None):
    """Why a figure that differs may differ, as far as this call measured it: ``(reason, explained)``.

    ``values``: the measured value of each repeat (None where missing), ``seeds`` the
    seed of each repeat, ``quick`` whether --limit/--epochs were given. Only a
    measured fact explains: the quick check's smaller budget, or -- with at least
    ``SPREAD_REPEATS`` repeats -- the seeds' figure lying within the range of the
    repeats' values (for a claim: holding for at least one seed). Otherwise the
    reason starts "not explained" and ``hypothesis`` is shown as untested.

        >>> explain(Figure("acc", "a", 0.85), [0.84, 0.86, 0.88], [42, 43, 44], quick=False)
        ("within the spread over seeds: the seeds' 0.8500 lies in 0.8400 – 0.8800, the range over seeds 42, 43, 44", True)
    """
    if quick:
        return "quick check (--limit/--epochs): not the seeds' data size or epochs.", True
    measured = [(seed, value) for seed, value in zip(seeds, values) if value is not None]
    untested = f" (untested hypothesis: {hypothesis})" if hypothesis else ""
    if len(measured) < SPREAD_REPEATS:
        return f"not explained{untested}; --repeats {SPREAD_REPEATS} measures the seed-to-seed spread.", False
    names = ", ".join(str(seed) for seed, _ in measured)
    if isinstance(figure.seeds, bool):
        held = [str(seed) for seed, value in measured if bool(value) == figure.seeds]
        claim = f"the seeds' claim ({_shown(figure.seeds, 0)})"
        if held:
            return (f"within the spread over seeds: {claim} held for seed {', '.join(held)} of {names}", True)
        return f"not explained: {claim} held for none of seeds {names}", False
    numbers = [float(value) for _, value in measured]
    low, high = min(numbers), max(numbers)
    spread = f"{_shown(low, figure.digits)} – {_shown(high, figure.digits)}, the range over seeds {names}"
    if isinstance(figure.seeds, (tuple, list)):
        inside = figure.seeds[0] <= high and low <= figure.seeds[1]  # the two ranges overlap
        what = (f"range {_shown(figure.seeds[0], figure.digits)} – {_shown(figure.seeds[1], figure.digits)} "
                f"{'overlaps' if inside else 'lies outside'}")
    else:
        inside = low <= figure.seeds <= high
        what = f"{_shown(figure.seeds, figure.digits)} {'lies in' if inside else 'lies outside'}"
    if inside:
        return f"within the spread over seeds: the seeds' {what} {spread}", True
    return f"not explained: the seeds' {what} {spread}", False


# ---------------------------------------------------------------- what experiments see


@dataclasses.dataclass
class FinishedRun:
    """A finished run folder read back: the fields of a RunResult, its final model loaded on first use."""

    run_dir: Path
    history: dict
    metrics: dict
    config: object

    @classmethod
    def read(cls, run_dir, config):
        run_dir = Path(run_dir)
        try:
            history = json.loads((run_dir / "history.json").read_text())
            metrics = json.loads((run_dir / "metrics.json").read_text())
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise NnlabError(f"run folder {run_dir} says it finished, but cannot be read back "
                             f"({type(error).__name__}: {error}); {FIX}.") from None
        return cls(run_dir, history, metrics, config)

    @functools.cached_property
    def model(self):
        from nnlab.core.saving import load_model

        return load_model(self.run_dir / f"final.{self.config.save_format}")


@dataclasses.dataclass
class RunOutput:
    """A run as an experiment sees it: the first ``epochs`` epochs of ``result`` (a RunResult or FinishedRun).

    ``source``: "trained" or "resumed" by this request, "shared" with an earlier
    request of this call, or "reused" from a finished folder of an earlier call.
    """

    result: object
    epochs: int
    source: str

    @property
    def history(self):
        return {key: values[:self.epochs] for key, values in self.result.history.items()}


@dataclasses.dataclass
class Context:
    """What a hook gets: this repeat's seed and runs, the data, a place for report material and for files."""

    experiment_id: str
    seed: int
    runs: dict
    splits: object
    raw: object  # () -> ((x_train, y_train), (x_test, y_test)) uint8, loaded on first use
    max_epochs: int | None
    say: object
    out: Path
    details: dict = dataclasses.field(default_factory=dict)

    def own_folder(self):
        """``out/experiments/<id>/seed<seed>/``, created on first call: where the hook's files go."""
        folder = Path(self.out) / "experiments" / self.experiment_id / f"seed{self.seed}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def relative(self, path):
        """``path`` relative to the report folder, as the report shows it."""
        return os.path.relpath(path, self.out)


def run_values(name, out):
    """The standard measures of one run (see ``Figure``), keyed ``"<name>.<measure>"``."""
    from nnlab.core.task import best_epoch

    history, metrics = out.history, out.result.metrics
    values = {"params": metrics["params"], "acc_first": history["accuracy"][0],
              "acc_last": history["accuracy"][-1], "loss_last": history["loss"][-1],
              "stopped_epoch": metrics["stopped_epoch"], "best_epoch": best_epoch(history, "val_loss")}
    if history.get("val_loss"):
        val = np.asarray(history["val_loss"])
        values.update(val_loss=float(val[-1]), val_acc=history["val_accuracy"][-1],
                      min_val_epoch=int(val.argmin()), val_rise=float(val[-1] / val.min() - 1),
                      overfits=bool(val[-1] > (1 + RISE) * val.min()))
    if out.epochs >= metrics["epochs_run"] and metrics.get("val"):  # the model as training left it
        values.update(final_val_loss=metrics["val"]["loss"], final_val_acc=metrics["val"]["accuracy"])
    return {f"{name}.{key}": value for key, value in values.items()}


# ---------------------------------------------------------------- which runs may share a folder


def run_key(config, epochs=True):
    """What makes two runs the same computation: the resolved config but name, verbosity, runs folder."""
    from nnlab.core.config import to_dict

    values = {key: value for key, value in to_dict(config).items()
              if key not in NOT_COMPUTING and (epochs or key != "epochs")}
    return json.dumps(values, sort_keys=True)


def extendable(config):
    """Whether the first N epochs of a run with ``config`` are what an N-epoch run gives (module docstring)."""
    return config.optimizer.schedule == "constant" and config.early_stopping.patience is None


def config_differences(old, new):
    """``["epochs 2 (there: 5)", "optimizer.name adam (there: rmsprop)"]`` between two configs."""
    from nnlab.core.config import to_dict

    def flat(values, prefix=""):
        for key, value in values.items():
            if isinstance(value, dict) and key != "loss_weights":
                yield from flat(value, f"{prefix}{key}.")
            elif key not in NOT_COMPUTING:
                yield f"{prefix}{key}", value

    before, after = dict(flat(to_dict(old))), dict(flat(to_dict(new)))
    return [f"{key} {after.get(key)} (there: {before.get(key)})"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


@dataclasses.dataclass(eq=False)
class Folder:
    """A run folder this call may use: on disk from an earlier call, or made by this one."""

    run_dir: Path
    config: object
    status: str  # finished, interrupted or incomplete (read_run's words)
    result: object = None  # RunResult or FinishedRun once used in this call


class Runner:
    """Gets the runs the experiments ask for: shared, reused, continued, or trained -- once per settings and seed."""

    def __init__(self, out, splits, pending, seeds, limit, max_epochs, verbose, console, started, overwrite=False):
        self.out, self.splits, self.limit, self.max_epochs = Path(out), splits, limit, max_epochs
        self.verbose, self.console, self.started, self.overwrite = verbose, console, started, overwrite
        self.flat_splits = None
        # Longest run needed per settings (epochs aside), so that the first request trains it.
        self.longest = {}
        for experiment in pending:
            for run in experiment.runs:
                for seed in seeds:
                    config = self.config(experiment.id, run, seed)
                    if self.prefix_allowed(run, config):
                        key = run_key(config, epochs=False)
                        self.longest[key] = max(self.longest.get(key, 0), config.epochs)
        self.folders = self.scan()

    def config(self, experiment_id, run, seed):
        from nnlab.core.config import merge
        from nnlab.fashion.task import TASK

        epochs = run.settings.get("epochs", 5)
        if self.max_epochs:
            epochs = min(epochs, self.max_epochs)
        return TASK.config(None, **merge(run.settings, {
            "epochs": epochs, "seed": seed, "name": f"{experiment_id}-{run.name}-seed{seed}",
            "runs_dir": str(self.out / "runs"), "verbose": self.verbose, "limit": self.limit})).resolved()

    @staticmethod
    def prefix_allowed(run, config):
        """May this request read the first epochs of a longer run? (Only for its history; see above.)"""
        return not run.keep and run.build is None and extendable(config)

    def scan(self):
        """The run folders already in ``out/runs`` that requests may share (not those of ``Run.build`` runs)."""
        from nnlab.core.runs import list_runs

        built = tuple(f"{e.id}-{run.name}-seed" for e in experiments.EXPERIMENTS for run in e.runs if run.build)
        folders = []
        for info in list_runs(self.out / "runs"):
            if info["broken"] or info["name"].startswith(built):
                continue
            config = self.read_config(info)
            if config is not None:
                folders.append(Folder(Path(info["path"]), config, info["status"]))
        return folders

    @staticmethod
    def read_config(info):
        """A run folder's config.json as a resolved config; None when it is not one of this nnlab's."""
        from nnlab.fashion.task import TASK

        try:
            return TASK.config_from_dict(info["config"]).resolved()
        except (NnlabError, TypeError):
            return None

    def find(self, config, prefix):
        """A known folder with the same run (``prefix``: or a longer one to read the first epochs of)."""
        key, base = run_key(config), run_key(config, epochs=False)
        for folder in self.folders:
            if run_key(folder.config) == key:
                return folder
        if prefix:  # same settings but epochs, hence also constant rate and no early stopping
            longer = [f for f in self.folders if f.config.epochs > config.epochs and run_key(f.config, False) == base]
            if longer:  # prefer one that needs no training
                return max(longer, key=lambda f: (f.result is not None or f.status == "finished", f.config.epochs))
        return None

    def claim(self, config):
        """``out/runs/<name>`` for a new run: None if free; a Folder if it holds this run; else refused or replaced."""
        from nnlab.core.runs import read_run

        run_dir = self.out / "runs" / config.name
        if not run_dir.exists():
            return None
        info = read_run(run_dir)
        there = None if info["broken"] else self.read_config(info)
        if there is not None and run_key(there) == run_key(config):
            return Folder(run_dir, there, info["status"])
        if info["config"] is None and not any((run_dir / name).exists() for name in ("history.json", "metrics.json")):
            # Killed between creating the folder and writing config.json: no epoch was saved, nothing is lost.
            self.console.print(f"  [dim]removing {run_dir}: a run killed before its first saved file[/]")
            shutil.rmtree(run_dir)
            return None
        if info["broken"]:
            problem = f"cannot be read ({info['broken']})"
        elif there is None:
            problem = "holds a config.json this nnlab cannot read"
        else:
            problem = f"was trained with other settings: {', '.join(config_differences(there, config))}"
        if not self.overwrite:
            raise NnlabError(f"run folder {run_dir} {problem}; {FIX}.")
        self.console.print(f"  [yellow]replacing {run_dir} (--overwrite): it {problem}[/]", soft_wrap=True)
        shutil.rmtree(run_dir)
        return None

    def run(self, experiment_id, run, seed, label):
        """A RunOutput for ``run`` with ``seed``: shared, reused, continued or trained now."""
        config = self.config(experiment_id, run, seed)
        wanted, prefix = config.epochs, self.prefix_allowed(run, config)
        folder = self.find(config, prefix) if run.build is None else None
        if folder is None:
            if prefix:
                config.epochs = max(wanted, self.longest.get(run_key(config, epochs=False), 0))
            folder = self.claim(config)
        if folder is None:
            result, source = self.train(config, run, seed, label, wanted), "trained"
            if run.build is None:
                self.folders.append(Folder(result.run_dir, result.config, "finished", result))
        else:
            result, source = self.use(folder, run, seed, label, wanted)
            if run.build is None and all(known is not folder for known in self.folders):
                self.folders.append(folder)
        return RunOutput(result, min(wanted, result.metrics["epochs_run"]), source)  # early stopping: fewer

    def train(self, config, run, seed, label, wanted):
        from nnlab.core.training import train

        model, splits = self.model_and_splits(run, seed)
        extra = f" ({config.epochs} epochs, shared with later experiments)" if config.epochs > wanted else ""
        self.console.print(f"  [bold]{label}[/]{extra} · elapsed {clock(time.perf_counter() - self.started)}",
                           soft_wrap=True)
        return train(config, splits=splits, model=model)

    def use(self, folder, run, seed, label, wanted):
        """The run of an existing folder: already used in this call, finished earlier, or continued now."""
        from nnlab.core.training import resume

        length = folder.config.epochs
        part = f"first {wanted} of {length} epochs of" if length > wanted else "same as"
        if folder.result is not None:
            self.console.print(f"  [dim]{label}: {part} run {folder.run_dir.name}[/]", soft_wrap=True)
            return folder.result, "shared"
        if folder.status == "finished":
            folder.result = FinishedRun.read(folder.run_dir, folder.config)
            self.console.print(f"  [dim]{label}: {part} run {folder.run_dir.name}, finished earlier[/]",
                               soft_wrap=True)
            return folder.result, "reused"
        self.console.print(f"  [bold]{label}[/]: continuing the {folder.status} run {folder.run_dir} · elapsed "
                           f"{clock(time.perf_counter() - self.started)}", soft_wrap=True)
        model, splits = self.model_and_splits(run, seed)
        try:
            folder.result = resume(folder.run_dir, splits=splits, model=model, verbose=self.verbose)
        except NnlabError as error:
            if not self.overwrite:
                raise NnlabError(f"run folder {folder.run_dir} cannot be continued ({error}); {FIX}.") from None
            self.console.print(f"  [yellow]replacing {folder.run_dir} (--overwrite): {error}[/]", soft_wrap=True)
            shutil.rmtree(folder.run_dir)
            config = dataclasses.replace(folder.config, name=folder.run_dir.name, runs_dir=str(folder.run_dir.parent),
                                         verbose=self.verbose)
            folder.result, folder.status = self.train(config, run, seed, label, wanted), "finished"
            return folder.result, "trained"
        folder.status = "finished"
        return folder.result, "resumed"

    def model_and_splits(self, run, seed):
        """``(model, splits)`` for train/resume: the task builds the model unless ``run.build`` does."""
        if run.build is None:
            return None, self.splits
        import keras

        keras.utils.set_random_seed(seed)  # train() seeds after the model exists; seed its weights too
        return run.build(), self.flat()

    def flat(self):
        """The splits with each image as 784 pixels, as the seeds feed E2/E3 (``reshape(-1, 28*28)``)."""
        if self.flat_splits is None:
            s = self.splits
            self.flat_splits = dataclasses.replace(
                s, x_train=s.x_train.reshape(len(s.x_train), -1), x_val=s.x_val.reshape(len(s.x_val), -1),
                x_test=s.x_test.reshape(len(s.x_test), -1))
        return self.flat_splits


def clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def run_experiment(experiment, runner, seeds, raw, console):
    """All repeats of one experiment -> its record for results.json."""
    start = time.perf_counter()
    repeats, details, first_runs = [], {}, None
    for index, seed in enumerate(seeds):
        repeat_start, runs, values = time.perf_counter(), {}, {}
        for number, run in enumerate(experiment.runs, 1):
            label = (f"{experiment.id} {run.name} · seed {seed} (repeat {index + 1}/{len(seeds)}) · "
                     f"run {number}/{len(experiment.runs)}")
            runs[run.name] = runner.run(experiment.id, run, seed, label)
            values.update(run_values(run.name, runs[run.name]))
        if experiment.hook is not None:
            context = Context(experiment.id, seed, runs, runner.splits, raw, runner.max_epochs,
                              say=lambda text: console.print(f"  {text}", soft_wrap=True), out=runner.out)
            values.update(experiment.hook(context))
            details = details or context.details
        first_runs = first_runs or runs
        repeats.append({"seed": seed, "seconds": round(time.perf_counter() - repeat_start, 1),
                        "values": jsonable(values),
                        "runs": {name: {"dir": os.path.relpath(out.result.run_dir, runner.out),
                                        "epochs": out.epochs, "of": out.result.metrics["epochs_run"],
                                        "source": out.source} for name, out in runs.items()}})
    figures = []
    quick = bool(runner.limit or runner.max_epochs)
    for figure in experiment.figures:
        measured = [repeat["values"].get(figure.source) for repeat in repeats]
        judged = verdict(figure.seeds, measured)
        reason, explained = None, None
        if judged["verdict"] == "differs":
            reason, explained = explain(figure, measured, seeds, quick, figure.hypothesis or experiment.hypothesis)
        figures.append({"label": figure.label, "source": figure.source,
                        "seeds": list(figure.seeds) if isinstance(figure.seeds, tuple) else figure.seeds,
                        "seeds_text": figure.seeds_text, "digits": figure.digits, "values": measured,
                        **judged, "reason": reason, "explained": explained})
    plots = [draw(plot, experiment.id, first_runs, runner.out) for plot in experiment.plots]
    return {"id": experiment.id, "title": experiment.title, "setup": experiment.setup,
            "seconds": round(time.perf_counter() - start, 1), "repeats": repeats, "figures": figures,
            "details": jsonable(details), "plots": plots}


def draw(plot, experiment_id, runs, out):
    """Write one plot of the first repeat into ``out/plots``; returns its entry for results.json."""
    from nnlab.core.plots import plot_curves, plot_history

    path = Path(out) / "plots" / plot.file
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"{experiment_id}: {plot.caption}"
    if plot.kind == "history":
        run = runs[plot.runs[0]]
        history = run.history
        marks = None
        if plot.marks:
            stopped = run.result.metrics["stopped_epoch"]
            marks = {"stopped": stopped or None, "best": run_values("r", run)["r.best_epoch"]}
        plot_history(history, path, title=title, marks=marks)
    else:
        plot_curves({name: runs[name].history[plot.metric] for name in plot.runs}, path,
                    metric=plot.metric, title=title)
    return {"file": f"plots/{plot.file}", "caption": plot.caption}


# ---------------------------------------------------------------- the command


def parse_only(only):
    """``"E5,e9"`` or ``["E5", "E9"]`` -> ``["E5", "E9"]`` in the seeds' order; None -> all."""
    valid = [experiment.id for experiment in experiments.EXPERIMENTS]
    if only is None:
        return valid
    items = only.split(",") if isinstance(only, str) else list(only)
    names = {str(item).strip().upper() for item in items if str(item).strip()}
    unknown = sorted(names - set(valid))
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else repr(only)
        raise NnlabError(f"--only: unknown experiment {shown}; valid: {', '.join(valid)} "
                         "(comma-separated, e.g. --only E5,E9).")
    return [name for name in valid if name in names]


def save(out, results):
    """results.json, then the pages rendered from it."""
    save_results(out, results, order=[experiment.id for experiment in experiments.EXPERIMENTS])
    write_report(results, out)


def reproduce(only=None, repeats=1, out="reports/reproduce", limit=None, max_epochs=None, resume=False,
              overwrite=False, data_dir=None, verbose=None, console=None):
    """Run the chosen experiments with the seeds' settings and write the comparison report.

    Args:
        only: experiment names, ``"E5,E9"`` or a list. Defaults to all of E1-E10.
        repeats: seeds per experiment (42, 43, ...); figures are mean ± std. Defaults to 1.
        out: report folder: index.html, README.md, results.json, plots/, runs/, experiments/.
        limit: keep the first N samples of each split (quick checks). Defaults to all.
        max_epochs: cap every experiment's epochs (and E1's max_iter). Defaults to the seeds'.
        resume: skip experiments already in ``out/results.json`` (made with the same settings).
            Defaults to False: they run again, reusing their finished run folders.
        overwrite: start over in ``out`` even if it holds results made with other settings;
            run folders with another config are replaced. Defaults to False: such a folder is refused.
        data_dir: folder with the Fashion-MNIST IDX files (see ``nnlab.fashion.data``).
        verbose: Keras' fit verbosity; defaults to 1 (progress bar) on a terminal, else 2.
        console: a ``rich.console.Console`` for progress lines.

    Returns the results dict (as written to results.json).
    Raises NnlabError on a bad argument or a folder made with other settings (before any
    work); re-raises KeyboardInterrupt (Ctrl-C) after saving finished experiments.
    """
    from rich.console import Console

    from nnlab.core.runs import versions
    from nnlab.fashion.data import load_fashion_mnist, load_splits
    from nnlab.fashion.plots import sample_grid

    chosen = parse_only(only)
    at_least("--repeats", repeats, 1)
    if max_epochs is not None:
        at_least("--epochs", max_epochs, 1)
    if limit is not None:
        at_least("--limit", limit, 1)
    if resume and overwrite:
        raise NnlabError("--resume keeps the results in --out and --overwrite starts over there; pass one of them.")
    console = console or Console()
    verbose = (1 if console.is_terminal else 2) if verbose is None else verbose
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NnlabError(f"--out {out} is a file; pass a folder for the report.")
    seeds = [FIRST_SEED + i for i in range(repeats)]
    settings = {"repeats": repeats, "seeds": seeds, "limit": limit, "max_epochs": max_epochs}
    results = load_results(out, settings, resume=resume, overwrite=overwrite)
    done = set(results["experiments"]) if resume else set()
    pending = [e for e in experiments.EXPERIMENTS if e.id in chosen and e.id not in done]
    if resume and done & set(chosen):
        console.print(f"resume: skipping {', '.join(sorted(done & set(chosen), key=chosen.index))} "
                      f"(already in {out / 'results.json'})")

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    save(out, results)  # the folder's settings are on record from now on, whatever happens next
    splits = load_splits(data_dir, limit=limit)
    raw = functools.cache(lambda: _limited(load_fashion_mnist(data_dir), limit))
    (x_train, y_train), _ = raw()
    (out / "plots").mkdir(exist_ok=True)
    sample_grid(x_train, y_train, out / "plots" / "samples.png", n=10)
    results.pop("wall_seconds", None)  # set again when this call finishes
    results.update(versions=versions(), cpu_count=os.cpu_count(), data=splits.source.folder if splits.source else None,
                   plots=[{"file": "plots/samples.png", "caption": "the first ten training images"}])
    current = None
    try:
        runner = Runner(out, splits, pending, seeds, limit, max_epochs, verbose, console, started, overwrite)
        for number, experiment in enumerate(pending, 1):
            current = experiment.id
            console.rule(f"[bold]{experiment.id}[/] {experiment.title} ({number}/{len(pending)}) · "
                         f"elapsed {clock(time.perf_counter() - started)}")
            record = run_experiment(experiment, runner, seeds, raw, console)
            results["experiments"][experiment.id] = record
            save(out, results)
            judged = [f["verdict"] for f in record["figures"]]
            console.print(f"{experiment.id} done in {record['seconds']:.0f} s: "
                          f"{judged.count('matches')} of {len(judged) - judged.count('measured')} figures match")
        current = None
    except KeyboardInterrupt:
        save(out, results)
        kept = ", ".join(results["experiments"]) or "none"
        given = (("--only", ",".join(chosen) if only is not None else None),
                 ("--repeats", repeats if repeats != 1 else None), ("--limit", limit), ("--epochs", max_epochs),
                 ("--data-dir", data_dir), ("--out", out))
        flags = "".join(f" {flag} {value}" for flag, value in given if value is not None)
        console.print(f"\n[yellow]interrupted during {current}[/]; finished experiments kept ({kept}) in "
                      f"{out / 'results.json'}. Resume with: nnlab reproduce --resume{flags}  (an interrupted "
                      "run continues from its last finished epoch)", soft_wrap=True)
        raise
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    save(out, results)
    print_summary(results, console)
    console.print(f"report: [bold]{out / 'index.html'}[/] (also README.md, results.json) · "
                  f"{clock(results['wall_seconds'])} for this call")
    return results


def _limited(data, limit):
    (x_train, y_train), (x_test, y_test) = data
    if limit is None:
        return data
    return (x_train[:limit], y_train[:limit]), (x_test[:limit], y_test[:limit])
