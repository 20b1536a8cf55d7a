"""nnlab/presets/: every named preset is a YAML file that resolves to exactly the settings of before.

``resolved_before_issue18.json`` was written once by main's code (61ce215, the presets as Python
dicts, before the settings moved to pydantic and YAML): the resolved config of every preset,
as training writes it to config.json. The settings added since (the schedule's parameters,
reduce_lr) must be at their defaults, which keep today's behaviour.
"""

import json
from pathlib import Path

import jsonschema_rs
import pytest

from nnlab.core.config import to_dict
from nnlab.core.config_sources import load_yaml, preset_files
from nnlab.fashion.task import TASK as FASHION
from nnlab.tickets.task import TASK as TICKETS

HERE = Path(__file__).parent
BEFORE = json.loads((HERE / "resolved_before_issue18.json").read_text())
TASKS = {"fashion": FASHION, "tickets": TICKETS}
EXTRA = {"data": "tickets.csv"}  # a ticket run needs its file; the frozen dicts were made with this one
NEW = {"fashion": {"cnn-ensemble"}, "tickets": set()}  # presets added since (issue 21)
ADDED = {"optimizer": {"warmup_epochs": 0.0, "decay_rate": 0.1, "decay_epochs": 10.0}, "reduce_lr": None}


def without_added(values):
    """``values`` less the settings added by issue 18, after checking they hold their neutral defaults."""
    values = json.loads(json.dumps(values))
    for key in ADDED["optimizer"]:
        assert values["optimizer"].pop(key) == ADDED["optimizer"][key], key
    assert values.pop("reduce_lr") is None
    assert values.pop("tensorboard") is False and values.pop("tracking") == {"uri": None, "experiment": None}  # issue 20
    return values


def resolved(system, preset):
    extra = EXTRA if system == "tickets" else {}
    return to_dict(TASKS[system].config(preset, **extra).resolved())


ALL = [(system, name) for system in BEFORE for name in BEFORE[system]]


def test_every_preset_has_a_file_and_nothing_else():
    for system, task in TASKS.items():
        assert set(preset_files(system)) == set(BEFORE[system]) | NEW[system] == set(task.presets)


@pytest.mark.parametrize("system, preset", ALL)
def test_each_preset_file_resolves_to_the_settings_of_before(system, preset):
    assert without_added(resolved(system, preset)) == BEFORE[system][preset]


@pytest.mark.parametrize("system, preset", ALL)
def test_each_preset_file_names_its_task(system, preset):
    values = load_yaml(preset_files(system)[preset].read_text())
    assert values["task"] == system and "preset" not in values  # the name is the file's


@pytest.mark.parametrize("system", sorted(TASKS))
def test_the_json_schema_validates_every_shipped_preset_file(system, run_cli):
    code, out, err = run_cli("config", "schema", "--task", system)
    assert code == 0, err
    validator = jsonschema_rs.validator_for(json.loads(out))
    for name, entry in preset_files(system).items():
        values = load_yaml(entry.read_text())
        errors = [error.message for error in validator.iter_errors(values)]
        assert not errors, (name, errors)
        assert validator.is_valid(resolved(system, name))  # and the resolved settings, as config.json holds them
    # The schema can fail: a misspelt key, a value out of bounds, a choice that does not exist.
    for bad in ({"epoch": 3}, {"epochs": 0}, {"optimizer": {"name": "adamw"}}, {"reduce_lr": {"factor": 1.0}},
                {"loss_weights": {"priority": "high"}}):
        assert not validator.is_valid(bad), bad


@pytest.mark.parametrize("system, preset", ALL)
def test_config_show_prints_the_preset_resolved(system, preset, run_cli):
    code, out, err = run_cli("config", "show", preset, "--task", system, *(["--set", "data=tickets.csv"]
                                                                         if system == "tickets" else []))
    assert code == 0, err
    assert load_yaml(out) == resolved(system, preset)


def test_config_show_of_a_ticket_preset_needs_no_file(run_cli):
    code, out, err = run_cli("config", "show", "seeds", "--task", "tickets")
    assert code == 0, err
    assert load_yaml(out)["data"] == "" and load_yaml(out)["early_stopping"]["monitor"] == "val_department_accuracy"


@pytest.mark.parametrize("args, message", [
    (["config", "show", "seed-final"], "seed-final is neither a settings file (.yaml, .yml, .json) nor a preset of "
                                       "the fashion task"),
    (["config", "show", "seed-final"], "Did you mean 'seeds-final'?"),
    (["config", "show", "missing.yaml"], "Config file missing.yaml does not exist"),
    (["config", "show", "dnn", "--task", "ticket"], "--task must be one of"),
    (["config", "show", "dnn", "--set", "optimizer.lr=0.1"], "Did you mean 'optimizer.learning_rate'?"),
    (["config", "schema", "--task", "fashon"], "got 'fashon'. Did you mean 'fashion'?"),
])
def test_config_mistakes_are_one_error_line(run_cli, args, message):
    code, out, err = run_cli(*args)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert message in err, err
