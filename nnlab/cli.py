"""Command line: ``nnlab COMMAND --help`` for each.

    nnlab data info                          where the data is, shapes, class counts, hash check
    nnlab data show --n 10 samples.png       a grid of samples with class names
    nnlab train --preset seeds-final         the seeds' final pipeline (E10) -> runs/<name>/
    nnlab train --model dnn --optimizer sgd --lr 0.1 --epochs 5
    nnlab evaluate runs/<name> --split test  loss and accuracy of a saved model or run
    nnlab predict runs/<name> photo.jpg      class and all ten probabilities
    nnlab summary runs/<name>                Keras' summary table (also takes a preset name)
    nnlab plot-model runs/<name> model.png   keras.utils.plot_model (needs Graphviz)
    nnlab runs list | nnlab runs show NAME   the runs and their metrics
    nnlab reproduce                          every experiment of the seeds, compared in one report

A user mistake prints one line starting with ``error:`` and exits with status 2.
"""

import json
import sys
from pathlib import Path
from typing import List, Optional

import nnlab  # noqa: F401  sets the Keras backend before anything imports keras

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from nnlab.errors import NnlabError

app = typer.Typer(help="Train, compare, save, restore and serve Keras models (Fashion-MNIST).",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Inspect the Fashion-MNIST data.", no_args_is_help=True)
runs_app = typer.Typer(help="List and inspect training runs.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")
console = Console()

DataDir = typer.Option(None, "--data-dir", help="Folder with the four IDX files (.gz or raw).")


@data_app.command("info")
def data_info(data_dir: Optional[Path] = DataDir):
    """Where the data was found, array shapes, class counts and the SHA-256 check."""
    import numpy as np

    from nnlab.data import CLASS_NAMES, FILES, locate

    ((x_train, y_train), (x_test, y_test)), source = locate(data_dir)
    console.print(f"[bold]Fashion-MNIST[/] from {source.folder}")
    for name, array in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        console.print(f"  {name:8s} {str(array.shape):16s} {array.dtype}")
    table = Table("class", "name", "train", "test")
    train_counts, test_counts = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    for i, name in enumerate(CLASS_NAMES):
        table.add_row(str(i), name, f"{train_counts[i]:,}", f"{test_counts[i]:,}")
    console.print(table)
    for name, (sha, _) in FILES.items():
        got = source.sha256.get(name)
        status = "[green]ok[/]" if got == sha else ("not checked" if got is None else "[red]differs[/]")
        console.print(f"  sha256 {name:26s} {status}")
    console.print("official Fashion-MNIST" if source.official else "[yellow]not the official files[/]")


@data_app.command("show")
def data_show(out: Path = typer.Argument(..., help="PNG file to write."),
              n: int = typer.Option(10, "--n", help="How many images."),
              split: str = typer.Option("train", help="train or test."),
              data_dir: Optional[Path] = DataDir):
    """Save a grid of the first N images with their class names."""
    from nnlab.data import load_fashion_mnist
    from nnlab.reporting import sample_grid

    if split not in ("train", "test"):
        raise NnlabError(f"--split must be train or test, got {split!r}.")
    _check_png(out)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir)
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    sample_grid(images, labels, out, n=n)
    console.print(f"wrote {out}")


def _check_png(out):
    if Path(out).suffix.lower() != ".png":
        raise NnlabError(f"output file must end in .png, got {out}.")
    if not Path(out).resolve().parent.is_dir():
        raise NnlabError(f"folder {Path(out).parent} does not exist; create it first.")


@app.command()
def train(
    preset: Optional[str] = typer.Option(None, help="Named settings: logreg, dnn-sigmoid, dnn, dropout, "
                                                    "seeds-final, mnist-512, cnn."),
    config: Optional[Path] = typer.Option(None, help="JSON file of settings (e.g. a run's config.json)."),
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
    monitor: Optional[str] = typer.Option(None, help="val_loss, val_accuracy, loss or accuracy "
                                                     "(checkpoint and early stopping)."),
    save_format: Optional[str] = typer.Option(None, help="Whole-model files: keras (default) or h5 (legacy)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 42)."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N samples of each split."),
    name: Optional[str] = typer.Option(None, help="Run folder name (default <model>-<time>)."),
    verbose: Optional[int] = typer.Option(None, help="0 silent, 1 progress bar, 2 one line per epoch."),
    data_dir: Optional[Path] = DataDir,
    runs_dir: Optional[Path] = typer.Option(None, help="Where run folders go (default ./runs)."),
):
    """Train a model and write its run folder (config, history, metrics, curves, models)."""
    from nnlab import config as cfg
    from nnlab.training import train as run_training

    overrides = {
        "model": model, "api": api, "dropout": dropout, "epochs": epochs, "batch_size": batch_size,
        "validation": validation, "save_format": save_format, "seed": seed, "limit": limit, "name": name,
        "verbose": verbose,
        "data_dir": None if data_dir is None else str(data_dir),
        "runs_dir": None if runs_dir is None else str(runs_dir),
        "optimizer": {"name": optimizer, "learning_rate": lr, "momentum": momentum, "nesterov": nesterov,
                      "schedule": schedule},
        "checkpoint": {"enabled": checkpoint, "monitor": monitor, "save_best_only": save_best_only,
                       "save_weights_only": save_weights_only},
        "early_stopping": {"patience": early_stopping, "monitor": monitor,
                           "restore_best_weights": restore_best, "min_delta": min_delta},
    }
    overrides = _drop_none(overrides)
    if config is not None:
        if preset is not None:
            raise NnlabError("give either --preset or --config, not both.")
        run_config = cfg.load_json(config, **overrides)
    else:
        run_config = cfg.from_preset(preset, **overrides)
    result = run_training(run_config)
    if result.metrics["interrupted"]:
        console.print("[yellow]interrupted: training stopped early; what it had learned is saved.[/]")
    _print_metrics(result.metrics)
    console.print(f"run folder: [bold]{result.run_dir}[/]")


def _drop_none(values):
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out


def _print_metrics(metrics):
    table = Table("split", "loss", "accuracy")
    labels = {"train": "train (last epoch, as Keras logs it)", "val": "val (final model)", "test": "test (final model)"}
    for split in ("train", "val", "test"):
        if metrics.get(split):
            table.add_row(labels[split], f"{metrics[split]['loss']:.4f}", f"{metrics[split]['accuracy']:.4f}")
    best = metrics.get("best_checkpoint") or {}
    for split in ("val", "test"):
        if split in best:
            table.add_row(f"{split} ({best['file']})", f"{best[split]['loss']:.4f}", f"{best[split]['accuracy']:.4f}")
    console.print(table)
    console.print(f"epochs run {metrics['epochs_run']}, best epoch {metrics['best_epoch']} (0-based), "
                  f"stopped_epoch {metrics['stopped_epoch']}, {metrics['train_seconds']:.1f} s "
                  f"({metrics['seconds_per_epoch']} s/epoch)")


@app.command()
def evaluate(model: Path = typer.Argument(..., help="A .keras/.h5 model file or a run folder."),
             split: str = typer.Option("test", help="val or test."),
             limit: Optional[int] = typer.Option(None, help="Use only the first N samples."),
             data_dir: Optional[Path] = DataDir):
    """Loss and accuracy of a saved model on the validation or test split."""
    from nnlab.data import load_splits
    from nnlab.evaluation import argmax_accuracy, evaluate as run_evaluate
    from nnlab.saving import load_model, resolve_model_path

    if split not in ("val", "test"):
        raise NnlabError(f"--split must be val or test, got {split!r}.")
    path = resolve_model_path(model)
    loaded = load_model(path)
    splits = load_splits(data_dir, limit=limit)
    x, y = (splits.x_val, splits.y_val) if split == "val" else (splits.x_test, splits.y_test)
    results = run_evaluate(loaded, x, y)
    console.print(f"{path} on {split} ({len(y):,} images): loss {results['loss']:.4f}, "
                  f"accuracy {results['accuracy']:.4f} (predict+argmax {argmax_accuracy(loaded, x, y):.4f})")


@app.command()
def predict(model: Path = typer.Argument(..., help="A .keras/.h5 model file or a run folder."),
            images: List[Path] = typer.Argument(..., help="PNG or JPEG files."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """Class and all ten class probabilities for each image."""
    from nnlab.data import CLASS_NAMES
    from nnlab.evaluation import load_images, predict_proba
    from nnlab.saving import load_model

    x = load_images(images)  # check the images before loading the model
    probabilities = predict_proba(load_model(model), x)
    rows = [{"image": str(path), "class": CLASS_NAMES[int(p.argmax())], "class_index": int(p.argmax()),
             "probabilities": {name: round(float(v), 6) for name, v in zip(CLASS_NAMES, p)}}
            for path, p in zip(images, probabilities)]
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
    from nnlab.config import MODELS
    from nnlab.models import build_model
    from nnlab.saving import load_model

    if str(model) in MODELS and not Path(model).exists():
        return build_model(str(model))
    return load_model(model, compile=False)


@app.command()
def summary(model: str = typer.Argument(..., help="A model file, a run folder or a preset name.")):
    """Print Keras' summary table of a saved model or a preset."""
    _model_or_preset(model).summary(print_fn=lambda line, **_: console.print(line, markup=False, highlight=False))


@app.command("plot-model")
def plot_model(model: str = typer.Argument(..., help="A model file, a run folder or a preset name."),
               out: Path = typer.Argument(..., help="PNG file to write.")):
    """Draw the model graph with keras.utils.plot_model (shapes shown); needs Graphviz's `dot`."""
    import shutil

    import keras

    _check_png(out)
    if shutil.which("dot") is None:
        raise NnlabError("Graphviz is not installed (no `dot` on PATH); install it with "
                         "`sudo apt-get install -y graphviz`.")
    keras.utils.plot_model(_model_or_preset(model), to_file=str(out), show_shapes=True, show_layer_names=True)
    console.print(f"wrote {out}")


@runs_app.command("list")
def runs_list(runs_dir: Path = typer.Option(Path("runs"), help="Folder of run folders.")):
    """A table of runs and their metrics, newest first."""
    from nnlab.reporting import list_runs

    rows = list_runs(runs_dir)
    if not rows:
        console.print(f"no runs in {runs_dir}/ yet; start one with `nnlab train --preset seeds-final`.")
        return
    headers = ("run", "model", "optimizer", "epochs", "best", "val_acc", "test_acc", "s/ep")
    table = Table(*(Column(h, no_wrap=True) for h in headers), box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True, padding=(0, 1))
    for run in rows:
        m, c = run["metrics"] or {}, run["config"]
        fmt = lambda split: f"{m[split]['accuracy']:.4f}" if m.get(split) else "-"  # noqa: E731
        table.add_row(run["name"], c.get("model", "?"), c.get("optimizer", {}).get("name", "?"),
                      str(m.get("epochs_run", "-")), str(m.get("best_epoch", "-")), fmt("val"), fmt("test"),
                      str(m.get("seconds_per_epoch", "-")))
    console.print(table)


@runs_app.command("show")
def runs_show(name: str = typer.Argument(..., help="Run name (folder under --runs-dir) or path."),
              runs_dir: Path = typer.Option(Path("runs"), help="Folder of run folders.")):
    """A run's resolved config, metrics and files."""
    from nnlab.reporting import read_run

    path = Path(name) if Path(name).is_dir() else runs_dir / name
    if not path.is_dir():
        raise NnlabError(f"no run named {name!r} in {runs_dir}/; `nnlab runs list` shows the runs.")
    run = read_run(path)
    console.print(f"[bold]{run['name']}[/] ({path})")
    console.print_json(json.dumps({"config": run["config"], "metrics": run["metrics"]}))
    console.print("files: " + ", ".join(sorted(p.name for p in path.iterdir())))


@app.command()
def reproduce(
    only: Optional[str] = typer.Option(None, help="Comma-separated experiments, e.g. E5,E9 (default: all)."),
    repeats: int = typer.Option(1, help="Seeds per experiment; reports mean ± std."),
    out: Path = typer.Option(Path("reports/reproduce"), help="Report folder."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N samples of each split (quick check)."),
    epochs: Optional[int] = typer.Option(None, help="Cap every experiment's epochs (quick check)."),
    resume: bool = typer.Option(False, help="Skip experiments already finished in --out."),
    data_dir: Optional[Path] = DataDir,
):
    """Rerun the seeds' experiments E1-E10 and compare with the figures they report."""
    from nnlab.reproduce import reproduce as run_reproduce

    run_reproduce(only=only, repeats=repeats, out=out, limit=limit, max_epochs=epochs, resume=resume,
                  data_dir=data_dir)


def _received(error, argv):
    """The value the user typed for the option a BadParameter error is about, if we can find it."""
    for opt in getattr(error.param, "opts", []) if error.param else []:
        for i, token in enumerate(argv):
            if token == opt and i + 1 < len(argv):
                return argv[i + 1]
            if token.startswith(opt + "="):
                return token[len(opt) + 1:]
    return None


def main(argv=None):
    """Entry point of the ``nnlab`` command: user mistakes -> one ``error:`` line, exit status 2."""
    from typer._click import exceptions as click_errors  # Typer's bundled Click

    argv = sys.argv[1:] if argv is None else list(argv)
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = app(argv, standalone_mode=False, prog_name="nnlab")
    except click_errors.NoArgsIsHelpError:
        code = 0  # help was printed
    except click_errors.UsageError as error:
        message = error.format_message()
        if isinstance(error, click_errors.BadParameter) and _received(error, argv) is not None:
            message += f"; got {_received(error, argv)!r}"
        command = error.ctx.command_path if error.ctx else "nnlab"
        stderr.print(f"[bold red]error:[/] {escape(message)} (see `{command} --help`)")
        code = 2
    except NnlabError as error:
        stderr.print(f"[bold red]error:[/] {escape(str(error))}")
        code = 2
    except (KeyboardInterrupt, click_errors.Abort):
        stderr.print("interrupted")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
