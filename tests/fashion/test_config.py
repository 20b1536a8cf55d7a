"""nnlab.fashion.config: the seeds' defaults, the presets, the fields only this system has."""

import re

import pytest

from nnlab.core.errors import NnlabError
from nnlab.fashion.config import PRESETS, FashionConfig
from nnlab.fashion.task import TASK


def test_defaults_follow_the_seeds():
    config = FashionConfig().validate()
    assert config.task == "fashion"
    assert config.model == "dnn" and config.api == "sequential" and config.dropout is None
    assert (config.validation, config.limit, config.data_dir) == ("seeds", None, None)
    assert config.optimizer.name == "rmsprop" and (config.epochs, config.batch_size) == (5, 32)
    (output,) = TASK.outputs
    assert output.loss == "sparse_categorical_crossentropy" and output.metrics == ("accuracy",)
    assert len(output.labels) == 10 and output.labels[0] == "T-shirt/top"


def test_every_preset_validates():
    assert set(PRESETS) == {"logreg", "dnn-sigmoid", "dnn", "dropout", "seeds-final", "mnist-512", "cnn",
                            "cnn-fast", "cnn-deep", "cnn-ensemble"}
    for preset in PRESETS:
        config = TASK.config(preset)
        assert isinstance(config, FashionConfig) and config.preset == preset


@pytest.mark.parametrize("preset, expected", [
    ("logreg", {"model": "logreg", "optimizer": "rmsprop", "epochs": 5}),
    ("dnn-sigmoid", {"model": "dnn-sigmoid", "optimizer": "rmsprop", "epochs": 5}),
    ("dnn", {"model": "dnn", "optimizer": "rmsprop", "epochs": 5}),
    ("dropout", {"model": "dnn", "dropout": 0.3, "optimizer": "adam", "epochs": 20}),
    ("seeds-final", {"model": "dnn", "dropout": 0.3, "optimizer": "adam", "epochs": 20, "patience": 2,
                     "restore": True, "save_best_only": True}),
    ("mnist-512", {"model": "mnist-512", "optimizer": "rmsprop", "epochs": 10, "patience": 2,
                   "stop_monitor": "val_accuracy", "checkpoint_monitor": "val_loss"}),
    ("cnn", {"model": "cnn", "optimizer": "adam", "learning_rate": 2e-3, "schedule": "cosine", "epochs": 12,
             "batch_size": 128}),
])
def test_presets_match_the_seeds(preset, expected):
    config = TASK.config(preset).resolved()
    got = {
        "model": config.model, "dropout": config.dropout, "optimizer": config.optimizer.name,
        "learning_rate": config.optimizer.learning_rate, "schedule": config.optimizer.schedule,
        "epochs": config.epochs, "batch_size": config.batch_size, "patience": config.early_stopping.patience,
        "restore": config.early_stopping.restore_best_weights, "save_best_only": config.checkpoint.save_best_only,
        "stop_monitor": config.early_stopping.monitor, "checkpoint_monitor": config.checkpoint.monitor,
    }
    assert {key: got[key] for key in expected} == expected


def test_overrides_merge_into_a_preset():
    config = TASK.config("seeds-final", epochs=3, early_stopping={"patience": 5})
    assert config.epochs == 3 and config.early_stopping.patience == 5
    assert config.early_stopping.restore_best_weights  # the rest of the nested section is kept
    assert config.optimizer.name == "adam"
    assert PRESETS["seeds-final"]["early_stopping"]["patience"] == 2  # the preset itself is untouched


def test_unknown_preset():
    with pytest.raises(NnlabError, match=r"--preset must be one of .*; got 'nope'"):
        TASK.config("nope")
    with pytest.raises(NnlabError, match=r"Did you mean 'seeds-final'\?"):
        TASK.config("seed-final")


@pytest.mark.parametrize("overrides, flag, received", [
    ({"limit": 0}, "--limit must be an integer >= 1", "got 0"),
    ({"dropout": 1.0}, "--dropout must be in [0, 1)", "got 1.0"),
    ({"dropout": -0.1}, "--dropout must be in [0, 1)", "got -0.1"),
    ({"api": "functionnal"}, "--api must be one of", "got 'functionnal'. Did you mean 'functional'?"),
    ({"validation": "strat"}, "--validation must be one of", "got 'strat'"),
    ({"save_format": "h5", "api": "subclass"}, "--save-format h5 cannot hold a subclassed model",
     "use --save-format keras or --api functional"),
])
def test_bad_fashion_values_name_the_flag_and_the_value(overrides, flag, received):
    with pytest.raises(NnlabError, match=re.escape(flag) + ".*" + re.escape(received)):
        TASK.config(None, **overrides)


def test_a_dense_net_of_another_shape_is_settings_not_python():
    # `--set model.hidden=[300,100] --set model.activation=tanh --set model.dropout=0.2` over the dnn preset.
    from nnlab.core.config_sources import settings_from
    from nnlab.fashion.task import TASK

    config = settings_from(TASK, preset="dnn", sets=["model.hidden=[300, 100]", "model.activation=tanh",
                                                     "model.dropout=0.2"])
    model = TASK.build_model(config)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense] == [300, 100, 10]
    assert [layer.get_config()["activation"] for layer in dense] == ["tanh", "tanh", "softmax"]
    assert model.count_params() == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    # its config.json repeats it; --dropout and --api over a model given as settings set its own
    again = TASK.config_from_dict(config.resolved().model_dump(mode="json"))
    assert again.model == config.model
    flagged = settings_from(TASK, preset="dnn", sets=["model.hidden=[64]"], flags={"dropout": 0.1, "api": "functional"})
    assert (flagged.model.dropout, flagged.model.api, flagged.dropout) == (0.1, "functional", None)
    # a named model stays a name (the presets, the seeds' experiments, old run folders)
    assert TASK.config("dropout").model == "dnn"
