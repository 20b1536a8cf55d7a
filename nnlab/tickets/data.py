"""Ticket files: read a CSV or JSONL file of support tickets, report bad rows, split it.

A ticket has ``title``, ``body``, ``tags`` (a JSON list, or ``;``-separated in CSV),
``priority`` (a number in 0..1), ``department`` (a label) and optionally more label
columns such as ``difficulty``. For prediction only title, body and tags are needed.

    >>> from nnlab.tickets.data import read_tickets
    >>> tickets = read_tickets("tickets.csv", skip_bad=True)
    >>> len(tickets), tickets.title[0], tickets.labels["department"][0]
    (19990, 'Charged twice for order #4821', 'billing')
    >>> tickets.skipped          # [BadRow(line=7, reason="priority '1.4' is outside 0..1"), ...]

Mistakes about the whole file (missing, empty, not UTF-8, a header without a needed
column) raise NnlabError with one line. Bad rows (a missing field, a priority that is
not a number in 0..1, a label outside the fixed set, empty title and body) are listed
with their line numbers: ``skip_bad=True`` keeps the good rows and records the bad
ones in ``.skipped``; otherwise :class:`BadRows` lists the first 20 and nothing is kept.
"""

import csv
import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError

TEXT_COLUMNS = ("title", "body", "tags")
TARGET_COLUMNS = ("priority", "department")
SUFFIXES = (".csv", ".jsonl")
SHOWN_BAD_ROWS = 20


@dataclasses.dataclass(frozen=True)
class BadRow:
    line: int  # 1-based line of the file where the row starts (the CSV header is line 1)
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.reason}"


class BadRows(NnlabError):
    """A ticket file with bad rows, read without ``skip_bad``; ``.rows`` holds every one."""

    def __init__(self, path, rows, total):
        self.rows = rows
        shown = "\n".join(f"  {row}" for row in rows[:SHOWN_BAD_ROWS])
        more = f"\n  ... and {len(rows) - SHOWN_BAD_ROWS} more" if len(rows) > SHOWN_BAD_ROWS else ""
        super().__init__(f"{path} has {len(rows)} bad rows out of {total}; nothing was trained. Fix them, or pass "
                         f"--skip-bad to use the other {total - len(rows)}:\n{shown}{more}")


@dataclasses.dataclass
class Tickets:
    """Tickets as columns. ``priority`` is None when the file has none; ``labels`` maps column -> list of str."""

    title: list
    body: list
    tags: list  # one list of str per ticket
    priority: np.ndarray | None = None  # float32, (n,)
    labels: dict = dataclasses.field(default_factory=dict)
    lines: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)  # BadRow, when read with skip_bad
    path: str | None = None

    def __len__(self):
        return len(self.title)

    def take(self, index):
        """The tickets at ``index`` (an int array), in that order."""
        pick = lambda values: [values[i] for i in index]  # noqa: E731
        return Tickets(pick(self.title), pick(self.body), pick(self.tags),
                       None if self.priority is None else self.priority[index],
                       {name: pick(values) for name, values in self.labels.items()}, pick(self.lines),
                       path=self.path)

    def records(self):
        """One dict per ticket (title, body, tags), as the served model and the HTTP endpoint take them."""
        return [{"title": t, "body": b, "tags": list(g)} for t, b, g in zip(self.title, self.body, self.tags)]


def split_tags(value):
    """``"billing; refund"`` -> ``["billing", "refund"]``; a list is kept (stripped, empty ones dropped)."""
    items = value.split(";") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


# ---------------------------------------------------------------- reading


def _text(path):
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise NnlabError(f"{path}: expected a .csv or .jsonl ticket file, got {path.suffix or 'no suffix'!r}.")
    if not path.is_file():
        raise NnlabError(f"ticket file {path} does not exist; `nnlab tickets make-data --out {path.name}` "
                         "writes a synthetic one.")
    raw = path.read_bytes()
    if not raw.strip():
        raise NnlabError(f"{path} is empty ({len(raw)} bytes); expected a header line and tickets.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise NnlabError(f"{path} is not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); "
                         "re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`).") from None


def _csv_rows(path, text, needed):
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in needed if name not in header]
    if missing:
        raise NnlabError(f"{path}: the header lacks the column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)}; it has {', '.join(header) or 'nothing'}. Expected: "
                         f"{', '.join(needed)} (tags separated by ';').")
    reader.fieldnames = header
    start = 2
    for row in reader:
        if None in row:  # more fields than the header names
            yield start, None, f"{len(header) + len(row[None])} fields, the header has {len(header)}"
        else:
            yield start, row, None
        start = reader.line_num + 1


def _jsonl_rows(path, text, needed):
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, None, f"not valid JSON ({error.msg})"
            continue
        if not isinstance(row, dict):
            yield number, None, f"expected a JSON object, got {type(row).__name__}"
            continue
        yield number, row, None


def _check(row, require, label_sets):
    """(title, body, tags, priority, labels) of one row, or raise ValueError with the reason."""
    missing = [name for name in (*TEXT_COLUMNS, *require) if row.get(name) is None
               or (name in require and isinstance(row[name], str) and not row[name].strip())]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    title, body = row["title"], row["body"]
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValueError("title and body must be text")
    title, body = title.strip(), body.strip()
    if not title and not body:
        raise ValueError("empty title and body")
    tags = row["tags"]
    if not isinstance(tags, (str, list)) or not all(isinstance(tag, str) for tag in (tags if isinstance(tags, list) else [])):
        raise ValueError(f"tags must be a list of strings or 'a;b' text, got {tags!r}")
    priority = None
    if "priority" in require:
        value = row["priority"]
        try:
            priority = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            raise ValueError(f"priority {value!r} is not a number") from None
        if not 0 <= priority <= 1:  # also refuses NaN
            raise ValueError(f"priority {value!r} is outside 0..1")
    labels = {}
    for name in require:
        if name == "priority":
            continue
        label = str(row[name]).strip()
        if not label:
            raise ValueError(f"missing {name}")
        allowed = (label_sets or {}).get(name)
        if allowed and label not in allowed:
            raise ValueError(f"unknown {name} {label!r} (known: {', '.join(allowed)})")
        labels[name] = label
    return title, body, split_tags(tags), priority, labels


def read_tickets(path, require=TARGET_COLUMNS, label_sets=None, skip_bad=False):
    """Read a ``.csv`` or ``.jsonl`` ticket file.

    Args:
        path: the file.
        require: target columns every row must have: ``("priority", "department")`` to train,
            ``()`` to predict, plus e.g. ``"difficulty"`` for that head. Defaults to training's.
        label_sets: ``{column: labels}``: fixed label sets; a row with another label is bad.
            A column not given here takes any label.
        skip_bad: keep the good rows (bad ones in ``.skipped``) instead of raising :class:`BadRows`.

    Returns :class:`Tickets`. Raises NnlabError for a file that cannot be read at all.
    """
    path = Path(path)
    text = _text(path)
    rows = (_csv_rows if path.suffix.lower() == ".csv" else _jsonl_rows)(path, text, (*TEXT_COLUMNS, *require))
    tickets, bad, total = Tickets([], [], [], labels={name: [] for name in require if name != "priority"},
                                  path=str(path)), [], 0
    priorities = []
    for line, row, problem in rows:
        total += 1
        if problem is None:
            try:
                title, body, tags, priority, labels = _check(row, require, label_sets)
            except ValueError as error:
                problem = str(error)
        if problem is not None:
            bad.append(BadRow(line, problem))
            continue
        tickets.title.append(title)
        tickets.body.append(body)
        tickets.tags.append(tags)
        tickets.lines.append(line)
        priorities.append(priority)
        for name, label in labels.items():
            tickets.labels[name].append(label)
    if total == 0:
        raise NnlabError(f"{path} has a header but no tickets.")
    if bad and not skip_bad:
        raise BadRows(path, bad, total)
    if not len(tickets):
        raise NnlabError(f"{path}: all {total} rows are bad (first: {bad[0]}); nothing to use.")
    tickets.skipped = bad
    if "priority" in require:
        tickets.priority = np.asarray(priorities, dtype="float32")
    return tickets


def parse_ticket(value, where="--json"):
    """One ticket from a JSON object given on the command line: ``{"title": ..., "body": ..., "tags": [...]}``."""
    try:
        row = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as error:
        raise NnlabError(f"{where} is not valid JSON ({error.msg} at character {error.pos}); expected e.g. "
                         '\'{"title": "Refund", "body": "Charged twice", "tags": ["billing"]}\'.') from None
    rows = row if isinstance(row, list) else [row]
    tickets = Tickets([], [], [])
    for index, item in enumerate(rows):
        if not isinstance(item, dict):
            raise NnlabError(f"{where}: expected a JSON object (or a list of them), got {type(item).__name__}.")
        try:
            title, body, tags, _, _ = _check({"tags": [], **item}, (), None)
        except ValueError as error:
            at = f" (ticket {index})" if isinstance(row, list) else ""
            raise NnlabError(f"{where}{at}: {error}.") from None
        tickets.title.append(title)
        tickets.body.append(body)
        tickets.tags.append(tags)
    return tickets


# ---------------------------------------------------------------- splitting


def split_indices(n, val_split, test_split, seed):
    """Shuffled ``(train, val, test)`` index arrays; the same for the same n, fractions and seed."""
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = int(round(n * test_split)), int(round(n * val_split))
    if n - n_test - n_val < 1 or (test_split and not n_test) or (val_split and not n_val):
        raise NnlabError(f"{n} tickets are too few for --val-split {val_split} and --test-split {test_split}; "
                         "use a larger file or smaller fractions.")
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]
