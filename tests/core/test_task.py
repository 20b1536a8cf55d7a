"""nnlab.core.task: the core trains any task -- here a synthetic two-output task defined in this file.

``ToyTask`` has two named inputs (``a``: 8 numbers, ``b``: 4 numbers) and two outputs:
``score`` (one sigmoid value, mean squared error, mae) and ``group`` (softmax over
three labels, categorical cross-entropy, accuracy). Nothing under ``nnlab/core`` knows
it; it is registered with ``register_task`` as a user's own system would be.
"""

import dataclasses
import json
import re

import keras
import numpy as np
import pytest

from helpers import CheckpointWatcher
from nnlab.core.config import RunConfig
from nnlab.core.errors import NnlabError
from nnlab.core.evaluation import evaluate, predict
from nnlab.core.saving import load_model
from nnlab.core.task import (Output, Splits, Task, best_epoch, get_task, mode, num_samples, register_task,
                             task_names)
from nnlab.core.training import train

RUN_FILES = {"config.json", "history.csv", "history.json", "metrics.json", "curves.png",
             "best.keras", "final.keras", "final.weights.h5"}
GROUPS = ("red", "green", "blue")
FIGURES = {"loss", "score_loss", "group_loss", "score_mae", "group_accuracy"}  # what Keras logs per split


# ---------------------------------------------------------------- the toy task


def toy_data(n, seed, wrong_groups=False):
    """Inputs {"a": (n, 8), "b": (n, 4)}; targets {"score": (n, 1) in 0..1, "group": (n, 3) one-hot}.

    The group is a plain function of the inputs; ``wrong_groups`` shifts every label by one,
    so the better a model learns the rule, the lower its accuracy on these samples.
    """
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 8)).astype(np.float32)
    b = rng.normal(size=(n, 4)).astype(np.float32)
    score = 1 / (1 + np.exp(-(a[:, 0] + a[:, 1] - b[:, 0])))
    group = np.argmax(a[:, 2:5] + b[:, 1:4], axis=1)
    if wrong_groups:
        group = (group + 1) % 3
    return {"a": a, "b": b}, {"score": score[:, None].astype(np.float32),
                              "group": np.eye(3, dtype=np.float32)[group]}


def toy_splits(wrong_val_groups=False):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        toy_data(256, 0), toy_data(128, 1, wrong_groups=wrong_val_groups), toy_data(128, 2))
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, source="synthetic")


@dataclasses.dataclass
class ToyConfig(RunConfig):
    task: str = "toy_two"
    model: str = "mlp"
    hidden: int = 16  # units of the shared hidden layer
    verbose: int = 0


class ToyTask(Task):
    name = "toy_two"
    outputs = (Output("score", "mse", ("mae",)),
               Output("group", "categorical_crossentropy", ("accuracy",), labels=GROUPS))
    config_class = ToyConfig
    presets = {"quick": {"epochs": 2}}
    models = ("mlp",)

    def load_data(self, config):
        return toy_splits()

    def build_model(self, config):
        a, b = keras.Input((8,), name="a"), keras.Input((4,), name="b")
        hidden = keras.layers.Dense(config.hidden, activation="relu")(keras.layers.Concatenate()([a, b]))
        hidden = keras.layers.Dropout(0.1)(hidden)
        outputs = {"score": keras.layers.Dense(1, activation="sigmoid", name="score")(hidden),
                   "group": keras.layers.Dense(3, activation="softmax", name="group")(hidden)}
        return keras.Model({"a": a, "b": b}, outputs, name="toy")


TOY = register_task(ToyTask())


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """Three epochs of the toy task, everything from the task itself (data included)."""
    runs = tmp_path_factory.mktemp("toy")
    return train(TOY.config("quick", epochs=3, name="toy", runs_dir=str(runs)))


# ---------------------------------------------------------------- the core finds and trains it


def test_registered_task_is_found_by_name():
    assert "toy_two" in task_names() and "fashion" in task_names()
    assert get_task("toy_two") is TOY
    with pytest.raises(NnlabError, match=r"unknown task 'toys'; known tasks: .*\bfashion\b.*\btoy_two\b"):
        get_task("toys")
    bad = ToyTask()
    bad.name = "Toy Two"
    with pytest.raises(NnlabError, match=r"a task's name must be lowercase letters, digits and '_', got 'Toy Two'"):
        register_task(bad)


def test_log_names_are_what_keras_logs():
    assert TOY.log_names() == ("loss", "score_loss", "group_loss", "score_mae", "group_accuracy",
                               "val_loss", "val_score_loss", "val_group_loss", "val_score_mae",
                               "val_group_accuracy")
    # With validation data: see test_train_writes_a_full_run_folder; without, plain Keras logs:
    splits = toy_splits()
    model = TOY.build_model(TOY.config())
    model.compile(optimizer="adam", **TOY.compile_args())
    without = model.fit(splits.x_train, splits.y_train, epochs=1, verbose=0).history
    assert set(without) == set(TOY.log_names(validation=False))


def test_train_writes_a_full_run_folder(toy_run):
    run_dir = toy_run.run_dir
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES  # resume-state.npz is gone once finished
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "toy_two" and config["hidden"] == 16
    assert config["checkpoint"]["monitor"] == "val_loss"
    history = json.loads((run_dir / "history.json").read_text())
    assert set(history) == {*TOY.log_names(), "learning_rate"} and all(len(v) == 3 for v in history.values())
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert header == ",".join(["epoch", *sorted(history)])


def test_metrics_have_figures_per_output(toy_run):
    metrics = json.loads((toy_run.run_dir / "metrics.json").read_text())
    assert metrics["task"] == "toy_two" and metrics["model"] == "mlp" and metrics["status"] == "finished"
    assert metrics["monitor"] == "val_loss"
    assert metrics["best_epoch"] == int(np.argmin(toy_run.history["val_loss"]))
    assert set(metrics["train"]) == FIGURES
    assert set(metrics["val"]) == set(metrics["test"]) == FIGURES
    assert set(metrics["best_checkpoint"]["val"]) == set(metrics["best_checkpoint"]["test"]) == FIGURES
    # The figures are the final model's on the task's own splits.
    splits = toy_splits()
    final = load_model(toy_run.run_dir / "final.keras")
    got = evaluate(final, splits.x_test, splits.y_test, TOY)
    assert got == pytest.approx(metrics["test"], rel=1e-5, abs=1e-6)


def test_save_and_load_give_the_same_predictions(toy_run):
    x = toy_splits().x_test
    expected = predict(toy_run.model, x, TOY)
    assert isinstance(expected, dict) and set(expected) == {"score", "group"}
    assert expected["score"].shape == (128, 1) and expected["group"].shape == (128, 3)
    loaded = predict(load_model(toy_run.run_dir / "final.keras"), x, TOY)
    for key in expected:
        np.testing.assert_allclose(loaded[key], expected[key], rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- monitors, per-output metrics, loss weights


def expected_stop(values, patience, larger_is_better):
    """The epoch Keras' EarlyStopping stops at on ``values`` (min_delta 0), or None."""
    best, wait = None, 0
    for epoch, value in enumerate(values):
        wait += 1
        if best is None or (value > best if larger_is_better else value < best):
            best, wait = value, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch
    return None


def test_monitoring_an_output_metric_maximises_it(tmp_path):
    # Validation groups are all wrong: as the model learns, val_group_accuracy falls.
    config = TOY.config(epochs=8, name="acc", runs_dir=str(tmp_path), optimizer={"name": "adam",
                                                                                "learning_rate": 0.02},
                        checkpoint={"monitor": "val_group_accuracy"}, early_stopping={"patience": 1})
    watcher = CheckpointWatcher(tmp_path / "acc" / "best.keras")
    splits = toy_splits(wrong_val_groups=True)
    result = train(config, splits=splits, extra_callbacks=[watcher])
    assert result.config.early_stopping.monitor == "val_group_accuracy"
    values = result.history["val_group_accuracy"]
    stop = expected_stop(values, 1, larger_is_better=True)
    assert stop is not None and stop < 7  # stopped early ...
    assert expected_stop(values, 1, larger_is_better=False) != stop  # ... where a minimising monitor would not
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "val_group_accuracy"
    assert metrics["stopped_epoch"] == stop and metrics["epochs_run"] == stop + 1
    assert metrics["best_epoch"] == int(np.argmax(values))
    # ModelCheckpoint rewrote best.keras exactly when the accuracy rose above its best so far.
    assert watcher.changed() == [value > max(values[:epoch], default=-1) for epoch, value in enumerate(values)]
    # EarlyStopping put the weights of the most accurate epoch back.
    restored = evaluate(result.model, splits.x_val, splits.y_val, TOY)
    assert restored["group_accuracy"] == pytest.approx(max(values), abs=1e-6)
    best = evaluate(load_model(result.run_dir / "best.keras"), splits.x_val, splits.y_val, TOY)
    assert best["group_accuracy"] == pytest.approx(max(values), abs=1e-6)


@pytest.mark.parametrize("section", ["checkpoint", "early_stopping"])
def test_an_unknown_monitor_is_refused_naming_the_valid_ones(section):
    values = {"monitor": "val_group_acc"} | ({"patience": 1} if section == "early_stopping" else {})
    with pytest.raises(NnlabError) as raised:
        TOY.config(**{section: values})
    message = str(raised.value)
    assert re.search(r"--monitor \((checkpoint|early-stopping) monitor\) must be one of", message)
    for name in TOY.log_names():
        assert re.search(rf"\b{name}\b", message), name
    assert "got 'val_group_acc'. Did you mean 'val_group_accuracy'?" in message
    with pytest.raises(NnlabError, match=r"must be one of .*; got 'accuracy'"):
        TOY.config(checkpoint={"monitor": "accuracy"})  # one-output names do not exist here


def test_loss_weights_are_applied(tmp_path):
    config = TOY.config("quick", epochs=1, name="weighted", runs_dir=str(tmp_path),
                        loss_weights={"score": 0.5, "group": 3.0})
    assert TOY.compile_args(config.loss_weights)["loss_weights"] == {"score": 0.5, "group": 3.0}
    assert TOY.compile_args()["loss_weights"] == {"score": 1.0, "group": 1.0}
    result = train(config)
    for split in ("val", "test"):
        figures = result.metrics[split]
        assert figures["loss"] == pytest.approx(0.5 * figures["score_loss"] + 3.0 * figures["group_loss"], rel=1e-4)
        assert figures["loss"] != pytest.approx(figures["score_loss"] + figures["group_loss"], rel=1e-2)
    history = result.history
    assert history["loss"][0] == pytest.approx(0.5 * history["score_loss"][0] + 3.0 * history["group_loss"][0],
                                               rel=1e-4)
    saved = json.loads((result.run_dir / "config.json").read_text())
    assert saved["loss_weights"] == {"score": 0.5, "group": 3.0}


def test_loss_weights_for_an_unknown_output_are_refused():
    with pytest.raises(NnlabError, match=r"--loss-weights: output must be one of score, group; got 'grup'\. "
                                         r"Did you mean 'group'\?"):
        TOY.config(loss_weights={"grup": 1.0})
    with pytest.raises(NnlabError, match=r"loss_weights\.score must be >= 0, got -0\.5"):
        TOY.config(loss_weights={"score": -0.5})


# ---------------------------------------------------------------- what the task derives from its outputs


def test_describe_names_each_prediction():
    predictions = {"score": np.array([[0.25], [0.75]], np.float32),
                   "group": np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]], np.float32)}
    rows = TOY.describe(predictions)
    assert len(rows) == 2
    assert rows[0]["score"] == pytest.approx(0.25) and rows[1]["score"] == pytest.approx(0.75)
    assert [row["group"] for row in rows] == ["blue", "red"]
    assert [row["group_index"] for row in rows] == [2, 0]
    assert rows[0]["group_probabilities"] == pytest.approx({"red": 0.1, "green": 0.2, "blue": 0.7})
    # A list in the task's output order says the same.
    assert TOY.describe([predictions["score"], predictions["group"]]) == rows
    assert TOY.describe({"score": np.zeros((0, 1)), "group": np.zeros((0, 3))}) == []


def test_families_group_the_panels():
    families = TOY.families(TOY.log_names())
    assert families == {
        "loss": ["loss", "score_loss", "group_loss", "val_loss", "val_score_loss", "val_group_loss"],
        "mae": ["score_mae", "val_score_mae"],
        "accuracy": ["group_accuracy", "val_group_accuracy"],
    }


def test_num_samples():
    x, _ = toy_data(7, 0)
    assert num_samples(x) == 7 and num_samples(x["a"]) == 7 and num_samples([x["a"], x["b"]]) == 7


# ---------------------------------------------------------------- mode and best_epoch


@pytest.mark.parametrize("metric, expected", [
    ("loss", "min"), ("val_loss", "min"), ("group_loss", "min"), ("val_score_mae", "min"), ("mse", "min"),
    ("accuracy", "max"), ("val_accuracy", "max"), ("val_group_accuracy", "max"),
    ("sparse_categorical_accuracy", "max"), ("val_auc", "max"), ("precision", "max"), ("val_recall", "max"),
    ("acc", "max"), ("val_group_acc", "max"), ("f1_score", "max"), ("val_fbeta_score", "max"), ("r2_score", "max"),
    ("mean_absolute_percentage_error", "min"), ("val_priority_mae", "min"),
])
def test_mode(metric, expected):
    assert mode(metric) == expected


def test_best_epoch():
    assert best_epoch({"val_loss": [0.5, 0.3, 0.4]}, "val_loss") == 1
    assert best_epoch({"val_accuracy": [0.5, 0.9, 0.7]}, "val_accuracy") == 1
    assert best_epoch({"val_group_accuracy": [0.2, 0.1, 0.6, 0.6]}, "val_group_accuracy") == 2  # first of a tie
    assert best_epoch({"val_score_mae": [0.3, 0.1, 0.2]}, "val_score_mae") == 1
    assert best_epoch({}, "val_loss") is None
    assert best_epoch({"val_loss": []}, "val_loss") is None
