"""nnlab.core.config: refused keys, types and values, resolution, merging, JSON and YAML round trips.

The settings every task shares are checked through the Fashion-MNIST task's config
(the core's RunConfig needs a task for its model names and logged metrics);
its presets and own fields are in ``tests/fashion/test_config.py``.
"""

import json
import re

import keras
import pytest

from nnlab.core.config import (RunConfig, Settings, at_least, choice, from_dict, merge, read_json,
                               to_dict)
from nnlab.core.config_sources import read_settings
from nnlab.core.errors import NnlabError
from nnlab.core.training import build_optimizer
from nnlab.fashion.config import FashionConfig
from nnlab.fashion.task import TASK


def test_shared_defaults_follow_the_seeds():
    config = TASK.config()
    assert isinstance(config, RunConfig) and config.task == "fashion"
    assert config.optimizer.name == "rmsprop"  # Keras' default optimizer, which the seeds use
    assert config.optimizer.learning_rate is None and config.optimizer.momentum == 0.0
    assert config.optimizer.schedule == "constant"
    assert (config.epochs, config.batch_size, config.seed) == (5, 32, 42)
    assert config.loss_weights is None
    assert config.checkpoint.enabled and config.checkpoint.save_best_only
    assert not config.checkpoint.save_weights_only
    assert config.early_stopping.patience is None  # no early stopping unless asked
    optimizer = build_optimizer(config)
    assert isinstance(optimizer, keras.optimizers.RMSprop)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)  # Keras' own default


@pytest.mark.parametrize("values, message", [
    ({"epoch": 3}, r"Unknown config key 'epoch'\. Did you mean 'epochs'\?"),
    ({"optimizer": {"learning_rat": 0.1}}, r"Unknown config key 'optimizer\.learning_rat'\. "
                                           r"Did you mean 'optimizer\.learning_rate'\?"),
    ({"optimizer": {"lr": 0.1}}, r"Unknown config key 'optimizer\.lr'\. "  # the flag --lr's setting
                                 r"Did you mean 'optimizer\.learning_rate'\?$"),
    ({"learning_rate": 0.1}, r"Unknown config key 'learning_rate'\. Did you mean 'optimizer\.learning_rate'\?$"),
    ({"patience": 2}, r"Unknown config key 'patience'\. Did you mean 'early_stopping\.patience'\?$"),
    ({"optimizer": {"xyzzy": 0.1}}, r"Unknown config key 'optimizer\.xyzzy'\. "
                                    r"Known keys: name, learning_rate, momentum, nesterov, schedule, warmup_epochs, "
                                    r"decay_rate, decay_epochs\.$"),
    ({"zzz": 1}, r"Unknown config key 'zzz'\. Known keys: .*\bmodel\b.*\bepochs\b"),
])
def test_unknown_keys_are_refused_with_a_suggestion(values, message):
    with pytest.raises(NnlabError, match=message):
        from_dict(FashionConfig, values)


@pytest.mark.parametrize("values, message", [
    ({"epochs": "5"}, r"^--epochs must be an integer >= 1, got '5' \(setting epochs\)\.$"),
    ({"epochs": 2.5}, r"^--epochs must be an integer >= 1, got 2\.5 \(setting epochs\)"),
    ({"epochs": True}, r"^--epochs must be an integer >= 1, got True \(setting epochs\)"),
    ({"dropout": "0.3"}, r"^--dropout must be a number in \[0, 1\) or null, got '0\.3' \(setting dropout\)"),
    ({"model": 3}, r"^--model must be one of logreg, .*; got 3\. \(setting model\)"),
    ({"optimizer": {"nesterov": "yes"}}, r"^--nesterov must be true or false, got 'yes' \(setting optimizer\.nesterov\)"),
    ({"early_stopping": {"patience": 2.0}}, r"^--early-stopping must be an integer >= 0 or null, got 2\.0 "
                                            r"\(setting early_stopping\.patience\)"),
    ({"optimizer": "adam"}, r"^optimizer must be a mapping of settings, got 'adam'\.$"),
    ({"reduce_lr": 3}, r"^reduce_lr must be a mapping of settings or null, got 3\.$"),
    ({"loss_weights": {"class": "1"}}, r"^loss_weights\.class must be a number >= 0, got '1'\.$"),
    ({"loss_weights": [1.0]}, r"^--loss-weights must be a mapping of names to numbers or null, got \[1\.0\]"),
    ({"optimizer": {"decay_rate": 0}}, r"^optimizer\.decay_rate must be in \(0, 1\], got 0\.$"),
    ({"reduce_lr": {"factor": 1.5}}, r"^reduce_lr\.factor must be in \(0, 1\), got 1\.5\.$"),
    ({"reduce_lr": {"patience": -1}}, r"^reduce_lr\.patience must be an integer >= 0, got -1\.$"),
    ({"epochs": 0, "batch_size": 0}, r"^--epochs must be an integer >= 1, got 0 \(setting epochs\)\. "
                                     r"\(1 more problem after this one\.\)$"),
])
def test_wrong_types_are_refused(values, message):
    with pytest.raises(NnlabError, match=message):
        from_dict(FashionConfig, values)


def test_ints_are_accepted_where_floats_are_expected():
    config = from_dict(FashionConfig, {"dropout": 0, "optimizer": {"learning_rate": 1, "momentum": 0}})
    assert isinstance(config.dropout, float) and isinstance(config.optimizer.learning_rate, float)
    assert isinstance(config.optimizer.momentum, float)


@pytest.mark.parametrize("overrides, flag, received", [
    ({"epochs": 0}, "--epochs must be an integer >= 1", "got 0"),
    ({"batch_size": 0}, "--batch-size must be an integer >= 1", "got 0"),
    ({"eval_batch_size": -1}, "eval_batch_size must be an integer >= 1", "got -1"),
    ({"steps_per_execution": 0}, "steps_per_execution must be an integer >= 1", "got 0"),
    ({"optimizer": {"learning_rate": 0.0}}, "--lr must be > 0", "got 0.0"),
    ({"optimizer": {"momentum": 1.0, "name": "sgd"}}, "--momentum must be in [0, 1)", "got 1.0"),
    ({"optimizer": {"name": "adam", "momentum": 0.9}}, "--momentum applies to sgd and rmsprop", "not adam"),
    ({"optimizer": {"name": "rmsprop", "nesterov": True}}, "--nesterov applies to sgd only", "not rmsprop"),
    ({"optimizer": {"name": "adamw"}}, "--optimizer must be one of sgd, rmsprop, adagrad, adam",
     "got 'adamw'. Did you mean 'adam'?"),
    ({"optimizer": {"schedule": "cosin"}}, "--schedule must be one of constant, cosine, exponential, step, "
                                           "warmup_cosine",
     "got 'cosin'. Did you mean 'cosine'?"),
    ({"model": "cnnn"}, "--model must be one of", "got 'cnnn'. Did you mean 'cnn'?"),
    ({"verbose": 3}, "--verbose must be 0, 1 or 2", "got 3"),
    ({"early_stopping": {"patience": -1}}, "--early-stopping must be an integer >= 0", "got -1"),
    ({"validation": "none", "checkpoint": {"monitor": "val_loss"}}, "--monitor val_loss needs validation data",
     "use --monitor loss"),
    ({"validation": "none", "early_stopping": {"monitor": "val_accuracy", "patience": 1}},
     "--monitor val_accuracy needs validation data", "use --monitor accuracy"),
    ({"checkpoint": {"monitor": "val_los"}}, "--monitor (checkpoint monitor) must be one of",
     "got 'val_los'. Did you mean 'val_loss'?"),
    ({"early_stopping": {"monitor": "val_acc", "patience": 1}}, "--monitor (early-stopping monitor) must be one of",
     "got 'val_acc'"),
    ({"save_format": "tf"}, "--save-format must be one of keras, h5", "got 'tf'"),
    ({"name": "my run"}, "--name must be letters, digits", "got 'my run'"),
    ({"name": "../escape"}, "--name must be letters, digits", "got '../escape'"),
    ({"loss_weights": {"class": 2.0}}, "--loss-weights weighs the losses of several outputs",
     "the fashion task has one (class); drop --loss-weights."),
    ({"task": "ticket"}, "these settings are for the task 'ticket', not 'fashion'", "nnlab ticket train"),
    ({"reduce_lr": {}, "optimizer": {"schedule": "cosine"}}, "reduce_lr needs optimizer.schedule constant",
     "Set optimizer.schedule=constant or drop reduce_lr (reduce_lr=null)."),
    ({"reduce_lr": {"monitor": "val_acc"}}, "reduce_lr.monitor must be one of",
     "got 'val_acc'. Did you mean 'val_accuracy'?"),
    ({"validation": "none", "reduce_lr": {"monitor": "val_loss"}}, "reduce_lr.monitor=val_loss needs validation data",
     "use reduce_lr.monitor=loss"),
])
def test_bad_values_name_the_flag_and_the_value(overrides, flag, received):
    with pytest.raises(NnlabError, match=re.escape(flag) + ".*" + re.escape(received)):
        TASK.config(None, **overrides)


def test_resolved_fills_the_monitors_and_leaves_the_original_alone():
    config = TASK.config("seeds-final")
    resolved = config.resolved()
    assert (resolved.checkpoint.monitor, resolved.early_stopping.monitor) == ("val_loss", "val_loss")
    assert config.checkpoint.monitor is None and config.early_stopping.monitor is None

    without_validation = TASK.config("seeds-final", validation="none").resolved()
    assert (without_validation.checkpoint.monitor, without_validation.early_stopping.monitor) == ("loss", "loss")

    # The early stopping monitor follows the checkpoint's unless set.
    custom = TASK.config("dnn", checkpoint={"monitor": "val_accuracy"}, early_stopping={"patience": 1}).resolved()
    assert custom.early_stopping.monitor == "val_accuracy"

    # ReduceLROnPlateau watches the checkpoint's monitor unless told otherwise.
    plateau = TASK.config("dnn", reduce_lr={"patience": 1}, checkpoint={"monitor": "val_accuracy"}).resolved()
    assert plateau.reduce_lr.monitor == "val_accuracy" and plateau.reduce_lr.factor == 0.1


def test_assignment_is_checked_and_named():
    config = TASK.config("dnn")
    config.epochs = 3
    assert config.epochs == 3
    with pytest.raises(NnlabError, match=r"^--epochs must be an integer >= 1, got 0 \(setting epochs\)\.$"):
        config.epochs = 0
    with pytest.raises(NnlabError, match=r"^--limit must be an integer >= 1 or null, got '5'"):
        config.limit = "5"
    assert config.epochs == 3 and config.limit is None  # a refused value leaves the config as it was


def test_load_config_round_trip(tmp_path):
    config = TASK.config("mnist-512", epochs=3, seed=7, optimizer={"learning_rate": 0.01}).resolved()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(to_dict(config), indent=2))
    assert TASK.load_config(path) == config
    assert TASK.load_config(path).resolved() == config  # resolving twice changes nothing
    rerun = TASK.load_config(path, seed=8, optimizer={"momentum": 0.5})
    assert rerun.seed == 8 and rerun.optimizer.momentum == 0.5 and rerun.optimizer.learning_rate == 0.01
    assert rerun.epochs == 3


def test_load_config_errors(tmp_path):
    with pytest.raises(NnlabError, match=r"Config file .*missing\.json does not exist"):
        TASK.load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 3")
    with pytest.raises(NnlabError, match=r"broken\.json is not valid JSON"):
        TASK.load_config(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(NnlabError, match=r"list\.json must hold a JSON mapping of settings, got list"):
        TASK.load_config(listed)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"epochs": 3, "optimiser": {"name": "sgd"}}))
    with pytest.raises(NnlabError, match=r"Unknown config key 'optimiser'\. Did you mean 'optimizer'\?"):
        TASK.load_config(unknown)
    bad_value = tmp_path / "bad.json"
    bad_value.write_text(json.dumps({"epochs": 0}))
    with pytest.raises(NnlabError, match=r"--epochs must be an integer >= 1, got 0"):
        TASK.load_config(bad_value)


# ---------------------------------------------------------------- the machinery on its own


class Inner(Settings):
    rate: float = 0.1
    steps: int | None = None


class Outer(Settings):
    name: str = "x"
    inner: Inner = Inner()
    weights: dict[str, float] | None = None


def test_from_dict_builds_nested_sections_and_keeps_defaults():
    config = from_dict(Outer, {"inner": {"steps": 3}})
    assert config == Outer(inner=Inner(rate=0.1, steps=3))
    assert to_dict(config) == {"name": "x", "inner": {"rate": 0.1, "steps": 3}, "weights": None}
    assert from_dict(Outer, to_dict(config)) == config  # round trip
    assert from_dict(Outer, {"weights": {"a": 1, "b": 0.5}}).weights == {"a": 1, "b": 0.5}


def test_errors_name_the_nested_key():
    with pytest.raises(NnlabError, match=r"^inner\.steps must be an integer or null, got '3'\.$"):
        from_dict(Outer, {"inner": {"steps": "3"}})
    with pytest.raises(NnlabError, match=r"^steps must be an integer or null, got '3'\.$"):  # knows its section only
        Outer().inner.steps = "3"
    with pytest.raises(NnlabError, match=r"^Unknown config key 'inner\.rat'\. Did you mean 'inner\.rate'\?$"):
        from_dict(Outer, {"inner": {"rat": 1}})
    with pytest.raises(NnlabError, match=r"^config must be a mapping of settings, got \[\]\.$"):
        from_dict(Outer, [])


def test_merge_is_deep_except_for_loss_weights():
    base = {"epochs": 5, "optimizer": {"name": "adam", "learning_rate": 0.1}, "loss_weights": {"a": 1.0, "b": 2.0}}
    merged = merge(base, {"optimizer": {"learning_rate": 0.5}, "loss_weights": {"a": 3.0}})
    assert merged == {"epochs": 5, "optimizer": {"name": "adam", "learning_rate": 0.5}, "loss_weights": {"a": 3.0}}
    assert base["optimizer"]["learning_rate"] == 0.1  # the base is not changed


def test_choice_and_at_least():
    choice("--x", "b", ("a", "b"))
    with pytest.raises(NnlabError, match=r"^--x must be one of alpha, beta; got 'alpah'\. Did you mean 'alpha'\?$"):
        choice("--x", "alpah", ("alpha", "beta"))
    at_least("--n", 2, 2)
    for bad in (1, True, 2.0, "3", None):
        with pytest.raises(NnlabError, match=rf"^--n must be an integer >= 2, got {re.escape(repr(bad))}\.$"):
            at_least("--n", bad, 2)


def test_read_json(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"epochs": 2}')
    assert read_json(path) == {"epochs": 2}
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(NnlabError, match=r"settings\.json is not valid JSON"):
        read_json(path)


def test_read_yaml(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("epochs: 2\noptimizer: {name: adam, learning_rate: 1e-3}  # YAML 1.1 reads 1e-3 as text\n")
    assert read_settings(path) == {"epochs": 2, "optimizer": {"name": "adam", "learning_rate": 0.001}}
    path.write_text("epochs: [2\n")
    with pytest.raises(NnlabError, match=r"^Config file .*settings\.yaml is not valid YAML: .*\.$"):
        read_settings(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(NnlabError, match=r"settings\.yaml must hold a YAML mapping of settings, got list"):
        read_settings(path)
    with pytest.raises(NnlabError, match=r"is a folder"):
        read_settings(tmp_path)
