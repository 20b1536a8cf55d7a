"""``nnlab predict`` and ``nnlab tickets predict``: a run's answers for new photos or tickets.

    nnlab predict runs/<name> photo.jpg       class and all ten probabilities (calibrated when calibrated)
    nnlab predict runs/<name> photos/ --out predictions.csv
    nnlab tickets predict runs/<name> --json '{"title": "...", "body": "...", "tags": ["billing"]}'
    nnlab tickets predict runs/<name> new.jsonl --out triaged.csv    with a progress bar

Output paths are checked before any work and files written whole (``nnlab.cli.output``).
"""

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Column, Table

from nnlab.cli.common import console, run_values
from nnlab.cli.output import check_output, jsonl_text, write_rows
from nnlab.core.errors import NnlabError

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
    from nnlab.fashion.photos import DEFAULT_MAX_PIXELS, SUFFIXES, PhotoError, find_photos, load_photo

    if executor not in ("local", "ray"):
        raise NnlabError(f"--executor must be local or ray, got {executor!r}.")
    if executor == "ray":  # Ray Data, with this module's helpers: nnlab/fashion/batch_predict.py
        from nnlab.fashion import batch_predict

        batch_predict.run(model, images, sys.modules[__name__], out, as_json, max_pixels, jobs, address)
        return
    if out is not None:
        check_output(out, (".csv",))
    if max_pixels is not None:
        at_least("--max-pixels", max_pixels, 1)
    if Path(model).is_dir() and (run_values(model) or {}).get("task", "fashion") != "fashion":
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
                rows.extend(_answers(good, served["predict"](batch), statuses))
    rows = _with_failures(rows, failures, stderr)
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


def _answers(paths, probabilities, statuses=None):
    """One row per photo: its file and its answer (``nnlab.fashion.ood.answer``: status and reason, class and
    index, None unless ok, the ten probabilities by class name); ``statuses`` None: every photo ok."""
    import numpy as np

    from nnlab.fashion.ood import answer

    rows = []
    for index, (path, p) in enumerate(zip(paths, np.asarray(probabilities))):
        row = {"image": str(path), **answer(p, statuses[index] if statuses else None)}
        del row["probability"]  # the CSV and table read it from the probabilities; the JSON never had it
        rows.append(row)
    return rows


def _with_failures(rows, failures, stderr):
    """``rows`` then one row per unreadable file (each also named on ``stderr``); none readable: one error."""
    if not rows:
        if len(failures) == 1:
            raise NnlabError(str(failures[0][1]))
        reasons = "; ".join(str(error).rstrip(".") for _, error in failures)
        raise NnlabError(f"none of the {len(failures)} files could be read: {reasons}.")
    for _, error in failures:
        stderr.print(f"[yellow]skipped[/] {error}", markup=True, highlight=False)
    return rows + [{"image": str(path), "error": error.reason} for path, error in failures]


def _write_csv(out, rows):
    write_rows(out, _csv_rows(rows), columns=_csv_columns(), suffixes=(".csv",))


def _csv_columns():
    from nnlab.fashion.data import CLASS_NAMES

    return ["file", "status", "class_index", "class", "probability", *CLASS_NAMES, "reason", "error"]


def _csv_rows(rows):
    """One line per file: the top class, its probability, all ten probabilities, or the reason it was skipped."""
    lines = []
    for row in rows:
        if "error" in row:
            lines.append({"file": row["image"], "status": "unreadable", "error": row["error"]})
            continue
        p, ok = row["probabilities"], row["class"] is not None
        lines.append({"file": row["image"], "status": row["status"], "class_index": row["class_index"] if ok else "",
                      "class": row["class"] or "", "probability": p[row["class"]] if ok else "", **p,
                      "reason": row["reason"] or "", "error": ""})
    return lines


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


def predict_tickets(run: Path = typer.Argument(..., help="A ticket run folder (or its served.keras)."),
                    file: Optional[Path] = typer.Argument(None, help="Tickets to triage, .csv, .tsv, .txt, .jsonl, "
                                                                     ".ndjson or .json (title, body, tags; or the "
                                                                     "columns the run was trained with)."),
                    ticket: Optional[str] = typer.Option(None, "--json", help='One ticket (or a list) as JSON: '
                                                         '\'{"title": "...", "body": "...", "tags": ["billing"]}\'.'),
                    out: Optional[Path] = typer.Option(None, help="Write the predictions here (.csv or .jsonl); "
                                                                  "default: JSONL on standard output."),
                    skip_bad: bool = typer.Option(False, "--skip-bad", help="Triage the good rows of a file with bad "
                                                                            "ones."),
                    batch_size: int = typer.Option(256, help="Tickets per batch.")):
    """Priority, department and its probabilities (and any extra head) for each ticket."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from nnlab.core.config import at_least
    from nnlab.tickets.data import parse_ticket, read_tickets
    from nnlab.tickets.triage import flat_row, load_served, triage

    at_least("--batch-size", batch_size, 1)
    if (file is None) == (ticket is None):
        raise NnlabError("give either a ticket file (.csv, .jsonl, .json, ...) or --json '{...}', "
                         "not both and not neither.")
    if out is not None:
        check_output(out, (".csv", ".jsonl"))  # refuse a bad output name before any work
    tickets = parse_ticket(ticket) if ticket is not None else None  # a typo in --json fails before any loading
    served = load_served(run)
    if tickets is None:  # the file in the columns the run was trained on (its --columns)
        tickets = read_tickets(file, require=(), skip_bad=skip_bad, columns=served.columns)
    if file is None:
        rows = triage(served, tickets, batch_size)
    else:
        stderr = type(console)(stderr=True)
        columns = (TextColumn("triage"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=stderr, transient=True) as bar:
            task = bar.add_task("triage", total=len(tickets))
            rows = triage(served, tickets, batch_size, progress=lambda n: bar.advance(task, n))
        if tickets.skipped:
            first = escape(str(tickets.skipped[0]))
            stderr.print(f"[yellow]skipped {len(tickets.skipped)} bad rows[/] (first: {first})")
    if file is not None:  # each ticket's title first
        rows = [{"title": title, **row} for title, row in zip(tickets.title, rows)]
    if out is None:
        sys.stdout.write(jsonl_text(rows) if file is not None
                         else json.dumps(rows[0] if len(rows) == 1 else rows, indent=2) + "\n")
        return
    if Path(out).suffix.lower() == ".csv":  # probabilities as columns: department_p_billing, ...
        rows = [flat_row(row) for row in rows]
    write_rows(out, rows, columns=None if rows else ["priority"], lineterminator="\n")
    console.print(f"wrote {len(rows):,} predictions to {escape(str(out))}")
