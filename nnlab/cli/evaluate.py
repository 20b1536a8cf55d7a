"""``nnlab evaluate`` and ``nnlab tickets evaluate``: a saved model's loss and metrics on a split or a file.

    nnlab evaluate runs/<name> --split val    on the run's own validation split (+ calibration figures)
    nnlab evaluate runs/<name> --photos       accuracy through the photo path vs the 28x28 originals
    nnlab tickets evaluate runs/<name> [other.csv]   per-head loss and metrics

Both read the run's settings and task (``nnlab.cli.common.run_settings``) and score the
split its task loads with the run's own fitted preprocessing (``run_splits``).
"""

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from nnlab.cli.common import DataDir, console, drop_none, run_settings, run_values
from nnlab.cli.output import calibration_table, values_table
from nnlab.core.errors import NnlabError


def run_splits(task, config, run_dir=None):
    """The splits ``config`` says, read with the fitted preprocessing of ``run_dir`` (a finished run), if any."""
    state = task.preprocessing(run_dir) if run_dir is not None else None
    # A task without fitted state may define load_data(config) alone (tasks written before the hook).
    return task.load_data(config) if state is None else task.load_data(config, state)


def _model_and_splits(model, split, limit, data_dir):
    """A saved model and the split to score it on: a run folder's own data settings, else the seeds' split."""
    from nnlab.core.saving import load_model, resolve_model_path
    from nnlab.core.task import task_for
    from nnlab.fashion.task import TASK

    path = resolve_model_path(model)
    values = run_values(model) if Path(model).is_dir() else None
    overrides = drop_none({"limit": limit, "data_dir": None if data_dir is None else str(data_dir)})
    if values is not None:
        task = task_for(values)
        config = task.config_from_dict({**values, **overrides})
    else:  # a bare model file: the seeds' pipeline
        task, config = TASK, TASK.config(**overrides)
    if split == "val" and not config.has_validation():
        raise NnlabError(f"{model} was trained without a validation split (validation 'none'); "
                         "use --split test.")
    return task, path, load_model(path), run_splits(task, config, Path(model) if values is not None else None)


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
        console.print(calibration_table(rows, title=f"calibration of {name} on {split} ({len(targets[name]):,} "
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
    console.print(calibration_table(rows, title=f"{served} ({note}) on the first {len(y):,} {split} images"))
    original, photo = rows["28x28 originals"]["accuracy"], rows["photos (JPEG, PNG, WebP)"]["accuracy"]
    console.print(f"photo path accuracy {photo:.4f} vs {original:.4f} on the originals: "
                  f"{100 * (photo - original):+.1f} points")


def ticket_run(run):
    """``(run_dir, task, config)`` of a ticket run folder named on the command line; other folders are refused."""
    run_dir, task, config = run_settings(run)
    if task is None or task.name != "tickets":
        raise NnlabError(f"{run_dir} is not a ticket run folder (made by `nnlab tickets train`).")
    return run_dir, task, config


def evaluate_tickets(run: Path = typer.Argument(..., help="A ticket run folder."),
                     data: Optional[Path] = typer.Argument(None, help="Ticket file to score (default: the run's "
                                                                      "test split)."),
                     skip_bad: bool = typer.Option(False, "--skip-bad", help="Score the good rows of a file with "
                                                                             "bad ones.")):
    """Loss and metrics of every head of a run's final model, on its test split or on another ticket file."""
    from nnlab.core.evaluation import evaluate as run_evaluate
    from nnlab.core.saving import load_model
    from nnlab.tickets.data import read_tickets

    run_dir, task, config = ticket_run(run)
    preprocessing = task.preprocessing(run_dir)  # the run's own vocabularies and labels
    vectorizer, labels = preprocessing.vectorizer, preprocessing.labels
    if data is None:
        splits = task.load_data(config, preprocessing)
        x, y, what = splits.x_test, splits.y_test, f"its test split of {config.data}"
        skipped = len(splits.source.skipped)
    else:
        tickets = read_tickets(data, require=("priority", *labels), label_sets=labels, skip_bad=skip_bad,
                               columns=config.column_map(), priority_levels=config.levels())
        x, y, what = vectorizer.transform(tickets), task.targets(tickets, labels), str(data)
        skipped = len(tickets.skipped)
    model = load_model(run_dir / "final.keras")
    results = run_evaluate(model, x, y, task)
    count = len(y["priority"])
    console.print(f"{escape(str(run_dir / 'final.keras'))} on {escape(what)} ({count:,} tickets"
                  f"{f', {skipped} bad rows skipped' if skipped else ''}):")
    console.print("departments: " + escape(", ".join(labels["department"]))
                  + (f"; priority levels: {escape(', '.join(config.levels()))}" if config.levels() else ""))
    if config.levels():
        results["priority_level_accuracy"] = _level_accuracy(model, x, y, config.levels())
    console.print(values_table(results))


def _level_accuracy(model, x, y, levels):
    """The share of tickets whose predicted score is nearest their own priority level."""
    import numpy as np

    from nnlab.tickets.data import nearest_level

    outputs = model.predict(x, verbose=0, batch_size=1000)
    scores = np.ravel(outputs["priority"] if isinstance(outputs, dict) else outputs[0])
    return float(np.mean([nearest_level(p, levels) == nearest_level(t, levels)
                          for p, t in zip(scores, np.ravel(y["priority"]))]))
