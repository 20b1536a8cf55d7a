"""nnlab.cli.output: the output-path checks, CSV / JSONL writing and tables both systems' commands use."""

import csv
import io
import json

import pytest
from hypothesis import given, settings, strategies as st
from rich.console import Console

from nnlab.cli.output import (calibration_table, check_output, check_png, csv_text, figures_table, jsonl_text,
                              split_rows, values_table, write_rows)
from nnlab.core.errors import NnlabError

# Cells as the commands write them: text of any kind (commas, quotes, newlines, non-ASCII), numbers, blanks.
cells = st.one_of(st.text(max_size=20), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                  st.none())
names = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True)


def expected_cell(value):
    return "" if value is None else str(value)


@settings(max_examples=150, deadline=None)
@given(columns=names, data=st.data())
def test_csv_text_reads_back_as_written(columns, data):
    rows = data.draw(st.lists(st.fixed_dictionaries({c: cells for c in columns}), max_size=8))
    text = csv_text(rows, columns)
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read[0] == columns
    assert read[1:] == [[expected_cell(row[c]) for c in columns] for row in rows]


@settings(max_examples=100, deadline=None)
@given(columns=names, data=st.data())
def test_a_cell_a_row_lacks_is_empty_and_a_key_not_in_the_columns_is_refused(columns, data):
    kept = data.draw(st.lists(st.sampled_from(columns), unique=True))
    row = {c: "x" for c in kept}
    line = list(csv.reader(io.StringIO(csv_text([row], columns), newline="")))[1]
    assert line == ["x" if c in kept else "" for c in columns]
    with pytest.raises(ValueError):
        csv_text([{**row, "\0not a column": 1}], columns)


@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
def test_csv_line_endings_are_as_asked(terminator):
    text = csv_text([{"a": 1}, {"a": 2}], lineterminator=terminator)
    assert text == terminator.join(["a", "1", "2"]) + terminator


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(max_size=5), cells, max_size=4), max_size=6))
def test_jsonl_text_is_one_object_per_line(rows):
    # As a file is read line by line (universal newlines); not str.splitlines, which also splits at
    # U+2028 and U+0085, characters JSON keeps as they are.
    lines = list(io.StringIO(jsonl_text(rows)))
    assert [json.loads(line) for line in lines] == rows


@pytest.mark.parametrize("name, suffixes, kind", [("p.csv", (".csv",), "csv"), ("P.CSV", (".csv",), "csv"),
                                                  ("t.jsonl", (".csv", ".jsonl"), "jsonl")])
def test_check_output_gives_the_kind(tmp_path, name, suffixes, kind):
    assert check_output(tmp_path / name, suffixes) == kind


@pytest.mark.parametrize("name, suffixes, message", [
    ("p.txt", (".csv",), r"--out must end in \.csv, got .*p\.txt\."),
    ("p", (".csv", ".jsonl"), r"--out must end in \.csv or \.jsonl, got .*p\."),
    ("nofolder/p.csv", (".csv",), r"folder .*nofolder does not exist; create it first"),
])
def test_check_output_names_the_value_and_the_fix(tmp_path, name, suffixes, message):
    with pytest.raises(NnlabError, match=message):
        check_output(tmp_path / name, suffixes)


def test_check_png_says_output_file():
    with pytest.raises(NnlabError, match=r"^output file must end in \.png, got model\.svg\.$"):
        check_png("model.svg")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_write_rows_writes_the_kind_its_suffix_says(tmp_path, suffix):
    rows = [{"title": "Ünïcode, \"quoted\"", "priority": 0.5}, {"title": "b", "priority": 1}]
    path = write_rows(tmp_path / f"out{suffix}", rows)
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        assert [json.loads(line) for line in text.split("\n")[:-1]] == rows
    else:
        assert list(csv.DictReader(io.StringIO(text, newline=""))) == [
            {"title": "Ünïcode, \"quoted\"", "priority": "0.5"}, {"title": "b", "priority": "1"}]
    with pytest.raises(NnlabError, match="--out must end in"):
        write_rows(tmp_path / "out.txt", rows)
    assert not (tmp_path / "out.txt").exists()


def rendered(table):
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def test_figures_table_has_four_places_and_a_dash_where_a_figure_is_missing():
    metrics = {"train": {"loss": 0.5, "accuracy": 0.81234}, "val": None, "test": {"loss": 0.25}}
    rows = split_rows(metrics, {"train": "train (last epoch)", "val": "val", "test": "test (final model)"})
    assert list(rows) == ["train (last epoch)", "test (final model)"]  # no figures for val: no row
    text = rendered(figures_table(rows, ["loss", "accuracy"]))
    assert "train (last epoch) │ 0.5000 │ 0.8123" in text
    assert "test (final model) │ 0.2500 │ -" in text


def test_values_and_calibration_tables():
    assert "loss   │ 0.1235" in rendered(values_table({"loss": 0.123456}))
    text = rendered(calibration_table({"before": {"accuracy": 0.9, "nll": 0.3, "brier": 0.15, "ece": 0.0123}}))
    assert "before │ 0.9000   │ 0.3000 │ 0.1500 │ 1.23%" in text
