"""MLflow tracking, read back with MLflow's own client from a SQLite store in a temporary folder."""

import json
import time

import pytest

mlflow = pytest.importorskip("mlflow")  # the optional extra nnlab[mlflow]; `make setup` installs it

from mlflow.tracking import MlflowClient  # noqa: E402

from nnlab.core.tracking import TRACKING_FILE, flatten  # noqa: E402
from nnlab.core.training import resume, train  # noqa: E402
from nnlab.fashion.task import TASK  # noqa: E402

RUN_FILES = ("config.json", "metrics.json", "history.json", "history.csv", "curves.png", "best.keras", "final.keras")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts in ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_flatten_gives_dotted_names_and_json_values():
    assert flatten({"epochs": 3, "name": "a", "optimizer": {"name": "adam", "learning_rate": None},
                    "reduce_lr": None, "tracking": {"uri": "sqlite:///x.db"}, "flag": True}) == {
        "epochs": "3", "name": "a", "optimizer.name": "adam", "optimizer.learning_rate": "null",
        "reduce_lr": "null", "tracking.uri": "sqlite:///x.db", "flag": "true"}


def test_run_recorded_params_metric_history_tags_artifacts(store, tmp_path, small_splits):
    config = TASK.config("seeds-final", runs_dir=str(tmp_path / "runs"), epochs=2, verbose=0, name="tracked",
                         tracking={"uri": store, "experiment": "tests"})
    result = train(config, splits=small_splits)
    client = MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.info.run_name == "tracked" and run.info.status == "FINISHED"
    assert json.loads((result.run_dir / TRACKING_FILE).read_text())["run_id"] == run.info.run_id
    params = run.data.params
    written = json.loads((result.run_dir / "config.json").read_text())
    assert params == flatten(written)  # every resolved setting, dotted names
    assert params["optimizer.name"] == "adam" and params["early_stopping.patience"] == "2"
    for name in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"):
        logged = client.get_metric_history(run.info.run_id, name)
        assert [m.step for m in sorted(logged, key=lambda m: m.step)] == [0, 1]
        assert [m.value for m in sorted(logged, key=lambda m: m.step)] == pytest.approx(result.history[name])
    assert run.data.metrics["final.test_accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    assert run.data.metrics["best.val_loss"] == pytest.approx(result.metrics["best_checkpoint"]["val"]["loss"])
    tags = run.data.tags
    assert tags["nnlab.task"] == "fashion" and tags["nnlab.preset"] == "seeds-final"
    assert tags["nnlab.version"] == result.metrics["versions"]["nnlab"]
    assert tags["nnlab.git_commit"] == (result.metrics["versions"]["git_commit"] or "")
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
    assert {"best.keras", "final.keras", "curves.png", "config.json", "metrics.json"} <= artifacts


def test_env_variable_turns_tracking_on(store, tmp_path, small_splits, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    config = TASK.config("dnn", runs_dir=str(tmp_path / "runs"), epochs=1, verbose=0, name="from-env", limit=200,
                         model={"hidden": [32]})  # a model given as settings: its spec's keys are params too
    train(config, splits=small_splits)
    client = MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([client.get_experiment_by_name("fashion").experiment_id])  # the task's name
    assert run.info.run_name == "from-env" and len(client.get_metric_history(run.info.run_id, "loss")) == 1
    assert run.data.params["model.hidden"] == "[32]" and run.data.tags["nnlab.model"] == "dnn"


def test_unreachable_server_is_one_warning_and_the_run_folder_is_complete(tmp_path, small_splits, monkeypatch,
                                                                            capfd):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    config = TASK.config("dnn", runs_dir=str(tmp_path / "runs"), epochs=2, verbose=0, name="offline",
                         tracking={"uri": "http://127.0.0.1:9"})  # the discard port: nothing listens
    start = time.perf_counter()
    result = train(config, splits=small_splits)
    seconds = time.perf_counter() - start
    err = capfd.readouterr().err
    assert err.count("warning: MLflow tracking at http://127.0.0.1:9 failed") == 1, err
    assert result.metrics["status"] == "finished" and result.metrics["epochs_run"] == 2
    assert all((result.run_dir / name).is_file() for name in RUN_FILES)
    assert not (result.run_dir / TRACKING_FILE).exists()
    print(f"training with an unreachable tracking server: {seconds:.1f} s")


def test_resumed_run_goes_on_in_the_same_mlflow_run(store, tmp_path, small_splits):
    import keras

    from nnlab.core.errors import Interrupted

    class StopAfterFirstEpoch(keras.callbacks.Callback):  # Ctrl-C once the first epoch is saved
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    config = TASK.config("dnn", runs_dir=str(tmp_path / "runs"), epochs=2, verbose=0, name="resumed",
                         tracking={"uri": store})
    with pytest.raises(Interrupted):
        train(config, splits=small_splits, extra_callbacks=[StopAfterFirstEpoch()])
    client = MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([client.get_experiment_by_name("fashion").experiment_id])
    assert run.info.status == "KILLED"
    resume(tmp_path / "runs" / "resumed", splits=small_splits)
    (run,) = client.search_runs([client.get_experiment_by_name("fashion").experiment_id])
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1]
