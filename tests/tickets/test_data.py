"""nnlab.tickets.data and synth: reading ticket files, bad rows by line, whole-file errors, the generator."""

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.tickets.data import (BadRows, level_scores, nearest_level, parse_columns, parse_levels, parse_ticket,
                                read_tickets, split_indices)
from nnlab.tickets.synth import DEPARTMENTS, DIFFICULTIES, generate, write_tickets

HEADER = "title,body,tags,priority,department\n"
DEPARTMENT_SET = {"department": DEPARTMENTS}


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_and_jsonl_read_the_same_tickets(tmp_path):
    rows = generate(20, seed=1)
    csv_tickets = read_tickets(write_tickets(rows, tmp_path / "t.csv"), label_sets=DEPARTMENT_SET)
    jsonl_tickets = read_tickets(write_tickets(rows, tmp_path / "t.jsonl"), label_sets=DEPARTMENT_SET)
    for tickets in (csv_tickets, jsonl_tickets):
        assert len(tickets) == 20 and tickets.tags == [row["tags"] for row in rows]
        assert tickets.labels["department"] == [row["department"] for row in rows]
        np.testing.assert_allclose(tickets.priority, [row["priority"] for row in rows], rtol=1e-6)
    assert csv_tickets.title == jsonl_tickets.title and csv_tickets.lines == list(range(2, 22))


def test_csv_tags_are_semicolon_separated_and_quoted_newlines_keep_line_numbers(tmp_path):
    path = write(tmp_path, "t.csv", HEADER + 'a,"two\nlines",billing; refund ;,0.5,billing\nb,c,,1,shipping\n')
    tickets = read_tickets(path)
    assert tickets.tags == [["billing", "refund"], []] and tickets.body[0] == "two lines"  # white space joined
    assert tickets.lines == [2, 4]


BAD_ROWS = [  # (CSV row after the header, the reason reported)
    ("a,b,x,1.4,billing", "priority '1.4' is outside 0..1"),
    ("a,b,x,-0.1,billing", "priority '-0.1' is outside 0..1"),
    ("a,b,x,high,billing", "priority 'high' is not a number"),
    ("a,b,x,nan,billing", "priority 'nan' is outside 0..1"),
    ("a,b,x,,billing", "missing priority"),
    ("a,b,x,0.5,sales", "unknown department 'sales'"),
    ("a,b,x,0.5,", "missing department"),
    (" , ,x,0.5,billing", "empty title and body"),
    ("a,b,x,0.5,billing,extra", "6 fields, the header has 5"),
]


@pytest.mark.parametrize("row, reason", BAD_ROWS)
def test_each_bad_row_is_reported_with_its_line(tmp_path, row, reason):
    path = write(tmp_path, "t.csv", HEADER + "ok,fine,billing,0.2,billing\n" + row + "\n")
    with pytest.raises(BadRows, match="nothing was trained") as error:
        read_tickets(path, label_sets=DEPARTMENT_SET)
    (bad,) = error.value.rows
    assert bad.line == 3 and reason in bad.reason
    kept = read_tickets(path, label_sets=DEPARTMENT_SET, skip_bad=True)
    assert len(kept) == 1 and [b.line for b in kept.skipped] == [3]


def test_bad_jsonl_lines(tmp_path):
    lines = ['{"title": "a", "body": "b", "tags": ["x"], "priority": 0.1, "department": "billing"}',
             "{not json", "[1, 2]", '{"title": "a", "body": "b", "tags": "x;y", "priority": true, "department": "billing"}',
             '{"title": 3, "body": "b", "tags": [], "priority": 0.1, "department": "billing"}',
             '{"title": "a", "body": "b", "tags": [1], "priority": 0.1, "department": "billing"}']
    path = write(tmp_path, "t.jsonl", "\n".join(lines) + "\n")
    tickets = read_tickets(path, skip_bad=True)
    reasons = {bad.line: bad.reason for bad in tickets.skipped}
    assert len(tickets) == 1 and sorted(reasons) == [2, 3, 4, 5, 6]
    assert "not valid JSON" in reasons[2] and "JSON object" in reasons[3] and "priority True" in reasons[4]
    assert "must be text" in reasons[5] and "tags must be" in reasons[6]


def test_only_the_first_20_bad_rows_are_listed(tmp_path):
    path = write(tmp_path, "t.csv", HEADER + "a,b,x,9,billing\n" * 25 + "a,b,x,0.5,billing\n")
    with pytest.raises(BadRows) as error:
        read_tickets(path)
    message = str(error.value)
    assert "25 bad rows out of 26" in message and "line 21:" in message and "line 22:" not in message
    assert "... and 5 more" in message and "--skip-bad" in message


@pytest.mark.parametrize("name, content, encoding, message", [
    ("t.csv", "", "utf-8", "is empty \\(0 bytes\\)"),
    ("t.csv", HEADER + "café,b,x,0.5,billing\nab\x81,b,x,0.5,billing\n", "latin-1",
     "not UTF-8 text \\(byte 0xe9 on line 2\\) nor Windows-1252 \\(byte 0x81 on line 3\\)"),
    ("t.csv", "title,body,priority,department\na,b,0.5,billing\n", "utf-8", "header lacks the column tags"),
    ("t.csv", HEADER, "utf-8", "header but no tickets"),
    ("t.xls", HEADER, "utf-8", "must end in .csv, .tsv, .txt, .jsonl, .ndjson or .json"),
    ("t.csv", HEADER + "a,b,x,7,billing\n", "utf-8", "all 1 rows are bad"),
])
def test_whole_file_mistakes_are_one_error(tmp_path, name, content, encoding, message):
    path = write(tmp_path, name, content, encoding)
    with pytest.raises(NnlabError, match=message):
        read_tickets(path, skip_bad=True)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(NnlabError, match="does not exist; `nnlab tickets make-data"):
        read_tickets(tmp_path / "nope.csv")


def test_prediction_files_need_no_targets(tmp_path):
    path = write(tmp_path, "t.jsonl", json.dumps({"title": "a", "body": "b", "tags": []}) + "\n")
    tickets = read_tickets(path, require=())
    assert len(tickets) == 1 and tickets.priority is None and tickets.labels == {}


def test_parse_ticket_from_the_command_line():
    tickets = parse_ticket('{"title": "Refund", "body": "twice", "tags": ["billing"]}')
    assert tickets.records() == [{"title": "Refund", "body": "twice", "tags": ["billing"]}]
    assert len(parse_ticket('[{"title": "a", "body": ""}, {"title": "", "body": "b"}]')) == 2
    for text, message in (("{", "not valid JSON"), ('{"body": "x"}', "missing title"),
                          ('{"title": "", "body": ""}', "empty title and body"), ("3", "expected a JSON object")):
        with pytest.raises(NnlabError, match=message):
            parse_ticket(text)


def test_split_is_fixed_by_its_seed_and_refuses_too_few():
    first, second = split_indices(100, 0.15, 0.15, 42), split_indices(100, 0.15, 0.15, 42)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert [len(part) for part in first] == [70, 15, 15]
    assert sorted(np.concatenate(first)) == list(range(100))
    with pytest.raises(NnlabError, match="too few"):
        split_indices(3, 0.15, 0.15, 42)


def test_generator_is_deterministic_and_varied():
    rows = generate(400, seed=3)
    assert rows == generate(400, seed=3) and rows != generate(400, seed=4)
    assert {row["department"] for row in rows} == set(DEPARTMENTS)
    assert {row["difficulty"] for row in rows} == set(DIFFICULTIES)
    assert all(1 <= len(row["tags"]) <= 4 and 0 <= row["priority"] <= 1 for row in rows)
    assert len({row["title"] for row in rows}) > 100  # templates, fills and typos vary


# ---------------------------------------------------------------- a helpdesk's export: its columns, its levels

EXPORT = ("Ticket ID,Subject,Description,Tags,Priority,Group,Status\n"
          'T-1,Refund,"<p>Hi,</p><p>charged&nbsp;twice &amp; no refund</p><p>Regards,<br>Zoë</p>","billing, vip",'
          "High,Billing & Payments,Open\n"
          'T-2,,"<div>Router dead 📡</div>",["hardware"],low,Tech Support,Solved\n'
          "T-3,Login,,,URGENT,Accounts & Access,Open\n")
MAPPING = parse_columns("title=Subject,body=Description,tags=Tags,priority=Priority,department=Group")
LEVELS = ("Low", "Normal", "High", "Urgent")


def test_an_export_is_read_through_its_column_mapping_and_levels(tmp_path):
    tickets = read_tickets(write(tmp_path, "export.csv", EXPORT), columns=MAPPING, priority_levels=LEVELS)
    assert tickets.title == ["Refund", "", "Login"]
    assert tickets.body == ["Hi, charged twice & no refund Regards, Zoë", "Router dead 📡", ""]
    assert tickets.tags == [["billing", "vip"], ["hardware"], []]
    np.testing.assert_allclose(tickets.priority, [2 / 3, 0, 1])  # levels are case-insensitive
    assert tickets.labels["department"] == ["Billing & Payments", "Tech Support", "Accounts & Access"]


def test_a_level_outside_the_list_is_a_bad_row_and_numbers_keep_working(tmp_path):
    path = write(tmp_path, "export.csv", EXPORT.replace("URGENT", "Critical"))
    tickets = read_tickets(path, columns=MAPPING, priority_levels=LEVELS, skip_bad=True)
    (bad,) = tickets.skipped
    assert bad.line == 4 and bad.reason == "unknown priority 'Critical' (levels: Low, Normal, High, Urgent)"
    with pytest.raises(BadRows, match="priority 'High' is not a number .*--priority-levels"):
        read_tickets(path, columns=MAPPING)
    numbers = write(tmp_path, "n.csv", HEADER + "a,b,x,0.25,billing\n")
    assert read_tickets(numbers).priority.tolist() == [0.25]


def test_a_missing_mapped_column_names_it_and_the_files_columns(tmp_path):
    path = write(tmp_path, "export.csv", EXPORT)
    with pytest.raises(NnlabError) as error:
        read_tickets(path, columns={**MAPPING, "department": "Team"}, priority_levels=LEVELS)
    message = str(error.value)
    assert "lacks the column 'Team' (department in --columns)" in message
    assert "it has Ticket ID, Subject, Description, Tags, Priority, Group, Status" in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("text, message", [
    ("title", "--columns must look like"), ("title=", "--columns must look like"),
    ("Title=Subject", "--columns must look like"), ("title=A,title=B", "names 'title' twice"),
    ("title=A,body=A", "maps the file's column 'A' to several"),
])
def test_column_mapping_mistakes(text, message):
    with pytest.raises(NnlabError, match=message):
        parse_columns(text)


@given(st.lists(st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8), min_size=2, max_size=7,
                unique_by=str.casefold))
def test_levels_round_trip_through_their_scores(levels):
    """Each level's score names that level again, and the scores run evenly from 0 to 1."""
    levels = tuple(levels)
    scores = level_scores(levels)
    assert [nearest_level(scores[level], levels) for level in levels] == list(levels)
    assert scores[levels[0]] == 0 and scores[levels[-1]] == 1
    assert parse_levels(",".join(levels)) == levels


def test_level_mistakes():
    for text in ("High", "Low,,High", "Low,low"):
        with pytest.raises(NnlabError, match="--priority-levels must be two or more different"):
            parse_levels(text)
