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

How figures are judged and when a difference gets a reason: ``nnlab.seeds.verdicts``.
Which runs are shared, reused or continued: ``nnlab.seeds.runner``.
"""

import dataclasses
import functools
import os
import time
from pathlib import Path

import numpy as np

from nnlab.core.config import at_least
from nnlab.core.errors import NnlabError
from nnlab.seeds import experiments
from nnlab.seeds.experiments import RISE
from nnlab.seeds.report import print_summary, write_report
from nnlab.seeds.results import jsonable, load_results, save_results
from nnlab.seeds.runner import Runner, clock
from nnlab.seeds.verdicts import explain, verdict

FIRST_SEED = 42  # repeats use 42, 43, ...; the data split stays the seeds' random_state=42


# ---------------------------------------------------------------- what experiments see


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



# ---------------------------------------------------------------- running the table


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
              overwrite=False, data_dir=None, verbose=None, console=None, jobs=1,
              executor="local", address=None):
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
        jobs: runs trained side by side first, each a process on its share of the cores
            (:mod:`nnlab.core.pool`); the results are a sequential call's. Defaults to 1.
        executor: ``"local"`` (processes on this machine) or ``"ray"``: the runs are Ray tasks
            on the cluster at ``address`` (else RAY_ADDRESS, else a local Ray), ``jobs`` at a time;
            the results are a sequential call's. Defaults to ``"local"``.
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
    at_least("--jobs", jobs, 1)
    if executor not in ("local", "ray"):
        raise NnlabError(f"--executor must be local or ray, got {executor!r}.")
    if address is not None and executor != "ray":
        raise NnlabError("--address joins a Ray cluster: give it with --executor ray.")
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

    if executor == "ray":  # join (or fail to) before any work: one error line, not a half-made folder
        from nnlab.core import raycluster

        raycluster.connect(address)
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
        if jobs > 1 or executor == "ray":
            planned = runner.plan(pending, seeds)
            if planned:
                console.print(f"training {len(planned)} runs, {jobs} at a time, before the experiments read them")
                from nnlab.core.pool import train_all, train_all_ray

                say = lambda text: console.print(text, soft_wrap=True)  # noqa: E731
                env = {"NNLAB_DATA_DIR": str(data_dir)} if data_dir is not None else None
                if executor == "ray":
                    train_all_ray(planned, jobs, address=address, say=say, env=env)
                else:
                    train_all(planned, jobs, say=say, env=env)
            runner.rescan(config.name for config in planned)
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
