"""Which training runs ``nnlab reproduce`` trains, shares, reuses or continues (the ``Runner``).

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

Nothing finished is deleted. A run folder in ``DIR/runs/`` with the same config as a
request is used as it is: finished, it is read back (history.json, metrics.json,
final.keras when a hook needs the model); interrupted or killed, it is continued
with ``nnlab.core.training.resume``. A folder with another config is replaced only
with ``--overwrite``, else refused with the differences named.
"""

import dataclasses
import functools
import json
import shutil
import time
from pathlib import Path

from nnlab.core.errors import NnlabError
from nnlab.seeds import experiments

NOT_COMPUTING = ("name", "verbose", "runs_dir")  # config keys that do not change what a run computes
FIX = "pass --overwrite to replace it, or choose another --out"


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
        self.flat_splits, self.fresh = None, set()
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

    def find(self, config, prefix, folders=None):
        """A known folder with the same run (``prefix``: or a longer one to read the first epochs of)."""
        key, base = run_key(config), run_key(config, epochs=False)
        folders = self.folders if folders is None else folders
        for folder in folders:
            if run_key(folder.config) == key:
                return folder
        if prefix:  # same settings but epochs, hence also constant rate and no early stopping
            longer = [f for f in folders if f.config.epochs > config.epochs and run_key(f.config, False) == base]
            if longer:  # prefer one that needs no training
                return max(longer, key=lambda f: (f.result is not None or f.status == "finished", f.config.epochs))
        return None

    def plan(self, pending, seeds):
        """The runs a sequential pass would train from their settings alone, named and sized as it would.

        Follows :meth:`run`'s order and sharing without training anything, so that ``--jobs`` can train them
        side by side first; the sequential pass then finds them finished (see ``fresh``). Runs whose model
        an experiment builds itself, and folders that hold other settings, are left to the sequential pass.
        """
        known, planned = list(self.folders), []
        for experiment in pending:
            for seed in seeds:
                for run in experiment.runs:
                    if run.build is not None:
                        continue
                    config = self.config(experiment.id, run, seed)
                    prefix = self.prefix_allowed(run, config)
                    if self.find(config, prefix, known) is not None:
                        continue
                    if prefix:
                        config.epochs = max(config.epochs, self.longest.get(run_key(config, epochs=False), 0))
                    run_dir = self.out / "runs" / config.name
                    if run_dir.exists():
                        continue
                    planned.append(config)
                    known.append(Folder(run_dir, config, "planned"))
        return planned

    def rescan(self, fresh):
        """See the folders trained side by side (``fresh``: their names), which count as trained by this call."""
        self.folders, self.fresh = self.scan(), set(fresh)

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
        if folder.status == "finished" and folder.run_dir.name in self.fresh:  # trained side by side (--jobs)
            folder.result = FinishedRun.read(folder.run_dir, folder.config)
            self.console.print(f"  [bold]{label}[/]: trained in parallel as {folder.run_dir.name}", soft_wrap=True)
            return folder.result, "trained"
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
            config = folder.config.model_copy(update={"name": folder.run_dir.name,
                                                      "runs_dir": str(folder.run_dir.parent), "verbose": self.verbose})
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
