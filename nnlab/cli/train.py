"""``nnlab train | evaluate | predict | summary | plot-model``: Fashion-MNIST runs and models.

    nnlab train --preset seeds-final          the seeds' final pipeline (E10) -> runs/<name>/
    nnlab train --resume runs/<name>          continue a run stopped by Ctrl-C or a crash
    nnlab evaluate runs/<name> --split val    on the run's own validation split (+ calibration figures)
    nnlab evaluate runs/<name> --photos       accuracy through the photo path vs the 28x28 originals
    nnlab predict runs/<name> photo.jpg       class and all ten probabilities (calibrated when calibrated)
    nnlab predict runs/<name> photos/ --out predictions.csv
"""

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Column, Table

from nnlab.cli.common import DataDir, check_png, console, drop_none
from nnlab.core.errors import NnlabError


def train(
    preset: Optional[str] = typer.Option(None, help="Named settings: logreg, dnn-sigmoid, dnn, dropout, "
                                                    "seeds-final, mnist-512, cnn, cnn-fast (5-minute "
                                                    "preset), cnn-deep (30-minute preset)."),
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
             photos: bool = typer.Option(False, "--photos", help="Score through the photo path: product-photo-like "
                                         "files made from the split's images, next to the 28x28 originals."),
             n: int = typer.Option(1000, "--n", help="With --photos, --ood or --bags: photos of the first N "
                                                     "images."),
             ood: bool = typer.Option(False, "--ood", help="The \"not an item\" statuses: real item photos and "
                                      "uploads that are not items (AUROC, shares not ok, by kind)."),
             uploads: int = typer.Option(200, "--uploads", help="With --ood: uploads that are not items."),
             bags: bool = typer.Option(False, "--bags", help="Simulated lucky bags through the photo path: Brier "
                                       "score of 'chance of at least one', MAE of expected counts."),
             bag_size: int = typer.Option(5, "--bag-size", help="With --bags: items per bag."),
             bag_count: int = typer.Option(2000, "--bag-count", help="With --bags: bags simulated."),
             mix: Optional[str] = typer.Option(None, "--mix", help="With --bags: the shop's mix of kinds, ten "
                                               "comma-separated weights in class order (default: uniform)."),
             data_dir: Optional[Path] = DataDir):
    """Loss and metrics of a saved model on the validation or test split, and how well calibrated it is.

    A run folder is scored on its own splits (its validation setting, limit and data);
    a bare model file on the seeds' split. For each class output it prints accuracy, NLL,
    Brier score and ECE, before and after calibration when the run has been calibrated
    (`nnlab calibrate`), and writes reliability-<split>.png into the run folder.
    With --photos: accuracy through the photo path against the same images' originals.
    With --ood: how often real item photos and uploads that are not items are not answered
    "ok" (needs `nnlab calibrate`). With --bags: how right the bag summary is.
    """
    from nnlab.core.config import at_least
    from nnlab.core.evaluation import argmax_accuracy, evaluate as run_evaluate
    from nnlab.core.task import num_samples

    if split not in ("val", "test"):
        raise NnlabError(f"--split must be val or test, got {split!r}.")
    at_least("--n", n, 1)
    task, path, loaded, splits = _model_and_splits(model, split, limit, data_dir)
    x, y = (splits.x_val, splits.y_val) if split == "val" else (splits.x_test, splits.y_test)
    if (photos or ood or bags) and task.name != "fashion":
        raise NnlabError(f"--photos, --ood and --bags are about product photos; {model} is a {task.name!r} model.")
    if photos:
        return _evaluate_photos(model, task, path, loaded, x, y, split, n)
    if ood:
        from nnlab.cli.uploads import evaluate_ood

        at_least("--uploads", uploads, 9)
        return evaluate_ood(model, x, split, n, uploads)
    if bags:
        from nnlab.cli.uploads import evaluate_bags
        from nnlab.core.calibration import served_model_path
        from nnlab.core.saving import load_model

        at_least("--bag-size", bag_size, 1)
        at_least("--bag-count", bag_count, 1)
        served, _ = served_model_path(model)
        return evaluate_bags(model, loaded if served == path else load_model(served), x, y, split, n, bag_size,
                             bag_count, _mix(mix))
    results = run_evaluate(loaded, x, y, task)
    figures = ", ".join(f"{name} {value:.4f}" for name, value in results.items())
    extra = f" (predict+argmax {argmax_accuracy(loaded, x, y, task):.4f})" if not task.multi_output else ""
    console.print(f"{path} on {split} ({num_samples(y):,} samples): {figures}{extra}")  # y: array or dict
    _evaluate_calibration(model, task, path, loaded, x, y, split)


def _mix(text):
    if text is None:
        return None
    try:
        weights = [float(item) for item in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 10 or min(weights) < 0 or not sum(weights) > 0:
        raise NnlabError(f"--mix must be ten non-negative comma-separated weights in class order, e.g. "
                         f"2,1,1,1,1,1,1,2,1,1; got {text!r}.")
    return weights


def _evaluate_calibration(model, task, path, loaded, x, y, split):
    """Accuracy, NLL, Brier, ECE of each class output, before and after calibration; the reliability diagram."""
    from nnlab.cli.calibrate import metrics_table
    from nnlab.core import calibration
    from nnlab.core.saving import load_model

    names = calibration.class_outputs(task)
    if not names:
        return
    run_dir = Path(model) if Path(model).is_dir() else None
    calibrated, problem = calibration.calibrated_path(run_dir) if run_dir else (None, None)
    targets = calibration.named_targets(y, task)
    before = calibration.predict_outputs(loaded, x, task)
    after = calibration.predict_outputs(load_model(calibrated), x, task) if calibrated else None
    temperatures = (calibration.read_calibration(run_dir) or {}).get("outputs", {}) if calibrated else {}
    for index, name in enumerate(names):
        curves = {f"{path.name}": (before[name], targets[name])}
        if after is not None:
            curves[f"{calibrated.name} (T = {temperatures[name]['temperature']:.3f})"] = (after[name], targets[name])
        rows = {label: calibration.calibration_metrics(p, t) for label, (p, t) in curves.items()}
        console.print(metrics_table(rows, title=f"calibration of {name} on {split} ({len(targets[name]):,} "
                                                f"samples, {calibration.BINS}-bin ECE)"))
        if run_dir is not None and index == 0:
            figure = calibration.plot_reliability(curves, run_dir / f"reliability-{split}.png",
                                                  title=f"{run_dir.name}: {name}, {split} split")
            console.print(f"reliability diagram: {figure}")
    if run_dir is not None and calibrated is None:
        console.print(f"[yellow]not calibrated: {problem}[/]" if problem else
                      f"not calibrated; `nnlab calibrate {run_dir}` fits a temperature on the validation split")


def _evaluate_photos(model, task, path, loaded, x, y, split, n):
    """Accuracy (and NLL, Brier, ECE) through the photo path, next to the first ``n`` images' 28x28 originals."""
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress

    from nnlab.cli.calibrate import metrics_table
    from nnlab.core.calibration import calibration_metrics, served_model_path
    from nnlab.core.evaluation import predict as run_predict
    from nnlab.core.saving import load_model
    from nnlab.fashion.photoset import through_photos

    if task.name != "fashion":
        raise NnlabError(f"--photos makes product photos of Fashion-MNIST images; {model} is a {task.name!r} "
                         "model.")
    x, y = x[:n], y[:n]
    served, note = served_model_path(model)
    net = loaded if served == path else load_model(served)
    originals = np.rint(x * 255).astype(np.uint8)  # x is uint8 / 255: exact
    stderr = Console(stderr=True)
    with Progress(console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
        bar = progress.add_task("photos", total=len(originals))
        photo_inputs = through_photos(originals, seed=0, advance=lambda: progress.advance(bar))
    rows = {"28x28 originals": calibration_metrics(run_predict(net, x, task), y),
            "photos (JPEG, PNG, WebP)": calibration_metrics(run_predict(net, photo_inputs, task), y)}
    console.print(metrics_table(rows, title=f"{served} ({note}) on the first {len(y):,} {split} images"))
    original, photo = rows["28x28 originals"]["accuracy"], rows["photos (JPEG, PNG, WebP)"]["accuracy"]
    console.print(f"photo path accuracy {photo:.4f} vs {original:.4f} on the originals: "
                  f"{100 * (photo - original):+.1f} points")


PREDICT_CHUNK = 256  # photos read, then predicted, at a time


def predict(model: Path = typer.Argument(..., help="A .keras/.h5 model file or a run folder (its calibrated "
                                                   "model when it has one)."),
            images: List[Path] = typer.Argument(..., help="Image files (PNG, JPEG, WebP, GIF, BMP, TIFF) or "
                                                          "folders of them."),
            out: Optional[Path] = typer.Option(None, "--out", help="Write the predictions to this CSV file."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
            max_pixels: Optional[int] = typer.Option(None, help="Refuse images with more pixels, undecoded "
                                                                "(default 40,000,000)."),
            executor: str = typer.Option("local", help="local, or ray: Ray Data actors (--jobs of them) on a Ray "
                                                        "cluster; IMAGES may then also be globs and CSV/Parquet "
                                                        "lists of paths, --out a .parquet file."),
            jobs: int = typer.Option(1, help="--executor ray: actors, each with the model loaded once."),
            address: Optional[str] = typer.Option(None, help="--executor ray: the cluster's HOST:PORT (default "
                                                             "RAY_ADDRESS, else a local Ray).")):
    """Class and all ten class probabilities for each photo, with a progress bar.

    Folders are searched (recursively) for image files. Unreadable files are listed with
    their reason and the others still predicted: the exit status is 0 when at least one
    file was predicted, 2 when none could be.

    The model file's exported copy (<model file>.jaxexport, written by `nnlab calibrate` and
    by a predict that loads the model with Keras) gives the same probabilities without
    importing Keras, so a cold start is faster; NNLAB_EXPORT=0 turns it off.
    """
    import numpy as np
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from nnlab.core.config import at_least
    from nnlab.core.runs import read_run
    from nnlab.fashion.photos import DEFAULT_MAX_PIXELS, SUFFIXES, PhotoError, find_photos, load_photo

    if executor not in ("local", "ray"):
        raise NnlabError(f"--executor must be local or ray, got {executor!r}.")
    if executor == "ray":  # Ray Data, with this module's helpers: nnlab/fashion/batch_predict.py
        from nnlab.fashion import batch_predict

        batch_predict.run(model, images, sys.modules[__name__], out, as_json, max_pixels, jobs, address)
        return
    if out is not None:
        _check_csv(out)
    if max_pixels is not None:
        at_least("--max-pixels", max_pixels, 1)
    if Path(model).is_dir() and (read_run(model)["config"] or {}).get("task", "fashion") != "fashion":
        raise NnlabError(f"{model} is not a Fashion-MNIST run; `nnlab predict` classifies product photos.")
    files = find_photos(images)
    if not files:
        raise NnlabError(f"no image files in {', '.join(map(str, images))} (looked for {', '.join(SUFFIXES)}).")
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    rows, failures, served = [], [], {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    watched = len(files) > 1 and stderr.is_terminal  # a bar only where someone sees it move
    with Progress(*columns, console=stderr, transient=True, disable=not watched) as progress:
        bar = progress.add_task("predicting", total=len(files))
        for start in range(0, len(files), PREDICT_CHUNK):
            good, arrays = [], []
            for path in files[start:start + PREDICT_CHUNK]:
                try:
                    arrays.append(load_photo(path, max_pixels=max_pixels or DEFAULT_MAX_PIXELS))
                    good.append(path)
                except PhotoError as error:
                    failures.append((path, error))
                progress.advance(bar)
            if good:  # the model is loaded only once a photo could be read
                served = served or _served_model(model, stderr)
                batch = np.stack(arrays)
                statuses = served["assessor"].assess(batch) if served["assessor"] else None
                rows.extend(_describe(good, served["predict"](batch), statuses))
    if not rows:
        if len(failures) == 1:
            raise NnlabError(str(failures[0][1]))
        reasons = "; ".join(str(error).rstrip(".") for _, error in failures)
        raise NnlabError(f"none of the {len(failures)} files could be read: {reasons}.")
    for _, error in failures:
        stderr.print(f"[yellow]skipped[/] {error}", markup=True, highlight=False)
    rows += [{"image": str(path), "error": error.reason} for path, error in failures]
    if out is not None:
        _write_csv(out, rows)
        console.print(f"wrote {len(rows) - len(failures)} predictions to {out}"
                      + (f" ({len(failures)} unreadable files listed with their reason)" if failures else ""))
    elif as_json:
        print(json.dumps(rows, indent=2))
    else:
        _print_predictions([row for row in rows if "error" not in row])


def _served_model(model, stderr):
    """What to predict with: the served file's exported copy when it is current, else the Keras model.

    The exported copy (``<model file>.jaxexport``, nnlab.core.exported) gives the same
    probabilities without importing Keras: a cold ``nnlab predict`` of one photo takes under
    half the time (bench/predict_cold.py). Loading the Keras model of a run folder (re)writes it.
    """
    from nnlab.core import exported
    from nnlab.core.calibration import served_model_path

    from nnlab.fashion.ood import load_assessor

    path, note = served_model_path(model)
    assessor = load_assessor(model) if Path(model).is_dir() else None
    if assessor is None and Path(model).is_dir() and note.startswith("calibrated"):  # calibrated before ood existed
        stderr.print(f"[yellow]note:[/] no \"not an item\" detector in {escape(str(model))}: every photo is answered "
                     f"as an item; `nnlab calibrate {escape(str(model))}` fits it", markup=True, highlight=False)
    if exported.enabled():
        try:
            fast = exported.load_exported(path)
            stderr.print(f"model: {path} ({note})")
            return {"path": path, "predict": fast, "assessor": assessor}
        except exported.Unusable as problem:  # missing or stale: quietly rebuilt below
            if problem.kind == "damaged":
                stderr.print(f"[yellow]note:[/] {escape(str(problem))}; predicting with Keras",
                             markup=True, highlight=False)
    return {**_keras_model(model, path, note, stderr), "assessor": assessor}


def _keras_model(model, path, note, stderr):
    """The served file loaded by Keras; a run folder also gets (again) its exported copy for the next time."""
    from nnlab.core import exported
    from nnlab.core.evaluation import predict as run_predict
    from nnlab.core.saving import load_model
    from nnlab.core.training import enable_compile_cache
    from nnlab.fashion.task import TASK

    enable_compile_cache()
    import jax  # noqa: E402  (the backend Keras runs on)

    # Cache even the short compiles: a cold predict is mostly XLA compiling the weight initializers
    # that loading then overwrites, and the one predict step.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    digest = exported.file_sha256(path) if Path(model).is_dir() else None  # before loading: what was loaded
    net = load_model(path)
    stderr.print(f"model: {path} ({note})")
    if digest is not None:
        _, problem = exported.export_beside(net, path, digest)
        if problem:
            stderr.print(f"[yellow]note:[/] {escape(problem)} (predicting with Keras)", markup=True, highlight=False)
    return {"path": path, "predict": lambda x: run_predict(net, x, TASK, batch_size=PREDICT_CHUNK)}


def _describe(paths, probabilities, statuses=None):
    """One row per photo: status and reason, top class and its index (None unless ok), the ten probabilities
    (rounded to 6 places) by class name; ``statuses`` from ``nnlab.fashion.ood`` (None: every photo ok)."""
    import numpy as np

    from nnlab.fashion.ood import answer

    rows = []
    for index, (path, p) in enumerate(zip(paths, np.asarray(probabilities))):
        row = {"image": str(path), **answer(p, statuses[index] if statuses else None)}
        del row["probability"]  # the CSV and table read it from the probabilities; the JSON never had it
        rows.append(row)
    return rows


def _check_csv(out):
    if Path(out).suffix.lower() != ".csv":
        raise NnlabError(f"--out must be a .csv file, got {out}.")
    if not Path(out).resolve().parent.is_dir():
        raise NnlabError(f"folder {Path(out).parent} does not exist; create it first.")


def _write_csv(out, rows):
    """One line per file: the top class, its probability, all ten probabilities, or the reason it was skipped."""
    import csv
    import io

    from nnlab.core.runs import write_text
    from nnlab.fashion.data import CLASS_NAMES

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["file", "status", "class_index", "class", "probability", *CLASS_NAMES, "reason", "error"])
    for row in rows:
        if "error" in row:
            writer.writerow([row["image"], "unreadable", "", "", "", *[""] * len(CLASS_NAMES), "", row["error"]])
            continue
        p = row["probabilities"]
        ok = row["class"] is not None
        writer.writerow([row["image"], row["status"], row["class_index"] if ok else "", row["class"] or "",
                         p[row["class"]] if ok else "", *(p[name] for name in CLASS_NAMES), row["reason"] or "", ""])
    write_text(out, buffer.getvalue())


def _print_predictions(rows):
    from nnlab.fashion.data import CLASS_NAMES

    if len(rows) > 6:  # one row per file
        table = Table(Column("file", overflow="fold"), "class", "probability")  # long paths wrap, never cut
        for row in rows:
            if row["class"] is None:
                table.add_row(row["image"], f"[dim]{row['status']}[/]", f"[dim]{escape(row['reason'])}[/]")
            else:
                table.add_row(row["image"], row["class"], f"{row['probabilities'][row['class']]:.3f}")
        console.print(table)
        return
    # One column per image, one row per class: fits a terminal for a handful of photos.
    table = Table("class", *(Path(row["image"]).name for row in rows))
    for index, name in enumerate(CLASS_NAMES):
        table.add_row(f"{index} {name}", *(
            f"[bold]{row['probabilities'][name]:.3f}[/]" if row["class_index"] == index
            else f"{row['probabilities'][name]:.3f}" for row in rows))
    table.add_section()
    table.add_row("predicted", *(row["class"] or f"[dim]{row['status']}[/]" for row in rows))
    console.print(table)
    for row in rows:
        if row["class"] is None:
            console.print(f"{escape(Path(row['image']).name)}: {row['status']}: {escape(row['reason'])}")


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
