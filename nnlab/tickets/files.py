"""Ticket files as helpdesks export them: their text encoding, CSV dialect and JSON form -> rows.

The one reader behind ``read_tickets`` (train, evaluate, predict and add-head alike). It
turns a file into ``(line, row, problem)`` triples, ``row`` holding our column names;
checking the values is data.py's job. Accepted shapes:

- delimited text: ``.csv``, ``.tsv``, ``.txt``. The delimiter (``,`` ``;`` tab ``|``) is
  sniffed on the header line with ``csv.Sniffer`` (falling back to ``,``, tab for ``.tsv``;
  another candidate where it finds more of the needed columns, as for a ``;`` header with a
  name like ``Name, first``, which Sniffer reads as ``,``), so Excel's European "CSV" (``;``)
  and tab-separated exports read as they are; any line ending, quoted fields across lines.
- JSON lines: ``.jsonl``, ``.ndjson``, one object a line.
- JSON: ``.json``, an array of objects, or an object holding one such array under a key
  (``{"tickets": [...], "count": 2}``, as helpdesk APIs dump them).
- Text: UTF-8 (with or without a byte-order mark) or UTF-16 with its mark; other bytes are
  read as Windows-1252 (a superset of Latin-1, what Excel saves in Western locales) with one
  ``note:`` line on stderr, unless they are not valid there either (then one error). NUL
  bytes (UTF-16 without its mark, or not text) are one error.
- Column names match case- and surrounding-space-insensitively (``Title `` is ``title``),
  as do the file's names given in ``--columns``; an exact match wins over a folded one.

    >>> from nnlab.tickets.files import file_rows
    >>> next(file_rows("export.tsv", ("title", "body", "tags"), {"title": "subject"}))
    (2, {'title': 'Refund', 'body': 'Charged twice', 'tags': 'billing'}, None)
"""

import bisect
import csv
import io
import json
import re
import sys
from pathlib import Path

from nnlab.core.errors import NnlabError

DELIMITED = (".csv", ".tsv", ".txt")
JSON_LINES = (".jsonl", ".ndjson")
JSON = (".json",)
SUFFIXES = (*DELIMITED, *JSON_LINES, *JSON)
DELIMITERS = ",;\t|"
FALLBACK_ENCODING = "cp1252"


def describe_suffixes():
    """``".csv, .tsv, .txt, .jsonl, .ndjson or .json"``, for messages."""
    return ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]


def check_suffix(path, what="the ticket file"):
    """Refuse a file name whose suffix no reader takes, before any work."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        hint = " (from a spreadsheet, save it as CSV)" if suffix in (".xlsx", ".xls", ".ods") else ""
        raise NnlabError(f"{what} must end in {describe_suffixes()}, got {str(path)!r}{hint}.")


# ---------------------------------------------------------------- bytes -> text


def _bad_byte(raw, at):
    """``"byte 0xe9 on line 2"``: the byte at offset ``at`` of ``raw`` (where a decoding failed)."""
    line = raw[:at].count(b"\n") + 1
    return f"byte 0x{raw[at]:02x} on line {line}"


def file_text(path):
    """The text of a ticket file: UTF-8 (a BOM is dropped), UTF-16 with its BOM, else Windows-1252 with a note."""
    path = Path(path)
    check_suffix(path)
    if not path.is_file():
        raise NnlabError(f"ticket file {path} does not exist; `nnlab tickets make-data --out {path.name}` "
                         "writes a synthetic one.")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with its byte-order mark
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as error:
            raise NnlabError(f"{path} starts as UTF-16 text but is not ({error.reason} at byte {error.start}); "
                             "re-save it as UTF-8.") from None
    # The UTF-8 mark is dropped from the bytes, not by the decoder: Windows-1252 would read it as "ï»¿" (glued to
    # the first column's name), and utf-8-sig's error offsets do not count it (the wrong byte would be named).
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if not raw.strip():
        raise NnlabError(f"{path} is empty ({len(raw)} bytes); expected "
                         + ("a header line and tickets." if path.suffix.lower() in DELIMITED else "tickets."))
    if b"\x00" in raw:  # no text file holds NUL; ASCII saved as UTF-16 without its mark is valid UTF-8 with NULs
        raise NnlabError(f"{path} holds NUL bytes ({_bad_byte(raw, raw.index(0))}): UTF-16 text without its "
                         "byte-order mark, or not text at all; re-save it as UTF-8 "
                         "(e.g. `iconv -f utf-16le -t utf-8`).")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        not_utf8 = _bad_byte(raw, error.start)
    try:
        text = raw.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as error:
        raise NnlabError(f"{path} is not UTF-8 text ({not_utf8}) nor Windows-1252 ({_bad_byte(raw, error.start)}); "
                         "re-save it as UTF-8 "
                         "(e.g. `iconv -f <its encoding> -t utf-8`).") from None
    # One line, on stderr: the guess is right for Western European Excel files, and says how to avoid it.
    print(f"note: {path} is not UTF-8 ({not_utf8}); read it as Windows-1252 (Latin-1). "
          "Save it as UTF-8 to skip this guess (Excel: CSV UTF-8; or `iconv -f cp1252 -t utf-8`).",
          file=sys.stderr)
    return text


# ---------------------------------------------------------------- column names


def _fold(name):
    return name.strip().casefold()


def _named(name, columns):
    """How the file calls our column ``name``: ``'Subject'`` or ``'Subject' (title in --columns)``."""
    return f"{columns[name]!r} ({name} in --columns)" if name in columns else name


def _resolve(names, needed, columns):
    """``({ours: the file's name}, missing, ambiguous)`` for our ``needed`` columns among the file's ``names``.

    ``columns`` maps ours to the file's (``--columns``). A name matches exactly after trimming,
    else by letter case; two names that match only by letter case are ambiguous.
    """
    exact = {name.strip(): name for name in names}
    folded = {}
    for name in names:
        folded.setdefault(_fold(name), []).append(name)
    found, missing, ambiguous = {}, [], []
    for ours in needed:
        theirs = columns.get(ours, ours).strip()
        if theirs in exact:
            found[ours] = exact[theirs]
        elif len(folded.get(_fold(theirs), ())) == 1:
            found[ours] = folded[_fold(theirs)][0]
        elif folded.get(_fold(theirs)):
            ambiguous.append((ours, folded[_fold(theirs)]))
        else:
            missing.append(ours)
    return found, missing, ambiguous


# ---------------------------------------------------------------- delimited text


def dialect(path, text, needed=(), columns=None):
    """``(delimiter, skipinitialspace)`` of delimited text, sniffed on its header line.

    With ``needed`` (our column names; ``columns`` maps them to the file's, as ``--columns``), a
    sniffed delimiter that splits the header into fewer of them than another candidate does
    gives way to it: Sniffer prefers ``,`` whenever the header holds one, so a ``;`` or tab
    header with a name such as ``Name, first`` would otherwise be read as comma-separated.
    """
    header = re.match(r"[^\r\n]*", text).group()  # the first line, whatever its ending
    try:
        sniffed = csv.Sniffer().sniff(header, delimiters=DELIMITERS)
        # only these two: Sniffer's quoting guesses (doublequote False on a header without quotes) would
        # misread the '""' escapes of every row
        chosen = sniffed.delimiter, sniffed.skipinitialspace
    except csv.Error:  # one column, or no candidate at all: the suffix's usual delimiter
        chosen = ("\t" if Path(path).suffix.lower() == ".tsv" else ","), False
    if not needed:
        return chosen

    def found(delimiter):
        names = next(csv.reader([header], delimiter=delimiter, skipinitialspace=True), [])
        return len(_resolve(names, needed, columns or {})[0])

    best = max(DELIMITERS, key=found)  # the first of the most found, in DELIMITERS' order
    if found(best) > found(chosen[0]):
        # skipinitialspace as Sniffer decides it: every delimiter of the header followed by a space
        return best, header.count(best) == header.count(best + " ")
    return chosen


def _csv_rows(path, text, needed, columns):
    delimiter, skip_space = dialect(path, text, needed, columns)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=skip_space)
    header = [name.strip() for name in (reader.fieldnames or [])]
    found, missing, ambiguous = _resolve(header, needed, columns)
    shown = {"\t": "tab"}.get(delimiter, repr(delimiter))
    if ambiguous:
        ours, names = ambiguous[0]
        raise NnlabError(f"{path}: the header has {' and '.join(map(repr, names))}, which differ only in letter "
                         f"case; name the one for {ours} exactly with --columns {ours}=<column>.")
    if missing:
        raise NnlabError(f"{path}: the header lacks the column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(_named(name, columns) for name in missing)}; it has "
                         f"{', '.join(header) or 'nothing'} (read with delimiter {shown}). Expected: "
                         f"{', '.join(columns.get(name, name) for name in needed)}"
                         + (" (or map yours with --columns title=Subject,...)" if not columns else "") + ".")
    reader.fieldnames = header
    start = 2
    for row in reader:
        if None in row:  # more fields than the header names
            yield start, None, f"{len(header) + len(row[None])} fields, the header has {len(header)}"
        else:
            yield start, {ours: row[theirs] for ours, theirs in found.items()}, None
        start = reader.line_num + 1


# ---------------------------------------------------------------- JSON


class _Keys:
    """Each JSON object's keys resolved to ours, cached per key set (an export's rows share theirs)."""

    def __init__(self, needed, columns):
        self.needed, self.columns, self.cache = needed, columns, {}

    def row(self, item):
        """``(row under our names, None)`` or ``(None, problem)``."""
        keys = tuple(key for key in item if isinstance(key, str))
        if keys not in self.cache:
            self.cache[keys] = _resolve(keys, self.needed, self.columns)
        found, _, ambiguous = self.cache[keys]
        if ambiguous:
            ours, names = ambiguous[0]
            return None, f"keys {' and '.join(map(repr, names))} differ only in letter case; which is {ours}?"
        return {ours: item.get(found[ours]) if ours in found else None for ours in self.needed}, None


def _json_row(keys, number, item):
    if not isinstance(item, dict):
        return number, None, f"expected a JSON object, got {type(item).__name__}"
    row, problem = keys.row(item)
    return number, row, problem


def _jsonl_rows(path, text, needed, columns):
    keys = _Keys(needed, columns)
    # only "\n" ends a JSON line (a "\r" before it is JSON white space); str.splitlines would also split at
    # U+2028, U+0085 and the like, which json.dumps(ensure_ascii=False) leaves raw inside strings
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, None, f"not valid JSON ({error.msg})"
            continue
        yield _json_row(keys, number, item)


def _ticket_array(path, document):
    """``(key, items)``: the document itself if an array, else its one member that is an array of objects."""
    if isinstance(document, list):
        return None, document
    if isinstance(document, dict):
        arrays = [key for key, value in document.items()
                  if isinstance(value, list) and any(isinstance(item, dict) for item in value)]
        if not arrays:  # {"tickets": [], "count": 0}: its one array, empty (or of no objects: bad rows say so)
            arrays = [key for key, value in document.items() if isinstance(value, list)][:2]
            arrays = arrays if len(arrays) == 1 else []
        if len(arrays) == 1:
            return arrays[0], document[arrays[0]]
        if arrays:
            raise NnlabError(f"{path} holds several arrays of objects ({', '.join(map(repr, arrays))}); keep the "
                             "tickets' one, or save the tickets as a top-level array.")
    raise NnlabError(f"{path}: expected a JSON array of ticket objects, or an object holding one "
                     f"(e.g. {{\"tickets\": [...]}}); got {type(document).__name__} "
                     f"{'without such an array' if isinstance(document, dict) else ''}".rstrip() + ".")


def _item_starts(text, key):
    """Where each item of the ticket array starts in ``text`` (valid JSON): the top-level array or ``key``'s."""
    decode, space = json.JSONDecoder().raw_decode, re.compile(r"\s*")
    at = space.match(text).end()
    if key is not None:  # walk the object's members to the array under key (the last, as json.loads keeps)
        at, start = at + 1, None
        while text[space.match(text, at).end()] != "}":
            name, at = decode(text, space.match(text, at).end())
            at = space.match(text, space.match(text, at).end() + 1).end()  # past ':'
            if name == key:
                start = at
            at = space.match(text, decode(text, at)[1]).end()
            at += text[at] == ","
        at = start
    starts, at = [], at + 1  # past '['
    while text[space.match(text, at).end()] != "]":
        starts.append(space.match(text, at).end())
        at = space.match(text, decode(text, starts[-1])[1]).end()
        at += text[at] == ","
    return starts


def _json_rows(path, text, needed, columns):
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and text.lstrip().startswith("{"):  # JSON lines saved as .json
            yield from _jsonl_rows(path, text, needed, columns)
            return
        raise NnlabError(f"{path} is not valid JSON ({error.msg} on line {error.lineno}, column {error.colno}); "
                         "expected an array of ticket objects.") from None
    key, items = _ticket_array(path, document)
    newlines = [match.start() for match in re.finditer("\n", text)]
    keys = _Keys(needed, columns)
    for start, item in zip(_item_starts(text, key), items):
        yield _json_row(keys, bisect.bisect(newlines, start) + 1, item)


# ---------------------------------------------------------------- any file


def file_rows(path, needed, columns=None):
    """``(line, row, problem)`` for each ticket of a file: ``row`` maps each ``needed`` column of ours to its value
    (None where the row lacks it), or is None with ``problem`` saying why. ``line`` is 1-based (a CSV's header is
    line 1; a JSON array's item counts from the line it starts on). Raises NnlabError for a file that cannot be
    read at all: its suffix, existence, encoding, a header without a needed column, JSON that is not an array.
    """
    path, columns = Path(path), dict(columns or {})
    text = file_text(path)
    suffix = path.suffix.lower()
    reader = _csv_rows if suffix in DELIMITED else _jsonl_rows if suffix in JSON_LINES else _json_rows
    return reader(path, text, tuple(needed), columns)
