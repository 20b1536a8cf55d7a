"""Ticket files: read a file of support tickets (CSV and its kin, JSON lines, JSON), report bad rows, split it.

A ticket has ``title``, ``body`` (plain text or HTML, reduced to its text), ``tags`` (a
list, a JSON list, or text separated by ``;`` or ``,``), ``priority`` (a number in 0..1,
or one of the run's ordered ``priority_levels``), ``department`` (a label) and optionally
more label columns such as ``difficulty``. For prediction only title, body and tags are
needed. A helpdesk export keeps its own column names: ``columns`` maps ours to its
(``title=Subject,body=Description,...``); columns it does not map are ignored. Column
names match whatever their letter case and surrounding spaces. What shapes of file are
read (delimiters, encodings, JSON forms) is files.py's part, the same for every command.

    >>> from nnlab.tickets.data import parse_columns, read_tickets
    >>> tickets = read_tickets("tickets.csv", skip_bad=True)
    >>> len(tickets), tickets.title[0], tickets.labels["department"][0]
    (19990, 'Charged twice for order #4821', 'billing')
    >>> tickets.skipped          # [BadRow(line=7, reason="priority '1.4' is outside 0..1"), ...]
    >>> export = read_tickets("export.csv", columns=parse_columns("title=Subject,body=Description,tags=Tags,"
    ...                       "priority=Priority,department=Group"), priority_levels=("Low", "Normal", "High"))

Mistakes about the whole file (missing, empty, neither UTF-8 nor Windows-1252, a header
without a needed column, JSON that holds no array of tickets) raise NnlabError with one
line. Bad rows (a missing field, a priority that is not a number in 0..1 or not one of
the levels, a label outside the fixed set, empty title and body) are listed with their line numbers: ``skip_bad=True`` keeps the good
rows and records the bad ones in ``.skipped``; otherwise :class:`BadRows` lists the
first 20 and nothing is kept.
"""

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.tickets.files import DELIMITED, file_rows
from nnlab.tickets.text import clean_text, split_tags

TEXT_COLUMNS = ("title", "body", "tags")
TARGET_COLUMNS = ("priority", "department")
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


def parse_columns(text):
    """``"title=Subject,body=Description"`` -> ``{"title": "Subject", "body": "Description"}``.

    Keys are nnlab's column names (title, body, tags, priority, department, or a head's
    label column such as difficulty); values are the file's column names (matched in any
    letter case). A column not named keeps its own name. Refuses malformed items and
    repeated names.
    """
    columns = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        ours, sep, theirs = (part.strip() for part in item.partition("="))
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", ours) or not theirs:
            raise NnlabError(f"--columns must look like title=Subject,body=Description,tags=Tags,priority=Priority,"
                             f"department=Group; got the item {item.strip()!r} in {text!r}.")
        if ours in columns:
            raise NnlabError(f"--columns names {ours!r} twice in {text!r}; give each column once.")
        columns[ours] = theirs
    folded = [name.casefold() for name in columns.values()]  # the file's names match in any letter case
    taken = [name for name in columns.values() if folded.count(name.casefold()) > 1]
    if taken:
        raise NnlabError(f"--columns maps the file's column {taken[0]!r} to several of ours in {text!r}.")
    return columns


def parse_levels(text, flag="--priority-levels"):
    """``"Low,Normal,High"`` -> ``("Low", "Normal", "High")``: ordered priority levels, lowest first."""
    levels = tuple(level.strip() for level in (text or "").split(","))
    folded = [level.casefold() for level in levels]
    if len(levels) < 2 or not all(levels) or len(set(folded)) != len(folded):
        raise NnlabError(f"{flag} must be two or more different comma-separated levels, lowest first "
                         f"(e.g. Low,Normal,High,Urgent); got {text!r}.")
    return levels


def level_scores(levels):
    """The score of each level: evenly spaced in 0..1 (``Low,Normal,High,Urgent`` -> 0, 1/3, 2/3, 1)."""
    return {level: i / (len(levels) - 1) for i, level in enumerate(levels)}


def nearest_level(score, levels):
    """The level whose score is nearest ``score`` (halfway rounds up): 0.4 of Low..Urgent -> Normal."""
    return levels[int(min(max(math.floor(float(score) * (len(levels) - 1) + 0.5), 0), len(levels) - 1))]


# ---------------------------------------------------------------- reading


def _priority(value, levels):
    """A priority cell -> a number in 0..1: the number itself, or its level's score when there are levels."""
    if levels:
        scores = {level.casefold(): score for level, score in level_scores(levels).items()}
        score = scores.get(str(value).strip().casefold()) if not isinstance(value, bool) else None
        if score is None:
            raise ValueError(f"unknown priority {value!r} (levels: {', '.join(levels)})")
        return score
    try:
        priority = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        raise ValueError(f"priority {value!r} is not a number (for named levels such as {value!r}, "
                         "pass --priority-levels Low,Normal,High,...)") from None
    if not 0 <= priority <= 1:  # also refuses NaN
        raise ValueError(f"priority {value!r} is outside 0..1")
    return priority


def _check(row, require, label_sets, levels=None):
    """(title, body, tags, priority, labels) of one row, or raise ValueError with the reason."""
    missing = [name for name in (*TEXT_COLUMNS, *require) if row.get(name) is None
               or (name in require and isinstance(row[name], str) and not row[name].strip())]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    title, body = row["title"], row["body"]
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValueError("title and body must be text")
    title, body = clean_text(title), clean_text(body)
    if not title and not body:
        raise ValueError("empty title and body")
    tags = split_tags(row["tags"])
    priority = _priority(row["priority"], levels) if "priority" in require else None
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
    return title, body, tags, priority, labels


def read_tickets(path, require=TARGET_COLUMNS, label_sets=None, skip_bad=False, columns=None,
                 priority_levels=None):
    """Read a ticket file: ``.csv``/``.tsv``/``.txt`` (delimiter sniffed), ``.jsonl``/``.ndjson`` or ``.json``.

    Args:
        path: the file.
        require: target columns every row must have: ``("priority", "department")`` to train,
            ``()`` to predict, plus e.g. ``"difficulty"`` for that head. Defaults to training's.
        label_sets: ``{column: labels}``: fixed label sets; a row with another label is bad.
            A column not given here takes any label.
        skip_bad: keep the good rows (bad ones in ``.skipped``) instead of raising :class:`BadRows`.
        columns: ``{ours: theirs}`` (see :func:`parse_columns`): the file's names of our columns.
        priority_levels: ordered level names (lowest first): the priority column holds these,
            read as evenly spaced scores in 0..1 (see :func:`level_scores`). None: numbers in 0..1.

    Returns :class:`Tickets`. Raises NnlabError for a file that cannot be read at all.
    """
    path = Path(path)
    rows = file_rows(path, (*TEXT_COLUMNS, *require), columns)
    tickets, bad, total = Tickets([], [], [], labels={name: [] for name in require if name != "priority"},
                                  path=str(path)), [], 0
    priorities = []
    for line, row, problem in rows:
        total += 1
        if problem is None:
            try:
                title, body, tags, priority, labels = _check(row, require, label_sets, priority_levels)
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
        raise NnlabError(f"{path} has a header but no tickets." if path.suffix.lower() in DELIMITED
                         else f"{path} holds no tickets.")
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
