"""nnlab.tickets.files: the same tickets saved in every shape a helpdesk or a spreadsheet writes read the same.

The property tests write random tickets once in nnlab's own CSV (the reference) and once
in another shape (delimiter, quoting, byte-order mark, line ending, header letter case and
spaces, Windows-1252, JSON lines, a JSON array, an object holding the array), and check that
``read_tickets`` gives the same titles, bodies, tags, priorities and departments.
"""

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.tickets.data import parse_columns, read_tickets
from nnlab.tickets.files import dialect
from nnlab.tickets.synth import write_tickets

OURS = ("title", "body", "tags", "priority", "department")
SHAPES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Free text: anything Windows-1252 can encode (so the same tickets can be saved in it), delimiters, quotes,
# line breaks, HTML and U+2028-like characters included; each title starts with a letter so no ticket is empty.
# Not a lone "\r": csv.writer leaves it unquoted when its line ending is "\n", a file no reader can split right.
# JSON holds any text: U+2028, U+0085 and emoji too.
cp1252_text = st.text(st.characters(codec="cp1252", exclude_characters="\x00\r"), max_size=30)
any_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=30) | st.just(
    "line\u2028separator\x85next")


def ticket(text):
    return st.fixed_dictionaries({
        "title": text.map(lambda value: "T" + value),
        "body": text,
        "tags": st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8), max_size=4),
        "priority": st.floats(0, 1),
        "department": st.sampled_from(["billing", "Tech Support", "Billing & Payments", "accounts"]),
    })


tickets = st.lists(ticket(cp1252_text), min_size=1, max_size=12)
json_tickets = st.lists(ticket(any_text), min_size=1, max_size=12)
header_case = st.sampled_from([str, str.upper, str.capitalize, lambda name: f" {name.title()} "])


def same(read, reference):
    assert read.title == reference.title and read.body == reference.body and read.tags == reference.tags
    assert read.labels == reference.labels
    np.testing.assert_array_equal(read.priority, reference.priority)


def _utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def delimited(rows, header, delimiter, quoting, line_end):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows([row["title"], row["body"], ";".join(row["tags"]), repr(row["priority"]), row["department"]]
                     for row in rows)
    return out.getvalue()


@SHAPES
@given(rows=tickets, delimiter=st.sampled_from(",;\t|"), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       line_end=st.sampled_from(["\n", "\r\n"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
       case=header_case, suffix=st.sampled_from([".csv", ".tsv", ".txt"]))
def test_delimited_files_read_like_nnlabs_own_csv(tmp_path, rows, delimiter, quoting, line_end, encoding, case,
                                                  suffix):
    reference = read_tickets(write_tickets(rows, tmp_path / "reference.csv"))
    content = delimited(rows, [case(name) for name in OURS], delimiter, quoting, line_end)
    data = content.encode(encoding)
    # Windows-1252 bytes that happen to be valid UTF-8 ("Ã©" is C3 A9, UTF-8's "é") are read as UTF-8: no reader
    # can tell them apart, so such files are left out here (the README says it)
    assume(encoding != "cp1252" or data.isascii() or not _utf8(data))
    path = tmp_path / f"shaped{suffix}"
    path.write_bytes(data)
    read = read_tickets(path)
    same(read, reference)
    assert read.lines[0] == 2  # the header is line 1 whatever the line ending


@SHAPES
@given(rows=json_tickets, form=st.sampled_from(["array", "object", "jsonl", "ndjson"]), case=header_case,
       indent=st.sampled_from([None, 2]), bom=st.booleans())
def test_json_forms_read_like_nnlabs_own_csv(tmp_path, rows, form, case, indent, bom):
    reference = read_tickets(write_tickets(rows, tmp_path / "reference.csv"))
    objects = [{case(name): row[name] for name in OURS} | {"id": i} for i, row in enumerate(rows)]
    if form in ("jsonl", "ndjson"):
        content, suffix = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in objects), f".{form}"
    else:  # a Zendesk-like dump: the tickets' array beside the paging fields
        document = objects if form == "array" else {"tickets": objects, "count": len(objects), "next_page": None}
        content, suffix = json.dumps(document, ensure_ascii=False, indent=indent), ".json"
    path = tmp_path / f"shaped{suffix}"
    path.write_bytes(content.encode("utf-8-sig" if bom else "utf-8"))
    same(read_tickets(path), reference)


@SHAPES
@given(rows=tickets, delimiter=st.sampled_from(",;\t|"), case=st.sampled_from([str.upper, str.lower, str.title]))
def test_the_columns_mapping_matches_in_any_letter_case(tmp_path, rows, delimiter, case):
    """A run trained with --columns title=Subject,... reads a file whose header says SUBJECT, subject, ..."""
    theirs = ("Subject", "Description", "Tags", "Priority", "Group")
    mapping = parse_columns(",".join(f"{ours}={name}" for ours, name in zip(OURS, theirs)))
    reference = read_tickets(write_tickets(rows, tmp_path / "reference.csv"))
    path = tmp_path / "export.csv"
    path.write_text(delimited(rows, [case(name) for name in theirs], delimiter, csv.QUOTE_MINIMAL, "\r\n"),
                    encoding="utf-8")
    same(read_tickets(path, columns=mapping), reference)


def test_json_bad_items_are_reported_at_the_line_they_start(tmp_path):
    items = [{"title": "a", "body": "b", "tags": [], "priority": 0.5, "department": "x"},
             {"title": "a", "body": "b", "tags": [], "priority": 7, "department": "x"}, "text",
             {"title": "a", "body": "b", "tags": [], "priority": 0.5, "department": "y"}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"count": 4, "tickets": items}, indent=2))
    read = read_tickets(path, skip_bad=True)
    starts = [number for number, line in enumerate(path.read_text().splitlines(), 1)  # each item's first line
              if line.startswith("    ") and line[4] != " " and line.strip() not in ("}", "},")]
    assert len(starts) == 4 and starts[0] > 3
    assert [bad.line for bad in read.skipped] == starts[1:3] and read.lines == [starts[0], starts[3]]
    assert "outside 0..1" in read.skipped[0].reason and "expected a JSON object, got str" in read.skipped[1].reason


def test_a_windows_1252_file_is_read_with_one_note(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_bytes("title;body;tags;priority;department\r\ncafé – naïve;€5 fee;x;0.5;billing\r\n".encode("cp1252"))
    read = read_tickets(path)
    assert read.title == ["café – naïve"] and read.body == ["€5 fee"]
    (note,) = capsys.readouterr().err.splitlines()
    assert note.startswith(f"note: {path} is not UTF-8 (byte 0xe9 on line 2); read it as Windows-1252")
    assert "Save it as UTF-8" in note
    path.write_bytes("title,body,tags,priority,department\na,b,x,0.5,billing\n".encode("utf-16"))  # with its BOM
    assert read_tickets(path).title == ["a"] and capsys.readouterr().err == ""


@pytest.mark.parametrize("header, expected", [
    ("title,body,tags", (",", False)), ("title;body;tags", (";", False)), ("title\tbody\ttags", ("\t", False)),
    ("title|body|tags", ("|", False)), ("Title, Body, Tags", (",", True)), ('"Ticket ID";"Subject"', (";", False)),
    ("title", (",", False)),
])
def test_the_delimiter_is_sniffed_on_the_header(header, expected):
    assert dialect("t.csv", header + "\na;b,c|d\te\n") == expected


@pytest.mark.parametrize("name, content, message", [
    ("t.csv", b"title,body,tags\nab\x81c,b,x\n", r"not UTF-8 text \(byte 0x81 on line 2\) nor Windows-1252 "
                                                  r"\(byte 0x81 on line 2\); re-save it as UTF-8"),
    ("t.csv", b"title,body,tags\na\x00\xe9,b,x\n", "holds NUL bytes \\(byte 0x00 on line 2\\)"),
    ("t.csv", "title,body,tags\na,b,x\n".encode("utf-16-le"), "holds NUL bytes .*UTF-16 text without its byte-order"),
    ("t.tsv", "title\tbody\ttags\na\tb\tx\n".encode("utf-16-be"), "holds NUL bytes \\(byte 0x00 on line 1\\)"),
    ("t.json", b"\xef\xbb\xbf \n", "is empty \\(2 bytes\\); expected tickets\\.$"),
    ("t.csv", b"Title;Body;Tag\na;b;c\n", "lacks the column tags; it has Title, Body, Tag \\(read with delimiter ';'\\)"),
    ("t.csv", b"Title,TITLE,body,tags\na,b,c,d\n", "'Title' and 'TITLE', which differ only in letter case"),
    ("t.json", b'{"title": "a"', "is not valid JSON \\(Expecting ',' delimiter on line 1"),
    ("t.json", b'{"count": 3}', "expected a JSON array of ticket objects, or an object holding one"),
    ("t.json", b'"tickets"', "got str"),
    ("t.json", b'{"a": [{"title": "x"}], "b": [{"title": "y"}]}', "several arrays of objects \\('a', 'b'\\)"),
    ("t.json", b"[]", "holds no tickets"),
    ("t.json", b'{"tickets": [], "count": 0}', "holds no tickets"),
    ("t.xlsx", b"PK\x03\x04", "must end in .csv, .tsv, .txt, .jsonl, .ndjson or .json, .*save it as CSV"),
])
def test_what_is_still_refused_is_one_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NnlabError, match=message) as error:
        read_tickets(path, require=(), skip_bad=True)
    assert len(str(error.value).splitlines()) == 1


def test_a_utf8_marked_file_with_a_windows_1252_byte_reads_its_header(tmp_path, capsys):
    """A file saved as "CSV UTF-8", then edited by a Latin-1 tool: the mark is not read as "ï»¿" glued to the first
    column's name, and the note names the byte that is not UTF-8 (not the one 3 bytes before it)."""
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "title;body;tags\r\ncaf\u00e9;b;x\r\n".encode("cp1252"))
    assert read_tickets(path, require=()).title == ["caf\u00e9"]
    (note,) = capsys.readouterr().err.splitlines()
    assert note.startswith(f"note: {path} is not UTF-8 (byte 0xe9 on line 2)")
    path.write_bytes(b"\xef\xbb\xbftitle,body,tags\na\x81\xe9,b,x\n")
    with pytest.raises(NnlabError, match=r"not UTF-8 text \(byte 0x81 on line 2\) nor Windows-1252 \(byte 0x81"):
        read_tickets(path, require=())


@SHAPES
@given(rows=tickets, delimiter=st.sampled_from(";\t|"), other=st.sampled_from(",;\t|"),
       where=st.integers(0, len(OURS)), mapped=st.booleans())
def test_a_header_name_holding_another_delimiter_does_not_change_the_delimiter(tmp_path, rows, delimiter, other,
                                                                               where, mapped):
    """csv.Sniffer prefers ',' (then tab, ';') whenever the header line holds one: a ';', tab or '|' export with a
    column such as "Name, first" (ours, mapped with --columns, or one we do not read) is still read by its own."""
    assume(other != delimiter)
    reference = read_tickets(write_tickets(rows, tmp_path / "reference.csv"))
    names = list(OURS)
    if mapped:  # one of our columns is called so in the file
        names[where % len(OURS)] = f"Name{other} first"
        columns = {OURS[where % len(OURS)]: f"Name{other} first"}
    else:  # a column we do not read
        names.insert(where, f"Name{other} first")
        columns = None
    content = io.StringIO()
    writer = csv.writer(content, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        cells = [row["title"], row["body"], ";".join(row["tags"]), repr(row["priority"]), row["department"]]
        if not mapped:
            cells.insert(where, "someone")
        writer.writerow(cells)
    path = tmp_path / "export.txt"
    path.write_text(content.getvalue(), encoding="utf-8")
    same(read_tickets(path, columns=columns), reference)


def test_json_lines_saved_as_json_are_read_as_such(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"title": "a", "body": "b", "tags": []}\n{"title": "c", "body": "d", "tags": ["x"]}\n')
    read = read_tickets(path, require=())
    assert read.title == ["a", "c"] and read.lines == [1, 2]
