"""``nnlab train | evaluate | predict | summary | plot-model``: Fashion-MNIST runs and models.

    nnlab train --preset seeds-final          the seeds' final pipeline (E10) -> runs/<name>/
    nnlab train --resume runs/<name>          continue a run stopped by Ctrl-C or a crash
    nnlab evaluate runs/<name> --split val    on the run's own validation split
    nnlab predict runs/<name> photo.jpg       class and all ten probabilities
"""

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nnlab.cli.common import DataDir, check_png, console, drop_none
from nnlab.core.errors import NnlabError


def train(
    preset: Optional[str] = typer.Option(None, help="Named settings: logreg, dnn-sigmoid, dnn, dropout, "
                                                    "seeds-final, mnist-512, cnn."),
    config: Optional[Path] = typer.Option(None, help="JSON file of settings (e.g. a run's config.json)."),
    resume: Optional[Path] = typer.Option(None, help="Continue this run folder from its last finished epoch "
                                                     "(after Ctrl-C, a crash or kill); takes no other settings."),
    model: Optional[str] = typer.Option(None, help="logreg, dnn-sigmoid, dnn, mnist-512 or cnn."),
    api: Optional[str] = typer.Option(None, help="sequential, functional or subclass."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, rmsprop (Keras' default), adagrad or adam."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: Keras' for the optimizer)."),
    momentum: Optional[float] = typer.Option(None, help="Momentum (sgd, rmsprop)."),
    nesterov: Optional[bool] = typer.Option(None, "--nesterov/--no-nesterov", help="Nesterov momentum (sgd)."),
    schedule: Optional[str] = typer.Option(None, help="Learning rate: constant, or cosine decay to 0."),
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
    """Train a model and write its run folder (config, history, metrics, curves, models)."""
    given = [f"--{key.replace('_', '-')}" for key, value in locals().items()
             if value is not None and key not in ("resume", "verbose", "runs_dir")]
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
        if config is not None:
            if preset is not None:
                raise NnlabError("give either --preset or --config, not both.")
            run_config = TASK.load_config(config, **overrides)
        else:
            run_config = TASK.config(preset, **overrides)
        result = run_training(run_config)
    print_metrics(result.metrics)
    console.print(f"run folder: [bold]{result.run_dir}[/]")


def print_metrics(metrics):
    """The finished run's figures: one row per split, one column per metric Keras logged."""
    names = list(metrics.get("test") or {})
    table = Table("split", *names)
    labels = {"train": "train (last epoch, as Keras logs it)", "val": "val (final model)", "test": "test (final model)"}
    for split in ("train", "val", "test"):
        if metrics.get(split):
            table.add_row(labels[split], *(f"{metrics[split][n]:.4f}" if n in metrics[split] else "-" for n in names))
    best = metrics.get("best_checkpoint") or {}
    for split in ("val", "test"):
        if split in best:
            table.add_row(f"{split} ({best['file']})", *(f"{best[split][n]:.4f}" for n in names))
    console.print(table)
    if best.get("error"):
        console.print(f"[yellow]{best['file']} could not be read back: {best['error']}[/]")
    console.print(f"epochs run {metrics['epochs_run']}, best epoch {metrics['best_epoch']} (0-based, by "
                  f"{metrics['monitor']}), stopped_epoch {metrics['stopped_epoch']}, {metrics['train_seconds']:.1f} s "
                  f"({metrics['seconds_per_epoch']} s/epoch)")


def _model_and_splits(model, split, limit, data_dir):
    """A saved model and the split to score it on: a run folder's own data settings, else the seeds' split."""
    from nnlab.core.runs import read_run
    from nnlab.core.saving import load_model, resolve_model_path
    from nnlab.core.task import get_task
    from nnlab.fashion.task import TASK

    path = resolve_model_path(model)
    run = read_run(model) if Path(model).is_dir() else None
    if run and run["config"] is not None:
        task = get_task(run["config"].get("task", "fashion"))
        config = task.config_from_dict(run["config"])
    else:  # a bare model file: the seeds' pipeline
        task, config = TASK, TASK.config()
    overrides = drop_none({"limit": limit, "data_dir": None if data_dir is None else str(data_dir)})
    for key, value in overrides.items():
        setattr(config, key, value)
    if split == "val" and not config.has_validation():
        raise NnlabError(f"{model} was trained without a validation split (validation 'none'); "
                         "use --split test.")
    return task, path, load_model(path), task.load_data(config.validate())


def evaluate(model: Path = typer.Argument(..., help="A .keras/.h5 model file or a run folder."),
             split: str = typer.Option("test", help="val or test."),
             limit: Optional[int] = typer.Option(None, help="Use only the first N samples."),
             data_dir: Optional[Path] = DataDir):
    """Loss and metrics of a saved model on the validation or test split.

    A run folder is scored on its own splits (its validation setting, limit and data);
    a bare model file on the seeds' split.
    """
    from nnlab.core.evaluation import argmax_accuracy, evaluate as run_evaluate

    if split not in ("val", "test"):
        raise NnlabError(f"--split must be val or test, got {split!r}.")
    task, path, loaded, splits = _model_and_splits(model, split, limit, data_dir)
    x, y = (splits.x_val, splits.y_val) if split == "val" else (splits.x_test, splits.y_test)
    results = run_evaluate(loaded, x, y, task)
    figures = ", ".join(f"{name} {value:.4f}" for name, value in results.items())
    extra = f" (predict+argmax {argmax_accuracy(loaded, x, y, task):.4f})" if not task.multi_output else ""
    console.print(f"{path} on {split} ({len(y):,} samples): {figures}{extra}")


def predict(model: Path = typer.Argument(..., help="A .keras/.h5 model file or a run folder."),
            images: List[Path] = typer.Argument(..., help="PNG or JPEG files."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """Class and all ten class probabilities for each image."""
    from nnlab.core.evaluation import predict as run_predict
    from nnlab.core.saving import load_model
    from nnlab.fashion.data import CLASS_NAMES
    from nnlab.fashion.photos import load_images
    from nnlab.fashion.task import TASK

    x = load_images(images)  # check the images before loading the model
    described = TASK.describe(run_predict(load_model(model), x, TASK))
    rows = [{"image": str(path), "class": row["class"], "class_index": row["class_index"],
             "probabilities": {name: round(p, 6) for name, p in row["class_probabilities"].items()}}
            for path, row in zip(images, described)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    # One column per image, one row per class: fits a terminal for a handful of photos.
    table = Table("class", *(Path(row["image"]).name for row in rows))
    for index, name in enumerate(CLASS_NAMES):
        table.add_row(f"{index} {name}", *(
            f"[bold]{row['probabilities'][name]:.3f}[/]" if row["class_index"] == index
            else f"{row['probabilities'][name]:.3f}" for row in rows))
    table.add_section()
    table.add_row("predicted", *(row["class"] for row in rows))
    console.print(table)


def _model_or_preset(model):
    from nnlab.core.saving import load_model
    from nnlab.fashion.models import MODELS, build_model

    if str(model) in MODELS and not Path(model).exists():
        return build_model(str(model))
    return load_model(model, compile=False)


def summary(model: str = typer.Argument(..., help="A model file, a run folder or a preset name.")):
    """Print Keras' summary table of a saved model or a preset."""
    _model_or_preset(model).summary(print_fn=lambda line, **_: console.print(line, markup=False, highlight=False))


def plot_model(model: str = typer.Argument(..., help="A model file, a run folder or a preset name."),
               out: Path = typer.Argument(..., help="PNG file to write.")):
    """Draw the model graph with keras.utils.plot_model (shapes shown); needs Graphviz's `dot`."""
    import shutil

    import keras

    from nnlab.core.runs import atomic_path

    check_png(out)
    if shutil.which("dot") is None:
        raise NnlabError("Graphviz is not installed (no `dot` on PATH); install it with "
                         "`sudo apt-get install -y graphviz`.")
    with atomic_path(out) as tmp:
        keras.utils.plot_model(_model_or_preset(model), to_file=str(tmp), show_shapes=True, show_layer_names=True)
    console.print(f"wrote {out}")
