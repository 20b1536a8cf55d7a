"""``--config`` and ``--set`` on ``nnlab train`` and ``nnlab tickets train``, through the real command line.

Mistakes in any source are one ``error:`` line, exit 2, naming the dotted key; a run's config.json
given back to ``--config`` repeats the run; a run folder written before the settings moved to
pydantic (tests/presets/old_*_config.json, written by main's code) still evaluates and resumes.
"""

import json
import shutil
from pathlib import Path

import keras
import pytest

from nnlab.core.errors import Interrupted
from nnlab.fashion.task import TASK
from nnlab.tickets.task import TASK as TICKETS

PRESETS = Path(__file__).parents[1] / "presets"


def one_error(run_cli, *args):
    code, out, err = run_cli(*args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err + out, err
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--set", "epoch=3"], "Unknown config key 'epoch'. Did you mean 'epochs'?"),
    (["--set", "optimizer.learnig_rate=0.1"], "Unknown config key 'optimizer.learnig_rate'. "
                                              "Did you mean 'optimizer.learning_rate'?"),
    (["--set", "lr=0.1"], "Did you mean 'optimizer.learning_rate'?"),
    (["--set", "epochs=three"], "--epochs must be an integer >= 1, got 'three' (setting epochs)."),
    (["--set", "checkpoint.enabled=maybe"], "--checkpoint must be true or false, got 'maybe' "
                                            "(setting checkpoint.enabled)."),
    (["--set", "optimizer.decay_rate=1.5"], "optimizer.decay_rate must be in (0, 1], got 1.5."),
    (["--set", "reduce_lr.factor=0"], "reduce_lr.factor must be in (0, 1), got 0."),
    (["--set", "reduce_lr.patience=2", "--schedule", "cosine"], "reduce_lr needs optimizer.schedule constant, "
                                                                "got 'cosine'"),
    (["--set", "dropout=2"], "--dropout must be in [0, 1), got 2 (setting dropout)."),
    (["--set", "optimizer={name: adamw}"], "got 'adamw'. Did you mean 'adam'? (setting optimizer.name)"),
    (["--set", "epochs"], "--set takes dotted.key=value"),
    (["--config", "bad.yaml"], "Unknown config key 'optimizer.lr'. Did you mean 'optimizer.learning_rate'?"),
    (["--config", "broken.yaml"], "broken.yaml is not valid YAML"),
    (["--config", "bad.yaml", "--set", "optimizer.lr=null"], "Unknown config key 'optimizer.lr'"),
    (["--config", "run.json", "--epochs", "0"], "--epochs must be an integer >= 1, got 0"),  # flags beat the file
    (["--config", "tickets.yaml"], "these settings are for the task 'tickets', not 'fashion'"),
    (["--resume", "runs/x", "--set", "epochs=3"], "drop --set"),
    (["--resume", "runs/x", "--config", "run.json"], "drop --config"),
])
def test_train_mistakes_name_the_key(run_cli, tmp_path, args, message):
    (tmp_path / "bad.yaml").write_text("epochs: 2\noptimizer:\n  lr: 0.1\n")
    (tmp_path / "broken.yaml").write_text("epochs: [2\n")
    (tmp_path / "run.json").write_text((PRESETS / "old_fashion_config.json").read_text())
    (tmp_path / "tickets.yaml").write_text("task: tickets\nepochs: 2\n")
    assert message in one_error(run_cli, "train", *args)
    assert not (tmp_path / "runs").exists()  # nothing was trained or written


@pytest.mark.parametrize("args, message", [
    (["t.csv", "--set", "hidden_unit=8"], "Unknown config key 'hidden_unit'. Did you mean 'hidden_units'?"),
    (["t.csv", "--set", "val_split=0.6"], "--val-split must be a fraction in [0, 0.5), got 0.6 (setting val_split)."),
    (["t.csv", "--set", "split_seed=1.5"], "split_seed must be an integer, got 1.5."),
    (["t.csv", "--set", "priority_loss=mse"], "--priority-loss must be one of mean_squared_error, "),
    (["t.csv", "--set", "loss_weights.urgency=1"], "--loss-weights: output must be one of priority, department"),
    (["t.csv", "--monitor", "val_department_acc"], "--monitor (checkpoint monitor) must be one of"),
    (["t.csv", "--preset", "triag"], "Did you mean 'triage'?"),
    (["--config", "fashion.yaml"], "these settings are for the task 'fashion', not 'tickets'"),
    (["--set", "epochs=2"], "give the ticket file"),
    (["--set", "data=t.xlsx"], "the ticket file must end in .csv, .tsv, .txt, .jsonl, .ndjson or .json, got 't.xlsx' (from a spreadsheet, save it as CSV)"),
    (["--resume", "runs/x", "--set", "epochs=3"], "drop --set"),
    (["--resume", "runs/x", "--preset", "seeds"], "drop --preset"),
])
def test_tickets_train_mistakes_name_the_key(run_cli, tmp_path, args, message):
    (tmp_path / "t.csv").write_text("title,body,tags,priority,department\n")
    (tmp_path / "fashion.yaml").write_text("task: fashion\n")
    assert message in one_error(run_cli, "tickets", "train", *args)
    assert not (tmp_path / "runs").exists()


def test_a_run_config_repeats_the_run(run_cli, tmp_path):
    """Same settings and seed -> the same history; only the folder's name differs."""
    code, _, err = run_cli("train", "--preset", "dnn", "--limit", "300", "--epochs", "2", "--verbose", "0",
                           "--set", "optimizer.learning_rate=3e-3", "--set", "batch_size=64", "--name", "a")
    assert code == 0, err
    code, _, err = run_cli("train", "--config", "runs/a/config.json", "--set", "name=b")
    assert code == 0, err
    first, again = (json.loads((tmp_path / "runs" / name / "config.json").read_text()) for name in "ab")
    assert again == {**first, "name": "b"} and first["optimizer"]["learning_rate"] == 0.003
    assert first["batch_size"] == 64 and first["preset"] == "dnn"
    history = [json.loads((tmp_path / "runs" / name / "history.json").read_text()) for name in "ab"]
    assert history[0] == history[1] and len(history[0]["loss"]) == 2


def test_set_reaches_reduce_lr(run_cli, tmp_path):
    """--set reduce_lr.* turns on Keras' ReduceLROnPlateau: with min_delta 10 no epoch counts as progress."""
    code, _, err = run_cli("train", "--preset", "dnn", "--limit", "300", "--epochs", "3", "--verbose", "0",
                           "--name", "plateau", "--set", "optimizer.learning_rate=1e-3",
                           "--set", "reduce_lr={patience: 0, factor: 0.5, min_delta: 10}")
    assert code == 0, err
    config = json.loads((tmp_path / "runs" / "plateau" / "config.json").read_text())
    assert config["reduce_lr"]["factor"] == 0.5 and config["reduce_lr"]["monitor"] == "val_loss"
    rates = json.loads((tmp_path / "runs" / "plateau" / "history.json").read_text())["learning_rate"]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] < rates[0]


def test_tickets_monitor_sets_both_monitors_and_set_reaches_any_setting(run_cli, tmp_path, tickets_csv):
    code, _, err = run_cli("tickets", "train", tickets_csv, "--preset", "seeds", "--monitor", "val_priority_loss",
                           "--epochs", "1", "--limit", "200", "--verbose", "0", "--name", "m",
                           "--set", "vocabulary_size=200", "--set", "num_tags=20", "--set", "hidden_units=16",
                           "--set", "split_seed=3")
    assert code == 0, err
    config = json.loads((tmp_path / "runs" / "m" / "config.json").read_text())
    assert config["checkpoint"]["monitor"] == config["early_stopping"]["monitor"] == "val_priority_loss"
    assert (config["hidden_units"], config["split_seed"], config["vocabulary_size"]) == (16, 3, 200)
    assert config["preset"] == "seeds" and config["early_stopping"]["patience"] == 2  # the rest is the preset's


class CtrlCAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_a_run_folder_from_before_still_evaluates_and_resumes(run_cli, tmp_path, tiny_run, small_splits):
    """config.json as main's code wrote it (no schedule parameters, no reduce_lr) in a run folder."""
    from nnlab.core.training import train

    finished = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_run.run_dir, finished)
    old = (PRESETS / "old_fashion_config.json").read_text()  # seeds-final, 3 epochs, limit 600, name tiny
    (finished / "config.json").write_text(old)
    code, out, err = run_cli("evaluate", finished)
    assert code == 0 and "accuracy" in out, err
    for source in (finished / "config.json", finished):  # the file, or the run folder
        code, out, err = run_cli("config", "show", source)
        assert code == 0 and "reduce_lr: null" in out and "name: tiny" in out, err

    with pytest.raises(Interrupted):  # stopped after its first epoch, then given the old config.json
        train(TASK.config("seeds-final", epochs=3, limit=600, verbose=0, name="stopped",
                          runs_dir=str(tmp_path / "runs")), splits=small_splits,
              extra_callbacks=[CtrlCAfterFirstEpoch()])
    stopped = tmp_path / "runs" / "stopped"
    (stopped / "config.json").write_text(old)
    code, out, err = run_cli("train", "--resume", stopped, "--verbose", "0")
    assert code == 0, err
    assert len(json.loads((stopped / "history.json").read_text())["loss"]) == 3


def test_old_config_files_load_as_they_were():
    for task, name in ((TASK, "old_fashion_config.json"), (TICKETS, "old_tickets_config.json")):
        before = json.loads((PRESETS / name).read_text())
        config = task.load_config(PRESETS / name)
        now = config.model_dump()
        assert {key: now[key] for key in before if key != "optimizer"} == {
            key: value for key, value in before.items() if key != "optimizer"}
        assert {key: now["optimizer"][key] for key in before["optimizer"]} == before["optimizer"]
        assert now["reduce_lr"] is None and now["optimizer"]["decay_rate"] == 0.1


# ---------------------------------------------------------------- every setting, through the real command line

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from nnlab.core.config_errors import dotted_keys  # noqa: E402
from nnlab.fashion.config import FashionConfig  # noqa: E402
from nnlab.fashion.models import CnnSpec, DenseSpec  # noqa: E402
from nnlab.tickets.config import TicketsConfig  # noqa: E402

SCHEMAS = {"fashion": FashionConfig, "tickets": TicketsConfig}
CLI_PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def field_schemas(cls):
    """``{dotted key: its JSON schema}`` of every leaf setting (X-or-null: the X)."""
    from nnlab.core.config_errors import _field_schema

    found = {}
    for key in dotted_keys(cls):
        node = _field_schema(cls, key.split("."))
        node = next((n for n in node.get("anyOf", ()) if n.get("type") != "null"), node)
        found[key] = node
    return found


BOUNDED = sorted((system, key, node) for system, cls in SCHEMAS.items() for key, node in field_schemas(cls).items()
                 if node.get("type") in ("integer", "number") and ("minimum" in node or "exclusiveMinimum" in node))


CNN_ONLY = {f"model.{name}" for name in CnnSpec.model_fields} - {f"model.{name}" for name in DenseSpec.model_fields}


def preset_with(system, key):
    """A preset whose model has the setting ``key`` (a CNN's for model.convs, model.augment.*)."""
    if system == "tickets":
        return "seeds"
    return "cnn-fast" if key.split(".")[:2] and ".".join(key.split(".")[:2]) in CNN_ONLY else "dnn"


@CLI_PROPERTY
@given(st.sampled_from(BOUNDED), st.integers(1, 1000))
def test_any_value_below_a_bound_is_one_line_naming_the_key(run_cli, case, below):
    system, key, node = case
    low = node.get("minimum", node.get("exclusiveMinimum"))
    value = low - below if "minimum" in node else low - below + 1
    sets = ["--set", f"{key}={value}"] + (["--set", "data=t.csv"] if system == "tickets" else [])
    line = one_error(run_cli, "config", "show", "--task", system, preset_with(system, key), *sets)
    assert key in line or SCHEMAS[system].FLAGS.get(key, key) in line, line
    assert f"got {value}" in line, line


@CLI_PROPERTY
@given(st.sampled_from(sorted((system, key) for system, cls in SCHEMAS.items() for key in dotted_keys(cls))),
       st.integers(0, 100), st.sampled_from("xqz"))
def test_a_misspelt_key_is_named_with_a_valid_suggestion(run_cli, case, where, letter):
    system, key = case
    where = where % (len(key) + 1)
    wrong = key[:where] + letter + key[where:]
    if wrong.startswith(".") or ".." in wrong or wrong.endswith("."):
        return
    line = one_error(run_cli, "config", "show", "--task", system, preset_with(system, key), "--set", f"{wrong}=1")
    parts, given = key.split("."), wrong.split(".")
    first = next(i for i, (a, b) in enumerate(zip(parts, given)) if a != b)
    unknown = ".".join(given[:first + 1])  # pydantic stops at the first unknown level: a section or a setting
    # a model's own settings are checked by its spec ("model.xhidden is not a setting of this model")
    assert f"Unknown config key '{unknown}'" in line or f"{unknown} is not a setting of this model" in line, line
    if "id you mean '" in line:
        suggested = line.split("id you mean '")[1].split("'")[0]
        assert suggested in dotted_keys(SCHEMAS[system], sections=True)
