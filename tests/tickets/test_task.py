"""nnlab.tickets.task through the core: the run folder's extras, resume, loss weights, served = final."""

import json

import keras
import numpy as np
import pytest

from nnlab.core.errors import Interrupted, NnlabError
from nnlab.core.saving import load_model
from nnlab.core.training import resume, train
from nnlab.tickets.task import TASK
from nnlab.tickets.triage import load_served
from tickets.fixtures import tiny_config


class StopAfterFirstEpoch(keras.callbacks.Callback):
    """Presses Ctrl-C when the first epoch ends (after the run saved what resume needs)."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_run_folder_has_the_ticket_extras(ticket_run):
    files = {path.name for path in ticket_run.iterdir()}
    assert {"served.keras", "vectorizer.json", "model.png", "confusion_matrix.png", "curves.png", "best.keras",
            "final.keras", "metrics.json", "config.json", "history.json"} <= files
    for name in ("model.png", "confusion_matrix.png", "curves.png"):
        assert (ticket_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((ticket_run / "metrics.json").read_text())
    matrix = metrics["confusion_matrix"]["department"]
    assert matrix["labels"] == ["account", "billing", "shipping", "technical"]  # learned from the file, sorted
    assert np.asarray(matrix["counts"]).shape == (4, 4)
    assert np.asarray(matrix["counts"]).sum() == metrics["data"]["test_tickets"] == 60
    accuracy = np.trace(matrix["counts"]) / 60
    assert accuracy == pytest.approx(metrics["test"]["department_accuracy"], abs=1e-6)
    assert {"priority_mae", "department_accuracy", "priority_loss", "department_loss"} <= set(metrics["test"])
    history = json.loads((ticket_run / "history.json").read_text())
    assert {"val_department_accuracy", "val_priority_mae"} <= set(history)
    config = json.loads((ticket_run / "config.json").read_text())
    assert config["early_stopping"] == {"patience": 2, "monitor": "val_department_accuracy",
                                        "restore_best_weights": True, "min_delta": 0.0}
    assert config["checkpoint"]["monitor"] == "val_loss"
    assert metrics["baselines"]["test_department_accuracy_majority"] < 0.5


def test_served_model_gives_the_final_models_outputs(ticket_run):
    config = TASK.load_config(ticket_run / "config.json")
    splits = TASK.load_data(config, TASK.preprocessing(ticket_run))
    source = splits.source
    test = source.tickets.take(source.indices["test"])
    numeric = load_model(ticket_run / "final.keras").predict(splits.x_test, verbose=0)
    served = load_served(ticket_run).predict(test.records())
    for a, b in zip(served, numeric):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_resume_after_ctrl_c_ends_as_the_uninterrupted_run(ticket_root, ticket_run):
    with pytest.raises(Interrupted):
        train(tiny_config(ticket_root, name="stopped"), extra_callbacks=[StopAfterFirstEpoch()])
    stopped = ticket_root / "runs" / "stopped"
    assert json.loads((stopped / "metrics.json").read_text())["status"] == "interrupted"
    result = resume(stopped)
    expected = json.loads((ticket_run / "history.json").read_text())
    assert set(result.history) == set(expected)
    for key, values in expected.items():
        np.testing.assert_allclose(result.history[key], values, rtol=1e-5, err_msg=key)
    for a, b in zip(load_model(stopped / "final.keras").get_weights(), load_model(ticket_run / "final.keras").get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_loss_weights_reach_compile_and_unknown_outputs_are_refused(tickets_csv):
    config = TASK.config("seeds", data=str(tickets_csv), loss_weights={"priority": 0.25})
    assert TASK.compile_args(config.loss_weights)["loss_weights"] == {"priority": 0.25, "department": 1.0}
    with pytest.raises(NnlabError, match="--loss-weights: output must be one of priority, department"):
        TASK.config("seeds", data=str(tickets_csv), loss_weights={"priorty": 1.0})


@pytest.mark.parametrize("overrides, message", [
    ({"data": ""}, "no ticket file given"),
    ({"data": "x.xlsx"}, "must end in .csv, .tsv, .txt, .jsonl, .ndjson or .json, got 'x.xlsx'"),
    ({"departments": "billing"}, "--departments must be two or more"),
    ({"val_split": 0.7}, "--val-split must be a fraction"),
    ({"test_split": 0.0}, "--test-split must be > 0"),
    ({"model": "sequential"}, "--model must be one of functional, subclass"),
])
def test_config_mistakes_name_the_setting(overrides, message):
    with pytest.raises(NnlabError, match=message):
        TASK.config("seeds", **{"data": "t.csv", **overrides})


@pytest.mark.slow
def test_the_default_preset_beats_the_seeds_preset_on_priority(tmp_path):
    """triage watches both heads (val_loss) and trains priority on its absolute error; seeds stops on departments."""
    from tickets.fixtures import ticket_file

    data = ticket_file(tmp_path, n=2000, seed=5)
    sizes = dict(data=str(data), runs_dir=str(tmp_path / "runs"), vocabulary_size=2000, num_tags=50, verbose=0)
    splits = TASK.load_data(TASK.config("seeds", **sizes))  # the same split and features for both
    results = {preset: train(TASK.config(preset, name=preset, **sizes), splits=splits).metrics
               for preset in ("triage", "seeds")}
    triage, seeds = results["triage"], results["seeds"]
    assert triage["test"]["priority_mae"] < seeds["test"]["priority_mae"]
    assert triage["test"]["department_accuracy"] >= seeds["test"]["department_accuracy"] - 0.02
    assert triage["monitor"] == "val_loss" and seeds["monitor"] == "val_loss"


def test_the_runs_saved_preprocessing_is_what_fitting_on_its_training_split_gives(ticket_run):
    config = TASK.load_config(ticket_run / "config.json")
    saved = TASK.preprocessing(ticket_run)
    source = TASK.load_data(config).source  # fitted afresh on the training split
    assert saved.vectorizer.words == source.vectorizer.words and saved.vectorizer.tags == source.vectorizer.tags
    assert saved.labels == source.labels
    refit = TASK.fit_preprocessing(config, source.tickets.take(source.indices["train"]))
    assert refit.vectorizer.words == saved.vectorizer.words and refit.labels == saved.labels


def test_a_variant_comes_from_the_settings_not_from_a_name():
    from nnlab.core.task import task_for

    plain, headed = task_for({"task": "tickets"}), task_for({"task": "tickets", "head": "difficulty"})
    assert [o.name for o in plain.outputs] == ["priority", "department"]
    assert [o.name for o in headed.outputs] == ["priority", "department", "difficulty"]
    assert headed.name == plain.name == "tickets"
    # run folders of older nnlab versions named the variant's task "tickets_<head>"
    legacy = task_for({"task": "tickets_difficulty", "head": "difficulty"})
    assert [o.name for o in legacy.outputs] == [o.name for o in headed.outputs]
