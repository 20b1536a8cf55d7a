"""MLflow tracking of a run (settings ``tracking: {uri, experiment}`` or ``$MLFLOW_TRACKING_URI``).

    nnlab train --config settings.json      with {"tracking": {"uri": "sqlite:///mlflow.db"}}
    mlflow ui --backend-store-uri sqlite:///mlflow.db     shows them (no server needed to record)

Each run becomes one MLflow run, named as its run folder, in the experiment ``tracking.experiment``
(else ``$MLFLOW_EXPERIMENT_NAME``, else the task's name), with:

    params      the resolved settings, flattened to dotted names (``optimizer.learning_rate``);
                values as JSON writes them (null, true, 0.001) and strings as they are
    metrics     every name Keras logs, per epoch (step = 0-based epoch), ``learning_rate`` included;
                at the end ``final.val_<name>`` / ``final.test_<name>`` (the final model) and
                ``best.val_<name>`` / ``best.test_<name>`` (the best checkpoint), as in metrics.json
    tags        ``nnlab.task``, ``nnlab.preset``, ``nnlab.model``, ``nnlab.version``, ``nnlab.git_commit``,
                ``nnlab.run_dir``
    artifacts   the run folder's model files, config.json, metrics.json, history.csv and pictures

The MLflow run id is kept in ``RUN/tracking.json``, so ``nnlab train --resume`` goes on in the same
MLflow run. Tracking never stops a training: the first failure (a server that does not answer, a
store that cannot be written) prints one warning and tracking is off for the rest of the run; the
run folder is written as always and stays the record. Unless you set them, nnlab asks MLflow for
at most 2 retries and 10 s per HTTP request (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``,
``MLFLOW_HTTP_REQUEST_TIMEOUT``; MLflow's defaults wait minutes for a server that is down), and
turns MLflow's usage telemetry off (``MLFLOW_DISABLE_TELEMETRY``): nnlab sends nothing to other hosts.
MLflow itself is the optional extra ``nnlab[mlflow]`` and is imported only when a run is tracked.
"""

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

import keras

TRACKING_FILE = "tracking.json"  # in the run folder: the store and the MLflow run id, for --resume
PARENT_ENV = "NNLAB_MLFLOW_PARENT_RUN"  # set by nnlab sweep for its trials: the sweep's own MLflow run
ARTIFACTS = ("best.keras", "final.keras", "best.h5", "final.h5", "calibrated.keras", "served.keras", "config.json",
             "metrics.json", "history.csv")  # those present are logged, with every *.png of the run folder
_QUIET_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                   "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_DISABLE_TELEMETRY": "true"}


def tracking_uri(config):
    """Where ``config``'s run is recorded: ``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else None (off)."""
    return config.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or None


def flatten(values, prefix=""):
    """``{"optimizer": {"name": "adam"}}`` -> ``{"optimizer.name": "adam"}``; values as JSON text (strings as is).

        >>> flatten({"epochs": 5, "optimizer": {"name": "adam", "learning_rate": None}})
        {'epochs': '5', 'optimizer.name': 'adam', 'optimizer.learning_rate': 'null'}
    """
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return flat


def tracker(config, run_dir, resuming=False):
    """A :class:`MlflowTracker` for this run, or None when tracking is off."""
    uri = tracking_uri(config)
    return None if uri is None else MlflowTracker(config, run_dir, uri, resuming=resuming)


class MlflowTracker(keras.callbacks.Callback):
    """Records a run in MLflow: params and tags at the start, metrics per epoch, final figures and artifacts.

    ``on_run_finished(run_dir, metrics)`` is called by the training once the run folder is complete
    (``metrics`` None: the run was interrupted, and the MLflow run is marked KILLED until resumed).
    """

    def __init__(self, config, run_dir, uri, resuming=False):
        super().__init__()
        self.config, self.run_dir, self.uri, self.resuming = config, Path(run_dir), uri, resuming
        self.client, self.run_id, self.failed = None, None, False

    # ------------------------------------------------------------ Keras' hooks

    def on_train_begin(self, logs=None):
        self._safely(self._start, starting=True)

    def on_epoch_end(self, epoch, logs=None):
        values = {key: float(value) for key, value in (logs or {}).items() if _is_number(value)}
        self._safely(lambda: self._log_metrics(values, step=epoch))

    def on_run_finished(self, run_dir, metrics):
        if metrics is None:
            self._safely(lambda: self.client.set_terminated(self.run_id, "KILLED"))
            return
        self._safely(lambda: self._finish(metrics))

    # ------------------------------------------------------------ MLflow

    def _start(self):
        for name, value in _QUIET_DEFAULTS.items():
            os.environ.setdefault(name, value)
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        from nnlab.core.config import to_dict
        from nnlab.core.runs import versions, write_json

        self.client = MlflowClient(tracking_uri=self.uri)
        previous = _read_tracking(self.run_dir) if self.resuming else None
        if previous and previous.get("uri") == self.uri:
            self.run_id = previous["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        name = self.config.tracking.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or self.config.task
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        info = versions()
        tags = {"nnlab.task": self.config.task, "nnlab.preset": self.config.preset or "",
                "nnlab.model": self.config.model_label(), "nnlab.version": info["nnlab"],
                "nnlab.git_commit": info["git_commit"] or "", "nnlab.run_dir": str(self.run_dir.resolve())}
        if os.environ.get(PARENT_ENV):  # a sweep's trial: a child of the sweep's run
            tags["mlflow.parentRunId"] = os.environ[PARENT_ENV]
        run = self.client.create_run(experiment_id, run_name=self.run_dir.name, tags=tags)
        self.run_id = run.info.run_id
        write_json(self.run_dir / TRACKING_FILE, {"uri": self.uri, "experiment_id": experiment_id,
                                                  "run_id": self.run_id})
        params = [Param(key, value) for key, value in flatten(to_dict(self.config)).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def _log_metrics(self, values, step):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value in values.items()]
        for start in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

    def _finish(self, metrics):
        final = {}
        for prefix, figures in (("final", metrics), ("best", metrics.get("best_checkpoint") or {})):
            for split in ("val", "test"):
                for name, value in (figures.get(split) or {}).items():
                    if _is_number(value):
                        final[f"{prefix}.{split}_{name}"] = float(value)
        self._log_metrics(final, step=metrics.get("epochs_run", 0))
        files = [self.run_dir / name for name in ARTIFACTS] + sorted(self.run_dir.glob("*.png"))
        for path in files:
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, "FINISHED")

    def _safely(self, step, starting=False):
        """Run one MLflow step; the first failure is one warning on stderr, and tracking stops for this run."""
        if self.failed or (self.run_id is None and not starting):
            return
        try:
            with _quiet_http():
                step()
        except Exception as error:  # noqa: BLE001  whatever the store or the network raise: training goes on
            self.failed = True
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"warning: MLflow tracking at {self.uri} failed ({reason[:300]}); tracking is off for this "
                  f"run, the training goes on and {self.run_dir} keeps everything.", file=sys.stderr)


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (bool, str))


def _read_tracking(run_dir):
    try:
        return json.loads((Path(run_dir) / TRACKING_FILE).read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _quiet_http():
    """urllib3 logs every retry as a warning; the one warning we print says it all."""
    logger = logging.getLogger("urllib3")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# ---------------------------------------------------------------- a sweep: one parent run, its trials as children


def start_sweep(config, sweep_dir, space):
    """The MLflow run of a sweep whose trials are tracked (``config``: the settings a trial starts from), or None.

    Its id is kept in ``SWEEP/tracking.json`` (a continued sweep goes on in the same run) and handed to the trials
    through ``$NNLAB_MLFLOW_PARENT_RUN``, so each trial's run is its child. A failure is one warning; the trials
    are then tracked as runs of their own (or not at all, if the store is down for them too).
    """
    uri = tracking_uri(config)
    if uri is None:
        return None
    sweep_dir = Path(sweep_dir)
    for name, value in _QUIET_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        with _quiet_http():
            from mlflow.tracking import MlflowClient

            from nnlab.core.runs import write_json

            client = MlflowClient(tracking_uri=uri)
            previous = _read_tracking(sweep_dir)
            if previous and previous.get("uri") == uri:
                run_id = previous["run_id"]
                client.update_run(run_id, status="RUNNING")
            else:
                name = config.tracking.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or config.task
                experiment = client.get_experiment_by_name(name)
                experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
                run = client.create_run(experiment_id, run_name=sweep_dir.name, tags={
                    "nnlab.task": config.task, "nnlab.sweep": str(sweep_dir.resolve())})
                run_id = run.info.run_id
                write_json(sweep_dir / TRACKING_FILE, {"uri": uri, "experiment_id": experiment_id, "run_id": run_id})
                for key, value in space.items():
                    client.log_param(run_id, f"space.{key}", json.dumps(value, default=str)[:6000])
    except Exception as error:  # noqa: BLE001  the sweep goes on, as a training does
        print(f"warning: MLflow tracking of the sweep at {uri} failed ({str(error).strip()[:300]}); its trials "
              "are tracked on their own.", file=sys.stderr)
        return None
    os.environ[PARENT_ENV] = run_id
    return run_id


def finish_sweep(config, run_id, best, metric, status="FINISHED"):
    """The sweep's run: its best trial's metric, then ended (``status`` KILLED for a stopped sweep)."""
    if run_id is None:
        return
    try:
        with _quiet_http():
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=tracking_uri(config))
            if best is not None and _is_number(best.get(metric)):
                client.log_metric(run_id, f"best.{metric}", float(best[metric]))
                client.set_tag(run_id, "nnlab.best_trial", str(best["trial"]))
            client.set_terminated(run_id, status)
    except Exception as error:  # noqa: BLE001
        print(f"warning: MLflow tracking of the sweep failed at its end ({str(error).strip()[:300]}).",
              file=sys.stderr)
    finally:
        os.environ.pop(PARENT_ENV, None)

