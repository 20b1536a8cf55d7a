"""What the commands of both systems write: output-path checks, CSV / JSONL files, tables of figures.

    >>> from nnlab.cli.output import check_output, write_rows
    >>> kind = check_output("out/predictions.csv", (".csv", ".jsonl"))   # before any work: 'csv'
    >>> write_rows("out/predictions.csv", [{"file": "a.jpg", "class": "Bag"}])

An output path is checked before the command does any work (a typo costs nothing); files
are written whole or not at all (``nnlab.core.runs.atomic_path``), so a reader never sees
half a file. Tables print one row per split or label and one column per figure, four places.
"""

import csv
import io
import json
from pathlib import Path

from rich.table import Table

from nnlab.core.errors import NnlabError

# ---------------------------------------------------------------- output paths


def check_output(path, suffixes, flag="--out"):
    """Refuse ``path`` unless it ends in one of ``suffixes`` and its folder exists; returns its kind ("csv", ...).

    >>> check_output("p.txt", (".csv",))
    Traceback (most recent call last):
    nnlab.core.errors.NnlabError: --out must end in .csv, got p.txt.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in suffixes:
        raise NnlabError(f"{flag} must end in {' or '.join(suffixes)}, got {path}.")
    if not Path(path).resolve().parent.is_dir():
        raise NnlabError(f"folder {Path(path).parent} does not exist; create it first.")
    return suffix[1:]


def check_png(out):
    """Refuse an output path that is not a .png in an existing folder, before any work is done."""
    return check_output(out, (".png",), flag="output file")


# ---------------------------------------------------------------- CSV and JSONL


def csv_text(rows, columns=None, lineterminator="\r\n"):
    """``rows`` (dicts) as CSV text with a header: ``columns`` in order (default: the first row's keys).

    A key a row lacks is an empty cell; ``None`` is an empty cell too. ``lineterminator``: the csv
    module's default, "\\r\\n" (RFC 4180); ``nnlab tickets predict`` has always written "\\n".
    """
    columns = list(columns if columns is not None else (rows[0] if rows else []))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", extrasaction="raise", lineterminator=lineterminator)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def jsonl_text(rows):
    """One JSON object per line (UTF-8 kept as it is, not escaped)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_text(path, text):
    """Write ``text`` to ``path`` whole or not at all; returns the path."""
    from nnlab.core.runs import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def write_rows(path, rows, columns=None, suffixes=(".csv", ".jsonl"), lineterminator="\r\n"):
    """Write ``rows`` (dicts) to ``path`` as CSV or JSONL, as its suffix says (checked first); returns the path."""
    kind = check_output(path, suffixes)
    return write_text(path, jsonl_text(rows) if kind == "jsonl" else csv_text(rows, columns, lineterminator))


# ---------------------------------------------------------------- tables of figures


def figures_table(rows, columns, first="split", title=None):
    """One row per ``label -> {figure name: value}``, one column per name in ``columns`` (``-`` where missing)."""
    table = Table(first, *columns, title=title, title_justify="left")
    for label, figures in rows.items():
        table.add_row(label, *(f"{figures[name]:.4f}" if name in figures else "-" for name in columns))
    return table


def split_rows(metrics, labels):
    """``{label: figures}`` of the splits in ``labels`` (split -> row label) that ``metrics`` has figures for."""
    return {label: metrics[split] for split, label in labels.items() if metrics.get(split)}


def values_table(values):
    """A two-column table, ``metric | value``, of ``{name: number}``."""
    table = Table("metric", "value")
    for key, value in values.items():
        table.add_row(key, f"{value:.4f}")
    return table


CALIBRATION_COLUMNS = (("accuracy", "accuracy", "{:.4f}"), ("nll", "NLL", "{:.4f}"), ("brier", "Brier", "{:.4f}"),
                       ("ece", "ECE", "{:.2%}"))


def calibration_table(rows, title=None):
    """A table with one row per ``label -> {"accuracy", "nll", "brier", "ece"}``."""
    table = Table("", *(header for _, header, _ in CALIBRATION_COLUMNS), title=title, title_justify="left")
    for label, metrics in rows.items():
        table.add_row(label, *(fmt.format(metrics[key]) for key, _, fmt in CALIBRATION_COLUMNS))
    return table
