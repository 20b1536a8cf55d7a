"""``nnlab train``: a Fashion-MNIST run (evaluate, predict: nnlab/cli/evaluate.py, nnlab/cli/predict.py).

    nnlab train --preset seeds-final          the seeds' final pipeline (E10) -> runs/<name>/
    nnlab train --resume runs/<name>          continue a run stopped by Ctrl-C or a crash
"""

from pathlib import Path
from typing import List, Optional

import typer

from nnlab.cli.common import DataDir, console, drop_none
from nnlab.cli.output import figures_table, split_rows
from nnlab.core.errors import NnlabError


def train(
    preset: Optional[str] = typer.Option(None, help="Named settings: logreg, dnn-sigmoid, dnn, dropout, "
                                                    "seeds-final, mnist-512, cnn, cnn-fast (5-minute "
                                                    "preset), cnn-deep, cnn-ensemble (30-minute preset)."),
    config: Optional[Path] = typer.Option(None, help="YAML or JSON file of settings, over the preset's (a run's "
                                                     "config.json repeats that run; `nnlab config show PRESET` "
                                                     "prints one to start from)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="Any setting by its dotted name, over --config: "
                                                  "--set optimizer.learning_rate=1e-3 --set reduce_lr.patience=2 "
                                                  "(the value is YAML: 3, true, null, [1, 2]). Repeatable; "
                                                  "`nnlab config schema` lists them all."),
    resume: Optional[Path] = typer.Option(None, help="Continue this run folder from its last finished epoch "
                                                     "(after Ctrl-C, a crash or kill); takes no other settings."),
    model: Optional[str] = typer.Option(None, help="logreg, dnn-sigmoid, dnn, mnist-512, cnn, cnn-fast or "
                                                  "cnn-deep."),
    api: Optional[str] = typer.Option(None, help="sequential, functional or subclass."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, rmsprop (Keras' default), adagrad or adam."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: Keras' for the optimizer)."),
    momentum: Optional[float] = typer.Option(None, help="Momentum (sgd, rmsprop)."),
    nesterov: Optional[bool] = typer.Option(None, "--nesterov/--no-nesterov", help="Nesterov momentum (sgd)."),
    schedule: Optional[str] = typer.Option(None, help="Learning rate: constant, cosine, exponential, step or "
                                                      "warmup_cosine (optimizer.* settings tune them)."),
    dropout: Optional[float] = typer.Option(None, help="Dropout rate after the hidden layer, 0 <= R < 1."),
    epochs: Optional[int] = typer.Option(None, help="Epochs (maximum, with early stopping)."),
    batch_size: Optional[int] = typer.Option(None, help="Samples per step (seeds: 32)."),
    validation: Optional[str] = typer.Option(None, help="seeds (80/20, random_state=42), stratified or none."),
    early_stopping: Optional[int] = typer.Option(None, "--early-stopping", metavar="PATIENCE",
                                                 help="Stop after PATIENCE epochs without improvement."),
    restore_best: Optional[bool] = typer.Option(None, "--restore-best/--no-restore-best",
                                                help="EarlyStopping: restore the best weights (default on)."),
    min_delta: Optional[float] = typer.Option(None, help="EarlyStopping: smallest change that counts."),
    checkpoint: Optional[bool] = typer.Option(None, "--checkpoint/--no-checkpoint",
                                              help="ModelCheckpoint to best.keras (default on)."),
    save_best_only: Optional[bool] = typer.Option(None, "--save-best-only/--save-every-epoch"),
    save_weights_only: Optional[bool] = typer.Option(None, "--save-weights-only/--save-whole-model"),
    monitor: Optional[str] = typer.Option(None, help="What checkpoint and early stopping watch: any name Keras "
                                                     "logs (val_loss, val_accuracy, loss, accuracy)."),
    save_format: Optional[str] = typer.Option(None, help="Whole-model files: keras (default) or h5 (legacy)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 42)."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N samples of each split."),
    name: Optional[str] = typer.Option(None, help="Run folder name (default <model>-<time>)."),
    verbose: Optional[int] = typer.Option(None, help="0 silent, 1 progress bar, 2 one line per epoch."),
    data_dir: Optional[Path] = DataDir,
    runs_dir: Optional[Path] = typer.Option(None, help="Where run folders go (default ./runs)."),
):
    """Train a model and write its run folder (config, history, metrics, curves, models).

    Settings, weakest first: the defaults < the preset < --config FILE < --set KEY=VALUE < the named flags.
    """
    given = [f"--{key.replace('_', '-')}".replace("--sets", "--set") for key, value in locals().items()
             if value not in (None, []) and key not in ("resume", "verbose", "runs_dir")]
    from nnlab.core.config_sources import settings_from
    from nnlab.core.training import resume as resume_run, train as run_training
    from nnlab.fashion.task import TASK

    overrides = drop_none({
        "model": model, "api": api, "dropout": dropout, "epochs": epochs, "batch_size": batch_size,
        "validation": validation, "save_format": save_format, "seed": seed, "limit": limit, "name": name,
        "data_dir": None if data_dir is None else str(data_dir),
        "runs_dir": None if runs_dir is None else str(runs_dir),
        "optimizer": {"name": optimizer, "learning_rate": lr, "momentum": momentum, "nesterov": nesterov,
                      "schedule": schedule},
        "checkpoint": {"enabled": checkpoint, "monitor": monitor, "save_best_only": save_best_only,
                       "save_weights_only": save_weights_only},
        "early_stopping": {"patience": early_stopping, "monitor": monitor,
                           "restore_best_weights": restore_best, "min_delta": min_delta},
    })
    if resume is not None:
        if given:
            raise NnlabError(f"--resume continues a run with the settings in its config.json; drop {', '.join(given)} "
                             "(or start a new run without --resume).")
        from nnlab.core.runs import find_run

        result = resume_run(find_run(resume, runs_dir or "runs"), verbose=verbose)
    else:
        if verbose is not None:
            overrides["verbose"] = verbose
        result = run_training(settings_from(TASK, preset, config, sets, overrides))
    print_metrics(result.metrics)
    console.print(f"run folder: [bold]{result.run_dir}[/]")


def print_metrics(metrics):
    """The finished run's figures: one row per split, one column per metric Keras logged."""
    labels = {"train": "train (last epoch, as Keras logs it)", "val": "val (final model)", "test": "test (final model)"}
    rows = split_rows(metrics, labels)
    best = metrics.get("best_checkpoint") or {}
    rows.update({f"{split} ({best['file']})": best[split] for split in ("val", "test") if split in best})
    console.print(figures_table(rows, list(metrics.get("test") or {})))
    if best.get("error"):
        console.print(f"[yellow]{best['file']} could not be read back: {best['error']}[/]")
    console.print(f"epochs run {metrics['epochs_run']}, best epoch {metrics['best_epoch']} (0-based, by "
                  f"{metrics['monitor']}), stopped_epoch {metrics['stopped_epoch']}, {metrics['train_seconds']:.1f} s "
                  f"({metrics['seconds_per_epoch']} s/epoch)")
