"""``nnlab tickets make-data | train | evaluate | predict | add-head``: support-ticket triage.

evaluate and predict: nnlab/cli/evaluate.py and nnlab/cli/predict.py, beside the fashion commands.

    nnlab tickets make-data --n 20000 --out tickets.csv --seed 0     synthetic tickets (not real data)
    nnlab tickets train tickets.csv                                  preset triage -> runs/<name>/
    nnlab tickets train export.csv --columns title=Subject,body=Description,tags=Tags,priority=Priority,\
        department=Group --priority-levels Low,Normal,High,Urgent    a helpdesk's export, as it is
    nnlab tickets train --resume runs/<name>                         continue after Ctrl-C or a crash
    nnlab tickets evaluate runs/<name> [other.csv]                   per-head loss and metrics
    nnlab tickets predict runs/<name> --json '{"title": "...", "body": "...", "tags": ["billing"]}'
    nnlab tickets predict runs/<name> new.jsonl --out triaged.csv    with a progress bar
    nnlab tickets add-head runs/<name> --name difficulty --classes 3 a third head on the shared Dense(64)
"""

import os
from pathlib import Path
from typing import Optional

# TensorFlow (the ticket model's string ops) prints C++ start-up notes ("oneDNN custom operations
# are on ...") unless told otherwise before it is first imported; they are not for our users.
# Set here, in the command line's entry, not in the library: a program importing nnlab keeps its own.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import typer
from rich.markup import escape

from nnlab.cli.common import console, drop_none, run_task, stoppable
from nnlab.cli.evaluate import evaluate_tickets, ticket_run
from nnlab.cli.output import check_output, figures_table, split_rows
from nnlab.cli.predict import predict_tickets
from nnlab.core.errors import NnlabError

app = typer.Typer(help="Support-ticket triage: priority and department from title, body and tags.",
                  no_args_is_help=True)


def parse_loss_weights(text):
    """``"priority=0.5,department=1"`` -> ``{"priority": 0.5, "department": 1.0}``."""
    weights = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise NnlabError(f"--loss-weights must look like priority=0.5,department=1; got {text!r}.") from None
    return weights


def make_data(n: int = typer.Option(20_000, "--n", help="Number of tickets."),
              out: Path = typer.Option(Path("tickets.csv"), help="Output file, .csv or .jsonl."),
              seed: int = typer.Option(0, help="Random seed: the same seed gives the same file.")):
    """Write a synthetic ticket file (made-up data, for trying the system; real use needs your own tickets)."""
    from nnlab.core.config import at_least
    from nnlab.tickets.synth import generate, write_tickets

    at_least("--n", n, 1)
    check_output(out, (".csv", ".jsonl"))
    write_tickets(generate(n, seed), out)
    console.print(f"wrote {n:,} synthetic tickets to {escape(str(out))} (seed {seed})")


def _print_run(metrics, run_dir):
    names = [key for key in ("loss", "priority_mae", "department_accuracy") if key in (metrics.get("test") or {})]
    names += [key for key in (metrics.get("test") or {}) if key not in names and key.endswith("_accuracy")]
    labels = {"train": "train (last epoch)", "val": "val (final model)", "test": "test (final model)"}
    rows = split_rows(metrics, labels)
    base = metrics.get("baselines") or {}
    if base:
        rows["test, baseline (mean / majority)"] = {"priority_mae": base["test_priority_mae_mean"],
                                                    "department_accuracy": base["test_department_accuracy_majority"]}
    console.print(figures_table(rows, names))
    data = metrics.get("data") or {}
    if data.get("skipped"):
        console.print(f"[yellow]skipped {data['skipped']} bad rows[/] of {data['file']} (--skip-bad); "
                      f"trained on {data['tickets']:,} tickets")
    console.print(f"epochs run {metrics['epochs_run']}, best epoch {metrics['best_epoch']} (by {metrics['monitor']}), "
                  f"stopped_epoch {metrics['stopped_epoch']}, {metrics['train_seconds']:.1f} s")
    console.print(f"run folder: [bold]{escape(str(run_dir))}[/] (served.keras, model.png, confusion_matrix.png, "
                  "curves.png)")


def _resume(resume, runs_dir, verbose):
    from nnlab.core.training import resume as resume_run

    run_dir, task, values = run_task(resume, runs_dir or "runs")
    if task is None or task.name != "tickets":
        raise NnlabError(f"{run_dir} is not a ticket run (task {(values or {}).get('task')!r}); "
                         "use `nnlab train --resume`.")
    return resume_run(run_dir, verbose=verbose)


def train(
    data: Optional[Path] = typer.Argument(None, help="Ticket file: .csv, .tsv or .txt (delimiter , ; tab or | "
                                                     "found from the header), .jsonl, .ndjson, or .json (an "
                                                     "array of objects); not with --resume; may come from "
                                                     "--config."),
    preset: Optional[str] = typer.Option(None, help="triage (the default: Adam 3e-4, priority trained on its "
                                                    "absolute error with weight 10, EarlyStopping and "
                                                    "ModelCheckpoint on val_loss: both heads), seeds (the seeds' "
                                                    "settings: EarlyStopping on val_department_accuracy, patience "
                                                    "2) or subclass (seeds, keras.Model twin)."),
    config: Optional[Path] = typer.Option(None, help="YAML or JSON file of settings, over the preset's (a run's "
                                                     "config.json repeats that run; `nnlab config show triage "
                                                     "--task tickets` prints one to start from)."),
    sets: Optional[list[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="Any setting by its dotted name, over --config: "
                                                  "--set hidden_units=128 --set split_seed=7 (the value is YAML: "
                                                  "3, true, null, [1, 2]). Repeatable; `nnlab config schema "
                                                  "--task tickets` lists them all."),
    resume: Optional[Path] = typer.Option(None, help="Continue this run folder from its last finished epoch."),
    model: Optional[str] = typer.Option(None, help="functional (the seeds' graph) or subclass."),
    epochs: Optional[int] = typer.Option(None, help="Epochs at most (triage: 40, seeds: 10; early stopping decides)."),
    patience: Optional[int] = typer.Option(None, help="EarlyStopping patience (triage: 3, seeds: 2)."),
    monitor: Optional[str] = typer.Option(None, help="What checkpoint and early stopping watch (triage: val_loss; "
                                                     "seeds: val_loss and val_department_accuracy)."),
    val_split: Optional[float] = typer.Option(None, help="Fraction for validation (default 0.15)."),
    test_split: Optional[float] = typer.Option(None, help="Fraction held out for testing (default 0.15)."),
    loss_weights: Optional[str] = typer.Option(None, help="Per-output loss weights: priority=0.5,department=1."),
    priority_loss: Optional[str] = typer.Option(None, help="mean_squared_error (the seeds'), mean_absolute_error "
                                                           "(triage) or huber."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, rmsprop (the seeds'), adagrad or adam."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: Keras' for the optimizer)."),
    batch_size: Optional[int] = typer.Option(None, help="Tickets per step (default 32)."),
    vocabulary_size: Optional[int] = typer.Option(None, help="Words in the multi-hot vocabulary (default 10000)."),
    num_tags: Optional[int] = typer.Option(None, help="Tags in the multi-hot tag vocabulary (default 100)."),
    departments: Optional[str] = typer.Option(None, help="Fix the department labels and their order, "
                                                         "comma-separated; other labels are bad rows "
                                                         "(default: the labels in the file, sorted)."),
    columns: Optional[str] = typer.Option(None, help="The file's names of our columns: title=Subject,"
                                                     "body=Description,tags=Tags,priority=Priority,department=Group "
                                                     "(kept with the run for predict and evaluate)."),
    priority_levels: Optional[str] = typer.Option(None, help="Named priority levels, lowest first: "
                                                             "Low,Normal,High,Urgent (scores 0, 1/3, 2/3, 1); "
                                                             "default: priorities are numbers in 0..1."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Train on the good rows of a file with bad ones."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N tickets."),
    seed: Optional[int] = typer.Option(None, help="Random seed of weights and shuffling (default 42)."),
    name: Optional[str] = typer.Option(None, help="Run folder name (default <preset>-<time>)."),
    verbose: Optional[int] = typer.Option(None, help="0 silent, 1 progress bar, 2 one line per epoch."),
    runs_dir: Optional[Path] = typer.Option(None, help="Where run folders go (default ./runs)."),
):
    """Train the ticket model (the seeds' graph) on a ticket file and write its run folder.

    Settings, weakest first: the defaults < the preset (triage) < --config FILE < --set KEY=VALUE < named flags.
    """
    if resume is not None:
        given = [f"--{key.replace('_', '-')}".replace("--sets", "--set") for key, value in locals().items()
                 if key not in ("resume", "verbose", "runs_dir", "skip_bad") and value not in (None, [])]
        if given or skip_bad:
            raise NnlabError(f"--resume continues a run with the settings in its config.json; drop "
                             f"{', '.join(given + (['--skip-bad'] if skip_bad else []))}.")
        result = _resume(resume, runs_dir, verbose)
    else:
        from nnlab.core.config_sources import settings_from
        from nnlab.core.training import train as run_training
        from nnlab.tickets.config import DEFAULT_PRESET
        from nnlab.tickets.task import TASK

        if data is None and config is None and not any(item.strip().startswith("data=") for item in sets or ()):
            raise NnlabError("give the ticket file: `nnlab tickets train tickets.csv` "
                             "(`nnlab tickets make-data` writes a synthetic one).")
        overrides = drop_none({
            "data": None if data is None else str(data), "model": model, "epochs": epochs, "val_split": val_split,
            "test_split": test_split, "priority_loss": priority_loss,
            "loss_weights": parse_loss_weights(loss_weights) if loss_weights else None,
            "batch_size": batch_size, "vocabulary_size": vocabulary_size, "num_tags": num_tags,
            "departments": departments, "columns": columns, "priority_levels": priority_levels,
            "skip_bad": skip_bad or None, "limit": limit, "seed": seed, "name": name,
            "verbose": verbose, "runs_dir": None if runs_dir is None else str(runs_dir),
            "optimizer": {"name": optimizer, "learning_rate": lr},
            # one --monitor for both callbacks, as `nnlab train`: the best checkpoint is what early stopping restores
            "checkpoint": {"monitor": monitor},
            "early_stopping": {"patience": patience, "monitor": monitor},
        })
        result = run_training(settings_from(TASK, preset, config, sets, overrides, default_preset=DEFAULT_PRESET))
    _print_run(result.metrics, result.run_dir)


def add_head(run: Path = typer.Argument(..., help="A finished ticket run folder (functional model)."),
             name: str = typer.Option(..., help="The new output's name: a label column of the data (e.g. difficulty)."),
             classes: int = typer.Option(..., help="Number of classes of the new head."),
             labels: Optional[str] = typer.Option(None, help="Its labels, comma-separated, in output order "
                                                              "(default: the sorted labels found in the data)."),
             data: Optional[Path] = typer.Option(None, help="Ticket file with that column (default: the run's)."),
             finetune: bool = typer.Option(False, "--finetune", help="Train every layer, not only the new head."),
             epochs: Optional[int] = typer.Option(None, help="Epochs at most (default: the base run's)."),
             run_name: Optional[str] = typer.Option(None, help="The new run folder's name."),
             verbose: Optional[int] = typer.Option(None, help="0 silent, 1 progress bar, 2 one line per epoch.")):
    """A new run with a third softmax head on the trained model's shared Dense(64); shared layers frozen."""
    from nnlab.core.config import at_least, to_dict
    from nnlab.core.training import train as run_training
    from nnlab.tickets.task import head_labels

    at_least("--classes", classes, 2)
    run_dir, base_task, base = ticket_run(run)
    if base.head is not None:
        raise NnlabError(f"{run_dir} already has the extra head {base.head!r}; add heads to a two-output run.")
    data_path = str(data) if data is not None else base.data
    found = head_labels(data_path, name, labels, classes, base.skip_bad, base.column_map())
    task = base_task.with_head(name)  # the settings' "head" names the new output (no task name of its own)
    values = {key: value for key, value in to_dict(base).items() if key not in ("name", "preset")}
    config = task.config_from_dict({
        **values, "task": task.name, "data": data_path, "base_run": str(run_dir.resolve()), "head": name,
        "head_labels": ",".join(found), "finetune": finetune, "name": run_name,
        # the frozen heads' accuracy cannot change: early stopping watches the new head
        "early_stopping": {**values["early_stopping"], "monitor": f"val_{name}_accuracy"},
        **drop_none({"epochs": epochs, "verbose": verbose})})
    result = run_training(config)
    _print_run(result.metrics, result.run_dir)


for _name, _command in (("make-data", make_data), ("train", train), ("evaluate", evaluate_tickets),
                        ("predict", predict_tickets), ("add-head", add_head)):
    app.command(_name)(stoppable(_command))
