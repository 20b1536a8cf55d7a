"""Keras callbacks that make a run folder survive crashes and continue after them.

``train`` puts Keras' own ModelCheckpoint and EarlyStopping in the callback list
and adds these:

- :class:`EpochTimer`: wall-clock seconds of each epoch.
- :class:`BatchProgbar`: Keras' progress bar, in batches of the run's batch size under ``scan_batches``.
- :class:`ResumableEarlyStopping`: Keras' EarlyStopping that can start from a saved wait/best.
- :class:`ResumableReduceLROnPlateau`: Keras' ReduceLROnPlateau, likewise (wait, cooldown, best, rate).
- :class:`LearningRateLogger`: the epoch's learning rate into the logs as ``learning_rate``, for any schedule.
- :class:`RunRecorder`, last in the list: after every epoch it renames the checkpoint
  that ModelCheckpoint wrote to a temporary name into place, rewrites history.csv and
  history.json, and saves everything ``--resume`` needs (weights, optimizer state,
  epoch, the shuffling RNG, EarlyStopping's, ReduceLROnPlateau's and ModelCheckpoint's state, history)
  to ``resume-state.npz`` -- each file atomically.
- :func:`catch_interrupt` and :class:`InterruptFlag`: Ctrl-C through
  :mod:`nnlab.core.interrupt`, so that it is never lost in a garbage-collector callback.
"""

import contextlib
import csv
import io
import json
import os
import random
import signal
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

import nnlab
from nnlab.core import interrupt
from nnlab.core.errors import NnlabError
from nnlab.core.runs import TMP_MARK, atomic_path, write_json, write_text

STATE_FILE = "resume-state.npz"
STATE_FORMAT = 1  # bump when the layout of resume-state.npz changes (new optional keys are read with .get)
LEARNING_RATE = "learning_rate"  # the history key, as Keras' ReduceLROnPlateau and LearningRateScheduler log it


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch, validation included (``seconds`` may start with earlier epochs')."""

    def __init__(self, seconds=()):
        super().__init__()
        self.seconds = list(seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class BatchProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar counting batches of the run's batch size when each of fit's batches holds ``scan``.

    With ``scan_batches`` fit sees 30 batches of 1,600 per epoch of the seeds' pipeline; this bar
    still shows 1500/1500 and the time per batch of 32, as without it. With ``scan=1`` it is Keras'
    bar with the count clamped to the epoch: under ``steps_per_execution`` Keras reports the end of
    the last, partial group of batches past the epoch's end.
    """

    def __init__(self, scan, batches):
        super().__init__()
        self.scan, self.batches = scan, batches  # batches: of the run's batch size, per epoch

    def set_params(self, params):
        super().set_params({**params, "steps": self.batches})

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(min((batch + 1) * self.scan, self.batches) - 1, logs)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping; ``state`` (from :meth:`get_state`) continues a stopped run where it was."""

    def __init__(self, state=None, **kwargs):
        super().__init__(**kwargs)
        self.resume_state = state

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resume_state:
            s = self.resume_state
            self.wait, self.best, self.best_epoch = s["wait"], s["best"], s["best_epoch"]
            self.stopped_epoch, self.best_weights = s["stopped_epoch"], s.get("best_weights")

    def get_state(self):
        best = None if self.best is None else float(self.best)
        return {"wait": int(self.wait), "best": best, "best_epoch": int(self.best_epoch),
                "stopped_epoch": int(self.stopped_epoch)}


class ResumableReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau; ``state`` (from :meth:`get_state`) continues a stopped run where it was.

    The learning rate it lowered is an optimizer variable, restored with the others; the state
    holds it too, so that a resumed run starts from it whatever the optimizer keeps.
    """

    def __init__(self, state=None, **kwargs):
        super().__init__(**kwargs)
        self.resume_state = state

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # wait, cooldown and best back to their start
        if self.resume_state:
            s = self.resume_state
            self.wait, self.cooldown_counter, self.best = s["wait"], s["cooldown_counter"], s["best"]
            self.model.optimizer.learning_rate = s["learning_rate"]

    def get_state(self):
        best = None if self.best is None else float(self.best)
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        return {"wait": int(self.wait), "cooldown_counter": int(self.cooldown_counter), "best": best,
                "learning_rate": rate}


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``learning_rate`` to each epoch's logs: the rate of the epoch's last optimizer step.

    ``rate`` is what the optimizer was built with (:func:`nnlab.core.schedules.learning_rate`):
    a schedule is evaluated at that step (the optimizer's own ``learning_rate`` would give the
    next epoch's first step); otherwise the optimizer's rate is read, before a ReduceLROnPlateau
    later in the list lowers it for the next epoch.
    """

    def __init__(self, rate=None):
        super().__init__()
        self.rate = rate

    def on_epoch_end(self, epoch, logs=None):
        from nnlab.core.schedules import rate_at

        if logs is not None:
            step = max(int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) - 1, 0)
            logs[LEARNING_RATE] = rate_at(self.rate, self.model.optimizer, step)


def checkpoint_paths(run_dir, checkpoint, save_format):
    """(final path, temporary path ModelCheckpoint writes to) of a run's best checkpoint."""
    final = run_dir / ("best.weights.h5" if checkpoint.save_weights_only else f"best.{save_format}")
    stem, _, suffixes = final.name.partition(".")
    return final, final.with_name(f".{stem}{TMP_MARK}checkpoint.{suffixes}")


class RunRecorder(keras.callbacks.Callback):
    """After each epoch: checkpoint into place, history files, resume state -- each written atomically."""

    def __init__(self, run_dir, history, timer, clock, checkpoint=None, early_stopping=None, checkpoint_files=None,
                 reduce_lr=None):
        super().__init__()
        self.run_dir, self.history, self.timer, self.clock = Path(run_dir), history, timer, clock
        self.checkpoint, self.early_stopping, self.reduce_lr = checkpoint, early_stopping, reduce_lr
        self.checkpoint_files = checkpoint_files
        self.epochs_done = len(history.get("loss", []))

    def on_epoch_end(self, epoch, logs=None):
        if self.checkpoint_files:  # ModelCheckpoint wrote its temporary file this epoch: rename it into place
            final, tmp = self.checkpoint_files
            if tmp.exists():
                with open(tmp, "rb") as f:  # on disk before the rename, as atomic_path does
                    os.fsync(f.fileno())
                os.replace(tmp, final)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs_done = epoch + 1
        write_history(self.run_dir, self.history)
        save_state(self.run_dir, self.model, epoch, self.history, self.timer.seconds, self.clock(),
                   self.early_stopping, self.checkpoint, self.reduce_lr)


def write_history(run_dir, history):
    """history.json (as History.history) and history.csv (one row per epoch, as Keras' CSVLogger)."""
    write_json(run_dir / "history.json", history)
    keys = sorted(history)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for epoch in range(len(history.get("loss", []))):
        writer.writerow([epoch, *(history[key][epoch] for key in keys)])
    write_text(run_dir / "history.csv", rows.getvalue())


# ---------------------------------------------------------------- resume state


def save_state(run_dir, model, epoch, history, seconds, train_seconds, early_stopping=None, checkpoint=None,
               reduce_lr=None):
    """Everything needed to continue after ``epoch`` (0-based) as if training had not stopped."""
    np_state = np.random.get_state()
    meta = {
        "format": STATE_FORMAT, "nnlab": nnlab.__version__, "backend": keras.backend.backend(),
        "epoch": int(epoch), "stop_training": bool(model.stop_training), "history": history,
        "seconds": [float(s) for s in seconds], "train_seconds": float(train_seconds),
        "numpy_random": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python_random": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "early_stopping": early_stopping.get_state() if early_stopping else None,
        "checkpoint_best": None if checkpoint is None or checkpoint.best is None else float(checkpoint.best),
        "reduce_lr": reduce_lr.get_state() if reduce_lr else None,
    }
    arrays = {"meta": np.array(json.dumps(meta)), "numpy_random_keys": np_state[1]}
    arrays.update({f"model/{i}": np.asarray(v) for i, v in enumerate(model.variables)})
    arrays.update({f"optimizer/{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
    if early_stopping is not None and early_stopping.best_weights is not None:
        arrays.update({f"best_weights/{i}": w for i, w in enumerate(early_stopping.best_weights)})
    with atomic_path(Path(run_dir) / STATE_FILE) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def read_state(run_dir):
    """The saved state of a run folder: ``(meta, arrays)``; None when there is no state file."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:  # cut short, not a zip, ...
        raise NnlabError(f"{path} is unreadable ({error}); this run cannot be resumed. Start a new run.") from None
    if meta.get("format") != STATE_FORMAT or meta.get("nnlab") != nnlab.__version__:
        raise NnlabError(f"{path} was written by nnlab {meta.get('nnlab')} (state format {meta.get('format')}); "
                         f"this is nnlab {nnlab.__version__} (format {STATE_FORMAT}), which cannot continue it. "
                         "Start a new run with the same settings: `nnlab train --config "
                         f"{Path(run_dir) / 'config.json'}`.")
    return meta, arrays


def _group(arrays, prefix):
    items = sorted(((int(key.split("/")[1]), value) for key, value in arrays.items()
                    if key.startswith(prefix + "/")))
    return [value for _, value in items]


def _assign(variables, values, what, run_dir):
    if len(variables) != len(values) or any(tuple(v.shape) != tuple(a.shape) for v, a in zip(variables, values)):
        raise NnlabError(f"the {what} saved in {Path(run_dir) / STATE_FILE} do not fit the model rebuilt from "
                         f"its config.json ({len(values)} saved, {len(variables)} in the model); the folder "
                         "was changed by hand or by another program. Start a new run.")
    for variable, value in zip(variables, values):
        variable.assign(value)


def restore_state(model, meta, arrays, run_dir):
    """Put saved weights, optimizer state and random generators back; ``model`` must be compiled."""
    _assign(model.variables, _group(arrays, "model"), "weights", run_dir)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    _assign(model.optimizer.variables, _group(arrays, "optimizer"), "optimizer variables", run_dir)
    state = meta.get("early_stopping")
    if state is not None:
        state = {**state, "best_weights": _group(arrays, "best_weights") or None}
    return state


class RestoreRandom(keras.callbacks.Callback):
    """Puts the saved NumPy and Python random states back when training begins.

    Not earlier: ``fit`` draws one shuffle to build the model before ``on_train_begin``,
    as it did when the run started, so the next epoch's shuffle must come after it.
    """

    def __init__(self, meta, arrays):
        super().__init__()
        self.meta, self.keys = meta, arrays["numpy_random_keys"]

    def on_train_begin(self, logs=None):
        name, pos, has_gauss, cached = self.meta["numpy_random"]
        np.random.set_state((name, self.keys, pos, has_gauss, cached))
        version, internal, gauss = self.meta["python_random"]
        random.setstate((version, tuple(internal), gauss))


# ---------------------------------------------------------------- Ctrl-C


class InterruptFlag(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the next batch once Ctrl-C was pressed, should the first one be lost."""

    def on_train_batch_end(self, batch, logs=None):
        if interrupt.pressed():
            raise KeyboardInterrupt

    on_test_batch_end = on_epoch_end = on_train_batch_end


@contextlib.contextmanager
def catch_interrupt():
    """While training: Ctrl-C through :mod:`nnlab.core.interrupt`'s handler (lost nowhere), then the old handler.

    Under the command line the handler is in place already and a press that came while the model was being
    built stays recorded (its KeyboardInterrupt may have been swallowed there): :class:`InterruptFlag` stops
    at the first batch. From the Python API the flag starts fresh.
    """
    previous = interrupt.install()
    if previous is not None:
        interrupt.reset()
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
