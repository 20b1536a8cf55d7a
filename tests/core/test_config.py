"""nnlab.config: seeds' defaults, presets, refused keys, types and values, resolution, JSON round trip."""

import json
import re

import keras
import pytest

from nnlab.config import PRESETS, RunConfig, from_dict, from_preset, load_json, to_dict
from nnlab.errors import NnlabError
from nnlab.training import build_optimizer


def test_defaults_follow_the_seeds():
    config = RunConfig().validate()
    assert config.model == "dnn" and config.api == "sequential"
    assert config.optimizer.name == "rmsprop"  # Keras' default optimizer, which the seeds use
    assert config.optimizer.learning_rate is None and config.optimizer.momentum == 0.0
    assert config.loss == "sparse_categorical_crossentropy"
    assert (config.epochs, config.batch_size) == (5, 32)
    assert (config.validation, config.seed) == ("seeds", 42)
    assert config.checkpoint.enabled and config.checkpoint.save_best_only
    assert not config.checkpoint.save_weights_only
    assert config.early_stopping.patience is None  # no early stopping unless asked
    optimizer = build_optimizer(config)
    assert isinstance(optimizer, keras.optimizers.RMSprop)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)  # Keras' own default


def test_every_preset_validates():
    for preset in PRESETS:
        assert isinstance(from_preset(preset), RunConfig)


@pytest.mark.parametrize("preset, expected", [
    ("logreg", {"model": "logreg", "optimizer": "rmsprop", "epochs": 5}),
    ("dnn-sigmoid", {"model": "dnn-sigmoid", "optimizer": "rmsprop", "epochs": 5}),
    ("dnn", {"model": "dnn", "optimizer": "rmsprop", "epochs": 5}),
    ("dropout", {"model": "dnn", "dropout": 0.3, "optimizer": "adam", "epochs": 20}),
    ("seeds-final", {"model": "dnn", "dropout": 0.3, "optimizer": "adam", "epochs": 20, "patience": 2,
                     "restore": True, "save_best_only": True}),
    ("mnist-512", {"model": "mnist-512", "optimizer": "rmsprop", "epochs": 10, "patience": 2,
                   "stop_monitor": "val_accuracy", "checkpoint_monitor": "val_loss"}),
])
def test_presets_match_the_seeds(preset, expected):
    config = from_preset(preset).resolved()
    got = {
        "model": config.model, "dropout": config.dropout, "optimizer": config.optimizer.name,
        "epochs": config.epochs, "patience": config.early_stopping.patience,
        "restore": config.early_stopping.restore_best_weights, "save_best_only": config.checkpoint.save_best_only,
        "stop_monitor": config.early_stopping.monitor, "checkpoint_monitor": config.checkpoint.monitor,
    }
    assert {key: got[key] for key in expected} == expected


def test_overrides_merge_into_a_preset():
    config = from_preset("seeds-final", epochs=3, early_stopping={"patience": 5})
    assert config.epochs == 3 and config.early_stopping.patience == 5
    assert config.early_stopping.restore_best_weights  # the rest of the nested section is kept
    assert config.optimizer.name == "adam"


def test_unknown_preset():
    with pytest.raises(NnlabError, match=r"--preset must be one of .*; got 'nope'"):
        from_preset("nope")
    with pytest.raises(NnlabError, match=r"Did you mean 'seeds-final'\?"):
        from_preset("seed-final")


@pytest.mark.parametrize("values, message", [
    ({"epoch": 3}, r"Unknown config key 'epoch'\. Did you mean 'epochs'\?"),
    ({"optimizer": {"learning_rat": 0.1}}, r"Unknown config key 'optimizer\.learning_rat'\. "
                                           r"Did you mean 'optimizer\.learning_rate'\?"),
    ({"optimizer": {"lr": 0.1}}, r"Unknown config key 'optimizer\.lr'\. Known keys: name, learning_rate"),
    ({"zzz": 1}, r"Unknown config key 'zzz'\. Known keys: .*\bmodel\b.*\bepochs\b"),
])
def test_unknown_keys_are_refused_with_a_suggestion(values, message):
    with pytest.raises(NnlabError, match=message):
        from_dict(values)


@pytest.mark.parametrize("values, message", [
    ({"epochs": "5"}, r"epochs must be int, got '5' \(str\)"),
    ({"epochs": 2.5}, r"epochs must be int, got 2\.5 \(float\)"),
    ({"epochs": True}, r"epochs must be int, got True \(bool\)"),
    ({"dropout": "0.3"}, r"dropout must be float or null, got '0\.3' \(str\)"),
    ({"model": 3}, r"model must be str, got 3 \(int\)"),
    ({"optimizer": {"nesterov": "yes"}}, r"optimizer\.nesterov must be bool, got 'yes' \(str\)"),
    ({"early_stopping": {"patience": 2.0}}, r"early_stopping\.patience must be int or null, got 2\.0"),
    ({"optimizer": "adam"}, r"optimizer must be a mapping of settings, got 'adam'"),
])
def test_wrong_types_are_refused(values, message):
    with pytest.raises(NnlabError, match=message):
        from_dict(values)


def test_ints_are_accepted_where_floats_are_expected():
    config = from_dict({"dropout": 0, "optimizer": {"learning_rate": 1, "momentum": 0}})
    assert isinstance(config.dropout, float) and isinstance(config.optimizer.learning_rate, float)


@pytest.mark.parametrize("overrides, flag, received", [
    ({"epochs": 0}, "--epochs must be an integer >= 1", "got 0"),
    ({"batch_size": 0}, "--batch-size must be an integer >= 1", "got 0"),
    ({"eval_batch_size": -1}, "--eval-batch-size must be an integer >= 1", "got -1"),
    ({"limit": 0}, "--limit must be an integer >= 1", "got 0"),
    ({"dropout": 1.0}, "--dropout must be in [0, 1)", "got 1.0"),
    ({"dropout": -0.1}, "--dropout must be in [0, 1)", "got -0.1"),
    ({"optimizer": {"learning_rate": 0.0}}, "--lr must be > 0", "got 0.0"),
    ({"optimizer": {"momentum": 1.0, "name": "sgd"}}, "--momentum must be in [0, 1)", "got 1.0"),
    ({"optimizer": {"name": "adam", "momentum": 0.9}}, "--momentum applies to sgd and rmsprop", "not adam"),
    ({"optimizer": {"name": "rmsprop", "nesterov": True}}, "--nesterov applies to sgd only", "not rmsprop"),
    ({"optimizer": {"name": "adamw"}}, "--optimizer must be one of sgd, rmsprop, adagrad, adam",
     "got 'adamw'. Did you mean 'adam'?"),
    ({"model": "cnnn"}, "--model must be one of", "got 'cnnn'. Did you mean 'cnn'?"),
    ({"api": "functionnal"}, "--api must be one of", "got 'functionnal'. Did you mean 'functional'?"),
    ({"validation": "strat"}, "--validation must be one of", "got 'strat'"),
    ({"verbose": 3}, "--verbose must be 0, 1 or 2", "got 3"),
    ({"early_stopping": {"patience": -1}}, "--early-stopping must be an integer >= 0", "got -1"),
    ({"validation": "none", "checkpoint": {"monitor": "val_loss"}}, "--monitor val_loss needs validation data",
     "use --monitor loss"),
    ({"validation": "none", "early_stopping": {"monitor": "val_accuracy", "patience": 1}},
     "--monitor val_accuracy needs validation data", "use --monitor accuracy"),
    ({"checkpoint": {"monitor": "val_los"}}, "--monitor (checkpoint monitor) must be one of",
     "got 'val_los'. Did you mean 'val_loss'?"),
    ({"save_format": "tf"}, "--save-format must be one of keras, h5", "got 'tf'"),
    ({"save_format": "h5", "api": "subclass"}, "--save-format h5 cannot hold a subclassed model",
     "use --save-format keras or --api functional"),
    ({"name": "my run"}, "--name must be letters, digits", "got 'my run'"),
    ({"name": "../escape"}, "--name must be letters, digits", "got '../escape'"),
])
def test_bad_values_name_the_flag_and_the_value(overrides, flag, received):
    with pytest.raises(NnlabError, match=re.escape(flag) + ".*" + re.escape(received)):
        from_preset(None, **overrides)


def test_resolved_fills_the_monitors_and_leaves_the_original_alone():
    config = from_preset("seeds-final")
    resolved = config.resolved()
    assert (resolved.checkpoint.monitor, resolved.early_stopping.monitor) == ("val_loss", "val_loss")
    assert config.checkpoint.monitor is None and config.early_stopping.monitor is None

    without_validation = from_preset("seeds-final", validation="none").resolved()
    assert (without_validation.checkpoint.monitor, without_validation.early_stopping.monitor) == ("loss", "loss")

    # The early stopping monitor follows the checkpoint's unless set.
    custom = from_preset("dnn", checkpoint={"monitor": "val_accuracy"}, early_stopping={"patience": 1}).resolved()
    assert custom.early_stopping.monitor == "val_accuracy"


def test_load_json_round_trip(tmp_path):
    config = from_preset("mnist-512", epochs=3, seed=7, optimizer={"learning_rate": 0.01}).resolved()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(to_dict(config), indent=2))
    assert load_json(path) == config
    assert load_json(path).resolved() == config  # resolving twice changes nothing
    rerun = load_json(path, seed=8, optimizer={"momentum": 0.5})
    assert rerun.seed == 8 and rerun.optimizer.momentum == 0.5 and rerun.optimizer.learning_rate == 0.01
    assert rerun.epochs == 3


def test_load_json_errors(tmp_path):
    with pytest.raises(NnlabError, match=r"Config file .*missing\.json does not exist"):
        load_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 3")
    with pytest.raises(NnlabError, match=r"broken\.json is not valid JSON"):
        load_json(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"epochs": 3, "optimiser": {"name": "sgd"}}))
    with pytest.raises(NnlabError, match=r"Unknown config key 'optimiser'\. Did you mean 'optimizer'\?"):
        load_json(unknown)
    bad_value = tmp_path / "bad.json"
    bad_value.write_text(json.dumps({"epochs": 0}))
    with pytest.raises(NnlabError, match=r"--epochs must be an integer >= 1, got 0"):
        load_json(bad_value)
