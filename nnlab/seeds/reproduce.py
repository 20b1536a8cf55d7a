"""Reproduce the seeds' experiments E1-E10 and compare with the figures they report.

    nnlab reproduce                           # all ten, seed 42 -> reports/reproduce/index.html
    nnlab reproduce --only E5,E9 --repeats 3  # seeds 42, 43, 44: mean ± std per figure
    nnlab reproduce --resume                  # after Ctrl-C: skip experiments already in results.json

Each experiment is one entry of ``EXPERIMENTS`` (in ``nnlab/seeds/experiments.py``): its
training runs as nnlab config settings (the seeds' values), the figures the seeds
report, the plots, and at most one hook for the steps that are not a plain training
run. Every run goes through ``nnlab.core.training.train`` and leaves a normal run
folder in ``DIR/runs/`` (named like ``E5-sgd-seed42``). After each experiment its
numbers go into ``DIR/results.json`` and the report (``index.html``, ``README.md``,
``plots/``) is rewritten, so Ctrl-C keeps finished experiments.

Verdicts, with ``tol = max(2 * std, 0.01)`` over the repeats (std = 0 for one repeat):

    value   matches when |seeds - mean| <= tol
    range   matches when lo - tol <= mean <= hi + tol   (E8 0.8758-0.8798, E10 epochs 10-12, "~N epochs")
    claim   matches when it holds in every repeat       (e.g. "val loss rises after its minimum")

Runs with the same settings and seed are trained once and shared: a 5-epoch run is
the first 5 epochs of a 20-epoch one with the same seed (``fit`` draws each epoch's
shuffle in turn from the seeded generator and the callbacks draw nothing), so E4,
E5's RMSprop and E6's 5-epoch curve read the first epochs of E6's 20-epoch run.
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
from nnlab.seeds.report import jsonable, load_results, print_summary, save_results

FIRST_SEED = 42  # repeats use 42, 43, ...; the data split stays the seeds' random_state=42
TOLERANCE_FLOOR = 0.01


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


# ---------------------------------------------------------------- what experiments see


@dataclasses.dataclass
class RunOutput:
    """A run as an experiment sees it: the first ``epochs`` epochs of ``result`` (a RunResult)."""

    result: object
    epochs: int
    shared: bool

    @property
    def history(self):
        return {key: values[:self.epochs] for key, values in self.result.history.items()}


@dataclasses.dataclass
class Context:
    """What a hook gets: this repeat's seed and runs, the data, and a place for report material."""

    seed: int
    runs: dict
    splits: object
    raw: object  # () -> ((x_train, y_train), (x_test, y_test)) uint8, loaded on first use
    max_epochs: int | None
    say: object
    details: dict = dataclasses.field(default_factory=dict)


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


# ---------------------------------------------------------------- running the table


class Runner:
    """Trains the runs the experiments ask for, once per settings and seed."""

    def __init__(self, out, splits, experiments, seeds, limit, max_epochs, verbose, console, started):
        self.out, self.splits, self.limit, self.max_epochs = Path(out), splits, limit, max_epochs
        self.verbose, self.console, self.started = verbose, console, started
        self.done = {}  # settings key -> [RunResult]
        self.flat_splits = None
        # Longest run needed per settings, so that the first request trains it (history-only runs).
        self.longest = {}
        for experiment in experiments:
            for run in experiment.runs:
                for seed in seeds:
                    config = self.config(experiment.id, run, seed)
                    if self.extendable(run, config):
                        key = self.key(config)
                        self.longest[key] = max(self.longest.get(key, 0), config.epochs)

    def config(self, experiment_id, run, seed):
        from nnlab.core.config import merge
        from nnlab.fashion.task import TASK

        epochs = run.settings.get("epochs", 5)
        if self.max_epochs:
            epochs = min(epochs, self.max_epochs)
        return TASK.config(None, **merge(run.settings, {
            "epochs": epochs, "seed": seed, "name": f"{experiment_id}-{run.name}-seed{seed}",
            "runs_dir": str(self.out / "runs"), "verbose": self.verbose, "limit": self.limit}))

    @staticmethod
    def key(config):
        from nnlab.core.config import to_dict

        values = to_dict(config)
        for name in ("name", "verbose", "epochs", "runs_dir"):
            values.pop(name)
        return json.dumps(values, sort_keys=True)

    @staticmethod
    def extendable(run, config):
        return not run.keep and run.build is None and config.early_stopping.patience is None

    def run(self, experiment_id, run, seed, label):
        """A RunOutput for ``run`` with ``seed``: from an earlier run with the same settings, or trained now."""
        import keras

        from nnlab.core.training import train

        config = self.config(experiment_id, run, seed)
        key = None if run.build else self.key(config)
        for result in self.done.get(key, []):
            length = result.metrics["epochs_run"]
            if length == config.epochs or (self.extendable(run, config) and length > config.epochs
                                           and result.config.early_stopping.patience is None):
                part = f"first {config.epochs} of {length} epochs of" if length > config.epochs else "same as"
                self.console.print(f"  [dim]{label}: {part} run {result.run_dir.name}[/]", soft_wrap=True)
                return RunOutput(result, config.epochs, shared=True)
        wanted = config.epochs
        if self.extendable(run, config):
            config.epochs = max(config.epochs, self.longest.get(key, 0))
        shutil.rmtree(self.out / "runs" / config.name, ignore_errors=True)  # a stale or interrupted run
        model, splits = None, self.splits
        if run.build is not None:
            keras.utils.set_random_seed(seed)  # train() seeds after the model exists; seed its weights too
            model, splits = run.build(), self.flat()
        extra = f" ({config.epochs} epochs, shared with later experiments)" if config.epochs > wanted else ""
        self.console.print(f"  [bold]{label}[/]{extra} · elapsed {clock(time.perf_counter() - self.started)}",
                           soft_wrap=True)
        result = train(config, splits=splits, model=model)
        if key is not None:
            self.done.setdefault(key, []).append(result)
        return RunOutput(result, min(wanted, result.metrics["epochs_run"]), shared=False)  # early stopping

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
            context = Context(seed, runs, runner.splits, raw, runner.max_epochs,
                              say=lambda text: console.print(f"  {text}", soft_wrap=True))
            values.update(experiment.hook(context))
            details = details or context.details
        first_runs = first_runs or runs
        repeats.append({"seed": seed, "seconds": round(time.perf_counter() - repeat_start, 1),
                        "values": jsonable(values),
                        "runs": {name: {"dir": os.path.relpath(out.result.run_dir, runner.out),
                                        "epochs": out.epochs, "of": out.result.metrics["epochs_run"],
                                        "shared": out.shared} for name, out in runs.items()}})
    figures = []
    for figure in experiment.figures:
        measured = [repeat["values"].get(figure.source) for repeat in repeats]
        judged = verdict(figure.seeds, measured)
        reason = None
        if judged["verdict"] == "differs":
            reason = figure.reason or experiment.reason
            if runner.limit or runner.max_epochs:
                reason = "quick check (--limit/--epochs): not the seeds' data size or epochs."
        figures.append({"label": figure.label, "source": figure.source,
                        "seeds": list(figure.seeds) if isinstance(figure.seeds, tuple) else figure.seeds,
                        "seeds_text": figure.seeds_text, "digits": figure.digits, "values": measured,
                        **judged, "reason": reason})
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


def reproduce(only=None, repeats=1, out="reports/reproduce", limit=None, max_epochs=None, resume=False,
              data_dir=None, verbose=None, console=None):
    """Run the chosen experiments with the seeds' settings and write the comparison report.

    Args:
        only: experiment names, ``"E5,E9"`` or a list. Defaults to all of E1-E10.
        repeats: seeds per experiment (42, 43, ...); figures are mean ± std. Defaults to 1.
        out: report folder: index.html, README.md, results.json, plots/, runs/.
        limit: keep the first N samples of each split (quick checks). Defaults to all.
        max_epochs: cap every experiment's epochs (and E1's max_iter). Defaults to the seeds'.
        resume: skip experiments already in ``out/results.json`` (made with the same settings).
        data_dir: folder with the Fashion-MNIST IDX files (see ``nnlab.fashion.data``).
        verbose: Keras' fit verbosity; defaults to 1 (progress bar) on a terminal, else 2.
        console: a ``rich.console.Console`` for progress lines.

    Returns the results dict (as written to results.json).
    Raises NnlabError on a bad argument; re-raises KeyboardInterrupt after saving finished experiments.
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
    console = console or Console()
    verbose = (1 if console.is_terminal else 2) if verbose is None else verbose
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NnlabError(f"--out {out} is a file; pass a folder for the report.")
    seeds = [FIRST_SEED + i for i in range(repeats)]
    settings = {"repeats": repeats, "seeds": seeds, "limit": limit, "max_epochs": max_epochs}
    results, note = load_results(out, settings, resume)
    if note:
        console.print(f"[yellow]{note}[/]")
    done = set(results["experiments"]) if resume else set()
    pending = [e for e in experiments.EXPERIMENTS if e.id in chosen and e.id not in done]
    if resume and done & set(chosen):
        console.print(f"resume: skipping {', '.join(sorted(done & set(chosen), key=chosen.index))} "
                      f"(already in {out / 'results.json'})")

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    splits = load_splits(data_dir, limit=limit)
    raw = functools.cache(lambda: _limited(load_fashion_mnist(data_dir), limit))
    (x_train, y_train), _ = raw()
    (out / "plots").mkdir(exist_ok=True)
    sample_grid(x_train, y_train, out / "plots" / "samples.png", n=10)
    results.pop("wall_seconds", None)  # set again when this call finishes
    results.update(versions=versions(), cpu_count=os.cpu_count(), data=splits.source.folder if splits.source else None,
                   plots=[{"file": "plots/samples.png", "caption": "the first ten training images"}])
    runner = Runner(out, splits, pending, seeds, limit, max_epochs, verbose, console, started)
    current = None
    try:
        for number, experiment in enumerate(pending, 1):
            current = experiment.id
            console.rule(f"[bold]{experiment.id}[/] {experiment.title} ({number}/{len(pending)}) · "
                         f"elapsed {clock(time.perf_counter() - started)}")
            record = run_experiment(experiment, runner, seeds, raw, console)
            results["experiments"][experiment.id] = record
            save_results(out, results)
            judged = [f["verdict"] for f in record["figures"]]
            console.print(f"{experiment.id} done in {record['seconds']:.0f} s: "
                          f"{judged.count('matches')} of {len(judged) - judged.count('measured')} figures match")
        current = None
    except KeyboardInterrupt:
        save_results(out, results)
        kept = ", ".join(results["experiments"]) or "none"
        given = (("--only", ",".join(chosen) if only is not None else None),
                 ("--repeats", repeats if repeats != 1 else None), ("--limit", limit), ("--epochs", max_epochs),
                 ("--data-dir", data_dir), ("--out", out))
        flags = "".join(f" {flag} {value}" for flag, value in given if value is not None)
        console.print(f"\n[yellow]interrupted during {current}[/]; finished experiments kept ({kept}) in "
                      f"{out / 'results.json'}. Resume with: nnlab reproduce --resume{flags}")
        raise
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    save_results(out, results)
    print_summary(results, console)
    console.print(f"report: [bold]{out / 'index.html'}[/] (also README.md, results.json) · "
                  f"{clock(results['wall_seconds'])} for this call")
    return results


def _limited(data, limit):
    (x_train, y_train), (x_test, y_test) = data
    if limit is None:
        return data
    return (x_train[:limit], y_train[:limit]), (x_test[:limit], y_test[:limit])
