"""Training stage: compile, fit with Keras' callbacks, and write the run folder.

``train(config)`` runs one experiment end to end and leaves everything in
``runs/<name>/``:

    config.json         the resolved RunConfig
    history.csv         one row per epoch (Keras' CSVLogger): loss, accuracy, val_loss, val_accuracy
    history.json        the same, as History.history
    metrics.json        best epoch, stopped_epoch (0-based, as Keras), val/test loss and accuracy
                        of the final model and of the best checkpoint, seconds, seconds per epoch,
                        versions, git commit
    curves.png          train vs val loss and accuracy
    best.keras          the best model by the checkpoint's monitor (ModelCheckpoint; best.h5 with
                        save_format="h5", best.weights.h5 with save_weights_only)
    final.keras         the model when training ended (after EarlyStopping's restore, if any)
    final.weights.h5    its weights

    >>> from nnlab.config import from_preset
    >>> from nnlab.training import train
    >>> result = train(from_preset("seeds-final", limit=2000, epochs=2, verbose=0))
    >>> sorted(result.metrics["test"])
    ['accuracy', 'loss']

The command line runs the same function: ``nnlab train --preset seeds-final``.
"""

import dataclasses
import datetime
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

import keras
import numpy as np

import nnlab
from nnlab.config import RunConfig, to_dict
from nnlab.data import load_splits
from nnlab.errors import NnlabError
from nnlab.evaluation import evaluate
from nnlab.models import build_model
from nnlab.saving import load_model, save_model


def enable_compile_cache():
    """JAX's persistent compilation cache: runs of the same model and optimizer skip XLA's compile (~2 s each)."""
    if keras.backend.backend() != "jax":
        return
    import jax

    if not jax.config.jax_compilation_cache_dir:
        root = Path(os.environ.get("NNLAB_CACHE_DIR", "~/.cache/nnlab")).expanduser()
        jax.config.update("jax_compilation_cache_dir", str(root / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def build_optimizer(config, steps_per_epoch=None):
    """A Keras optimizer from ``config.optimizer``; learning_rate None keeps Keras' default.

    ``schedule="cosine"`` decays the learning rate to 0 over ``epochs * steps_per_epoch`` steps
    with ``keras.optimizers.schedules.CosineDecay``.
    """
    opt = config.optimizer
    kwargs = {} if opt.learning_rate is None else {"learning_rate": opt.learning_rate}
    if opt.schedule == "cosine":
        if steps_per_epoch is None:
            raise NnlabError("schedule 'cosine' needs the number of steps per epoch.")
        initial = opt.learning_rate or float(keras.optimizers.get(opt.name).learning_rate)  # Keras' default
        kwargs["learning_rate"] = keras.optimizers.schedules.CosineDecay(initial, config.epochs * steps_per_epoch)
    if opt.name == "sgd":
        return keras.optimizers.SGD(momentum=opt.momentum, nesterov=opt.nesterov, **kwargs)
    if opt.name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=opt.momentum, **kwargs)
    if opt.name == "adagrad":
        return keras.optimizers.Adagrad(**kwargs)
    return keras.optimizers.Adam(**kwargs)


def compile_model(model, config, metrics=("accuracy",), steps_per_epoch=None):
    # steps_per_execution only groups batches between Python-side bookkeeping (Keras sets
    # tracked model state once per group): the same updates, so the same history.
    model.compile(optimizer=build_optimizer(config, steps_per_epoch), loss=config.loss, metrics=list(metrics),
                  steps_per_execution=config.steps_per_execution)
    return model


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch, validation included."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def make_callbacks(config, run_dir):
    """Keras' own callbacks as the config asks: CSVLogger, ModelCheckpoint, EarlyStopping."""
    callbacks = [keras.callbacks.CSVLogger(str(run_dir / "history.csv"))]
    ckpt = config.checkpoint
    if ckpt.enabled:
        path = run_dir / ("best.weights.h5" if ckpt.save_weights_only else f"best.{config.save_format}")
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(path), monitor=ckpt.monitor, save_best_only=ckpt.save_best_only,
            save_weights_only=ckpt.save_weights_only, verbose=0,
        ))
    stop = config.early_stopping
    early_stopping = None
    if stop.patience is not None:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor=stop.monitor, patience=stop.patience, min_delta=stop.min_delta,
            restore_best_weights=stop.restore_best_weights,
        )
        callbacks.append(early_stopping)
    return callbacks, early_stopping


def best_epoch(history, monitor):
    """0-based epoch with the best ``monitor`` value (max for accuracy, min for loss)."""
    values = history.get(monitor)
    if not values:
        return None
    return int(np.argmax(values) if "acc" in monitor else np.argmin(values))


def git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(nnlab.__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions():
    backend = keras.backend.backend()
    try:
        backend_version = __import__({"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}
                                     .get(backend, backend)).__version__
    except (ImportError, AttributeError):
        backend_version = None
    return {"nnlab": nnlab.__version__, "keras": keras.__version__, "backend": backend,
            "backend_version": backend_version, "python": platform.python_version(), "git_commit": git_commit()}


def new_run_dir(config):
    """Create ``runs_dir/name``; refuses to reuse a folder so nothing saved is overwritten."""
    root = Path(config.runs_dir)
    if config.name:
        run_dir = root / config.name
        if run_dir.exists():
            raise NnlabError(f"Run folder {run_dir} already exists; pick another --name, "
                             f"or delete that folder to replace it.")
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        prefix = config.preset or config.model
        run_dir, n = root / f"{prefix}-{stamp}", 1
        while run_dir.exists():
            n += 1
            run_dir = root / f"{prefix}-{stamp}-{n}"
    run_dir.mkdir(parents=True)
    return run_dir


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    model: keras.Model
    history: dict
    metrics: dict
    config: RunConfig


def _jsonable(history):
    return {key: [float(v) for v in values] for key, values in history.items()}


def train(config, splits=None, model=None, extra_callbacks=()):
    """Train one run as ``config`` says and write its run folder; returns a RunResult.

    ``splits`` (a ``nnlab.data.Splits``) and ``model`` may be passed to reuse
    loaded data or train a model built elsewhere (for example with plain Keras);
    call ``keras.utils.set_random_seed(config.seed)`` before building such a model
    if its initial weights must be reproducible.
    Ctrl-C stops training early; what was learned so far is still saved.
    """
    config = config.resolved()
    enable_compile_cache()
    keras.utils.set_random_seed(config.seed)
    if splits is None:
        splits = load_splits(config.data_dir, validation=config.validation, limit=config.limit)
    if model is None:
        model = build_model(config.model, config.api, config.dropout)
    compile_model(model, config, steps_per_epoch=math.ceil(len(splits.x_train) / config.batch_size))
    run_dir = new_run_dir(config)
    (run_dir / "config.json").write_text(json.dumps(to_dict(config), indent=2) + "\n")

    callbacks, early_stopping = make_callbacks(config, run_dir)
    timer = EpochTimer()
    validation_data = None if splits.x_val is None else (splits.x_val, splits.y_val)
    start, interrupted = time.perf_counter(), False
    try:
        history = model.fit(
            splits.x_train, splits.y_train, validation_data=validation_data,
            epochs=config.epochs, batch_size=config.batch_size,
            validation_batch_size=config.eval_batch_size, verbose=config.verbose,
            callbacks=[timer, *callbacks, *extra_callbacks],
        ).history
    except KeyboardInterrupt:
        interrupted, history = True, model.history.history if model.history else {}
    seconds = time.perf_counter() - start
    history = _jsonable(history)
    (run_dir / "history.json").write_text(json.dumps(history, indent=2) + "\n")

    save_model(model, run_dir / f"final.{config.save_format}")
    save_model(model, run_dir / "final.weights.h5")
    metrics = {
        "run": run_dir.name,
        "model": config.model,
        "params": int(model.count_params()),
        "epochs_run": len(history.get("loss", [])),
        "best_epoch": best_epoch(history, config.checkpoint.monitor),
        "stopped_epoch": int(early_stopping.stopped_epoch) if early_stopping else 0,
        "interrupted": interrupted,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(float(np.mean(timer.seconds)), 3) if getattr(timer, "seconds", None) else None,
        "train": {key: values[-1] for key, values in history.items() if not key.startswith("val_")},
    }
    if validation_data is not None:
        metrics["val"] = evaluate(model, *validation_data, batch_size=config.eval_batch_size)
    metrics["test"] = evaluate(model, splits.x_test, splits.y_test, batch_size=config.eval_batch_size)
    best_file = run_dir / f"best.{config.save_format}"
    if best_file.is_file():  # the checkpoint can differ from the final model (no restore, or no early stop)
        best = load_model(best_file)
        metrics["best_checkpoint"] = {"file": best_file.name, "test": evaluate(best, splits.x_test, splits.y_test,
                                                                                batch_size=config.eval_batch_size)}
        if validation_data is not None:
            metrics["best_checkpoint"]["val"] = evaluate(best, *validation_data, batch_size=config.eval_batch_size)
    metrics["versions"] = versions()
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    from nnlab.reporting import plot_history  # matplotlib is imported only when a run ends

    plot_history(history, run_dir / "curves.png", title=run_dir.name,
                 marks={"best": metrics["best_epoch"], "stopped": metrics["stopped_epoch"] or None})
    return RunResult(run_dir, model, history, metrics, config)
