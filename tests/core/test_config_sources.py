"""Where settings come from: ``--set`` parsing and the precedence defaults < preset < file < --set < flags.

Property tests: any dotted key and any YAML-writable value survive ``--set``; whatever subset of the
four sources sets a value, the strongest one wins and the others' other settings are kept.
"""

import json
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from nnlab.core.config import merge
from nnlab.core.config_sources import combine, dump_yaml, load_yaml, parse_set, parse_sets, settings_from
from nnlab.core.errors import NnlabError
from nnlab.fashion.models import parse_spec
from nnlab.fashion.task import TASK
from nnlab.tickets.task import TASK as TICKETS

KEY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
SCALAR = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
          | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=3),
                     max_leaves=8)


def nested(path, value):
    for part in reversed(path):
        value = {part: value}
    return value


@given(st.lists(KEY, min_size=1, max_size=4), VALUE)
def test_set_gives_the_value_its_yaml_says_at_the_dotted_key(path, value):
    text = dump_yaml(value, flow=True).strip().removesuffix("...").strip()  # a plain scalar ends its document
    assert load_yaml(dump_yaml(value)) == value  # what `nnlab config show` writes reads back the same
    assert parse_set(f"{'.'.join(path)}={text}") == nested(path, value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_as_python_writes_them_are_numbers(number):
    """``repr`` writes 1e-05 and 1e+16, which PyYAML alone reads as text (YAML 1.1 wants a dot)."""
    (parsed,) = parse_set(f"optimizer.learning_rate={number!r}")["optimizer"].values()
    assert isinstance(parsed, float) and (parsed == number or math.isclose(parsed, number))


@pytest.mark.parametrize("item, expected", [
    ("epochs=3", {"epochs": 3}),
    ("optimizer.learning_rate=1e-3", {"optimizer": {"learning_rate": 0.001}}),
    ("model.hidden=[300, 100]", {"model": {"hidden": [300, 100]}}),
    ("checkpoint.enabled=false", {"checkpoint": {"enabled": False}}),
    ("early_stopping.patience=null", {"early_stopping": {"patience": None}}),
    ("reduce_lr={factor: 0.5, patience: 2}", {"reduce_lr": {"factor": 0.5, "patience": 2}}),
    ("name=a=b", {"name": "a=b"}),
    ("name=1e5", {"name": 100000.0}),  # a number, as YAML 1.2 reads it ...
    ("name='1e5'", {"name": "1e5"}),  # ... quoted, text  # the first = splits
    ("departments=billing,technical", {"departments": "billing,technical"}),
    ("data=", {"data": None}),
    (" seed = 7", {"seed": 7}),
])
def test_set_examples(item, expected):
    assert parse_set(item) == expected


@pytest.mark.parametrize("item", ["epochs", "=3", "a..b=1", "optimizer.=1", "1x=2", "a-b=1"])
def test_malformed_set_is_refused(item):
    with pytest.raises(NnlabError, match=r"^--set takes dotted\.key=value .*got "):
        parse_set(item)


def test_a_later_set_wins_and_sections_merge():
    assert parse_sets(["optimizer.name=sgd", "optimizer.momentum=0.9", "optimizer.name=adam"]) == {
        "optimizer": {"name": "adam", "momentum": 0.9}}
    with pytest.raises(NnlabError, match=r"the value is not valid YAML"):
        parse_set("model.hidden=[1, 2")


LEVELS = ("preset", "file", "set", "flag")


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({level: st.none() | st.integers(1, 99) for level in LEVELS}),
       st.sampled_from(sorted(TASK.presets)))
def test_the_strongest_source_wins(epochs, preset):
    """epochs from whichever sources give it; batch_size only from the file, seed only from --set."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.yaml"
        file_values = {"batch_size": 64, **({"epochs": epochs["file"]} if epochs["file"] else {})}
        path.write_text(yaml.safe_dump(file_values))
        sets = ["seed=7"] + ([f"epochs={epochs['set']}"] if epochs["set"] else [])
        flags = {"epochs": epochs["flag"]} if epochs["flag"] else {}
        task = TASK
        if epochs["preset"]:  # a preset of its own, with this many epochs
            task = type(TASK)()
            task.presets = {**TASK.presets, preset: {**TASK.presets[preset], "epochs": epochs["preset"]}}
        config = settings_from(task, preset, path, sets, flags)
    strongest = next((epochs[level] for level in reversed(LEVELS) if epochs[level]), None)
    assert config.epochs == (strongest or TASK.presets[preset].get("epochs", 5))
    assert config.batch_size == 64 and config.seed == 7 and config.preset == preset
    expected = TASK.presets[preset]["model"]  # a model's name, or a spec's settings (cnn-ensemble)
    assert config.model == (expected if isinstance(expected, str) else parse_spec(expected))  # the preset's stay


def test_a_file_names_its_preset_and_a_run_config_repeats_the_run(tmp_path):
    partial = tmp_path / "mine.yaml"
    partial.write_text("preset: seeds-final\nepochs: 3\n")
    config = settings_from(TASK, config=partial)
    assert (config.preset, config.epochs, config.early_stopping.patience, config.dropout) == ("seeds-final", 3, 2, 0.3)
    assert settings_from(TASK, "dnn", partial).dropout is None  # --preset beats the file's preset

    run = TASK.config("mnist-512", epochs=3, optimizer={"learning_rate": 0.01}).resolved()
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps(run.model_dump()))
    assert settings_from(TASK, config=saved).resolved() == run
    tickets = TICKETS.config("seeds", data="t.csv", hidden_units=32, split_seed=3).resolved()
    saved.write_text(json.dumps(tickets.model_dump()))
    assert settings_from(TICKETS, config=saved, default_preset="triage").resolved() == tickets


def test_combine_keeps_the_file_whole_over_the_preset(tmp_path):
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"loss_weights": {"priority": 2.0}}))
    base, values = combine(TICKETS, None, path, ["data=t.csv"], default_preset="triage")
    assert base == "triage" and values["loss_weights"] == {"priority": 2.0}  # replaced, not merged
    assert values["optimizer"] == merge(TICKETS.presets["triage"]["optimizer"], {})
