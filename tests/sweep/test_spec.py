"""The sweep spec: what it accepts, what it refuses (naming the key), and the grid's order."""

import itertools

import pytest
from hypothesis import given, strategies as st

from nnlab.core.errors import NnlabError
from nnlab.sweep.spec import nested, parse_spec, read_spec

keys = st.lists(st.sampled_from(["dropout", "epochs", "optimizer.name", "optimizer.learning_rate", "batch_size"]),
                min_size=1, max_size=4, unique=True)


@given(keys, st.data())
def test_a_grid_is_every_combination_in_the_specs_order(names, data):
    grids = {name: data.draw(st.lists(st.integers(0, 9), min_size=1, max_size=3, unique=True)) for name in names}
    spec = parse_spec({"space": {name: {"grid": values} for name, values in grids.items()}})
    points = spec.grid_points()
    assert spec.is_grid() and spec.planned_trials() == len(points)
    assert [tuple(p.values()) for p in points] == list(itertools.product(*grids.values()))
    assert all(list(p) == names for p in points)


@given(st.floats(-10, 10, allow_nan=False), st.floats(-10, 10, allow_nan=False))
def test_ranges_must_not_be_empty(low, high):
    values = {"space": {"dropout": {"uniform": [low, high]}}}
    if low < high:
        assert parse_spec(values).space["dropout"].uniform == (low, high)
    else:
        with pytest.raises(NnlabError, match=r"space\.dropout: the range .* is empty"):
            parse_spec(values)


@pytest.mark.parametrize("values, message", [
    ({"space": {"optimizer.learning_rate": {"loguniform": [0, 0.1]}}}, r"loguniform needs low > 0, got 0"),
    ({"space": {"dropout": [0.1, 0.2]}}, r"space\.dropout must be one of \{grid"),
    ({"space": {"dropout": {"grid": []}}}, r"space\.dropout\.grid: .*got \[\]"),
    ({"space": {"dropout": {"gird": [0.1]}}}, r"space\.dropout must be one of"),
    ({"spaces": {"dropout": {"grid": [0.1]}}}, r"unknown key 'spaces'\. Did you mean 'space'\?"),
    ({"space": {}}, r"space: "),
    ({"space": {"dropout": {"grid": [0.1]}}, "trials": 0}, r"trials: .*got 0"),
    ({"space": {"dropout": {"grid": [0.1]}}, "pruner": "hyperband"}, r"pruner: .*'hyperband'"),
    ({"space": {"dropout": {"grid": [0.1]}, "epochs": {"int": [1, 3]}}}, r"grid cannot be mixed"),
])
def test_bad_specs_name_the_key(values, message):
    with pytest.raises(NnlabError, match=message):
        parse_spec(values)


def test_read_spec_refuses_missing_and_broken_files(tmp_path):
    with pytest.raises(NnlabError, match="does not exist"):
        read_spec(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("space: {dropout: [\n")
    with pytest.raises(NnlabError, match="not valid YAML"):
        read_spec(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(NnlabError, match="must be a mapping"):
        read_spec(tmp_path / "list.yaml")


@given(st.dictionaries(st.from_regex(r"[a-z]{1,3}(\.[a-z]{1,3}){0,2}", fullmatch=True), st.integers(), max_size=5))
def test_nested_puts_each_dotted_value_at_its_path(dotted):
    try:
        tree = nested(dotted)
    except NnlabError:  # "a.b" and "a.b.c" both given: refused, not overwritten silently
        assert any(other.startswith(key + ".") for key in dotted for other in dotted)
        return
    for key, value in dotted.items():
        node = tree
        for part in key.split("."):
            node = node[part]
        assert node == value
