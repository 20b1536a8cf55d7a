"""Training stage: compile, fit with Keras' callbacks, write the run folder; continue a stopped run.

``train(config)`` runs one experiment of any task end to end and leaves everything in
``runs/<name>/``, each file written atomically:

    config.json         the resolved config (its "task" says which system)
    history.csv         one row per epoch: loss, metrics, val_loss, ... as Keras logs them, and
                        learning_rate (the rate of the epoch's last optimizer step)
    history.json        the same, as History.history
    metrics.json        status (finished / interrupted), monitor, best epoch, stopped_epoch (0-based,
                        as Keras), val/test figures of the final model and of the best checkpoint,
                        seconds, versions, git commit
    curves.png          train vs val, one panel per metric family; the learning rate
    best.keras          the best model by the monitor (ModelCheckpoint; best.h5 with save_format="h5",
                        best.weights.h5 with save_weights_only)
    final.keras         the model when training ended (after EarlyStopping's restore, if any)
    final.weights.h5    its weights
    resume-state.npz    while training: what ``resume`` needs (removed when the run finishes)

    >>> from nnlab.fashion.task import TASK
    >>> from nnlab.core.training import train, resume
    >>> result = train(TASK.config("seeds-final", limit=2000, epochs=2, verbose=0))
    >>> sorted(result.metrics["test"])
    ['accuracy', 'loss']
    >>> resume("runs/<a run killed mid-way>")      # continues from its last finished epoch

Ctrl-C stops at the next batch and raises :class:`~nnlab.core.errors.Interrupted`;
the folder keeps every finished epoch, and ``resume`` (``nnlab train --resume RUN``)
continues it to the same result as a run that was never stopped.
"""

import dataclasses
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from nnlab.core.callbacks import (LEARNING_RATE, STATE_FILE, BatchProgbar, EpochTimer, InterruptFlag,
                                  LearningRateLogger, ResumableEarlyStopping, ResumableReduceLROnPlateau,
                                  RestoreRandom, RunRecorder, catch_interrupt, checkpoint_paths, read_state,
                                  restore_state, write_history)
from nnlab.core import interrupt, schedules
from nnlab.core.config import to_dict
from nnlab.core.errors import AlreadyFinished, Interrupted, NnlabError
from nnlab.core.evaluation import evaluate
from nnlab.core.runs import clean_temporary, new_run_dir, read_run, versions, write_json
from nnlab.core.saving import load_model, save_model
from nnlab.core.task import best_epoch, get_task, mode, num_samples


def enable_compile_cache():
    """JAX's persistent compilation cache: a rerun of the same model skips XLA's compiles over 0.5 s."""
    if keras.backend.backend() != "jax":
        return
    import jax

    if not jax.config.jax_compilation_cache_dir:
        root = Path(os.environ.get("NNLAB_CACHE_DIR", "~/.cache/nnlab")).expanduser()
        jax.config.update("jax_compilation_cache_dir", str(root / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def enable_straight_line_random():
    """On JAX's CPU backend, compile the threefry hash (Keras' dropout masks) as straight-line code.

    JAX lowers threefry on CPU as a 5-iteration XLA while loop (a smaller program,
    as only CPU asks for); inside a compiled training loop every mask then costs
    five trips through XLA's loop machinery instead of one fused kernel, about
    0.15 CPU seconds per epoch of the seeds' E10 pipeline (1,500 masks of 32x100).
    The unrolled lowering is the one JAX uses on GPUs: the same arithmetic, so the
    same random bits and the same history. Does nothing on other backends, or if
    this JAX version moved the private names.
    """
    if keras.backend.backend() != "jax":
        return
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32
    except ImportError:
        return
    primitive = getattr(threefry2x32, "threefry2x32_p", None)
    unrolled = getattr(threefry2x32, "_threefry2x32_lowering_rule", None)
    if primitive is not None and unrolled is not None:
        mlir.register_lowering(primitive, unrolled, platform="cpu")


def build_optimizer(config, steps_per_epoch=None):
    """A Keras optimizer from ``config.optimizer``; learning_rate None keeps Keras' default.

    The learning rate is :func:`nnlab.core.schedules.learning_rate`'s: a float, or one of
    Keras' schedules over ``steps_per_epoch`` optimizer steps per epoch (``schedule="cosine"``
    decays it to 0 over ``epochs * steps_per_epoch`` steps with ``CosineDecay``).
    """
    opt = config.optimizer
    rate = schedules.learning_rate(config, steps_per_epoch)
    kwargs = {} if rate is None else {"learning_rate": rate}
    if opt.name == "sgd":
        return keras.optimizers.SGD(momentum=opt.momentum, nesterov=opt.nesterov, **kwargs)
    if opt.name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=opt.momentum, **kwargs)
    if opt.name == "adagrad":
        return keras.optimizers.Adagrad(**kwargs)
    return keras.optimizers.Adam(**kwargs)


def compile_model(model, task, config, steps_per_epoch=None):
    """Compile with the task's per-output losses and metrics and the config's optimizer and loss weights."""
    # steps_per_execution only groups batches between Python-side bookkeeping (Keras sets
    # tracked model state once per group): the same updates, so the same history.
    model.compile(optimizer=build_optimizer(config, steps_per_epoch), **task.compile_args(config.loss_weights, config),
                  steps_per_execution=config.steps_per_execution)
    return model


def scan_batches(model, batch_size):
    """Make ``model.fit`` run each batch it is given as consecutive batches of ``batch_size`` in one XLA call.

    On the JAX backend, Keras calls one compiled train step per batch, and at the
    seeds' batch 32 the Python round trip (slicing, ``device_put``, dispatch of ~20
    state arrays) costs more than the arithmetic. After this, ``fit(batch_size=k *
    batch_size)`` hands over k batches at a time and Keras' own ``train_step`` runs
    over them in a ``jax.lax.scan``: the same updates on the same batches in the same
    order (Keras slices its shuffled permutation into batches, so the k slices of a
    large batch are the small batches), hence the same history; callbacks see one
    batch per call. A remainder that is not a whole batch is one last step of its own.
    Returns the model; other backends are left as they are.
    """
    if keras.backend.backend() != "jax":
        return model
    import jax

    step = type(model).train_step  # Keras' step for one batch

    def train_step(state, data):
        x, y, weights = keras.utils.unpack_x_y_sample_weight(data)
        batch = tuple(part for part in (x, y, weights) if part is not None)
        size = keras.tree.flatten(x)[0].shape[0]
        whole = size // batch_size * batch_size
        logs = None
        if whole:  # (k * batch_size, ...) -> (k, batch_size, ...), scanned along the first axis
            stacked = keras.tree.map_structure(
                lambda a: a[:whole].reshape((whole // batch_size, batch_size, *a.shape[1:])), batch)
            state, logs = jax.lax.scan(lambda carry, b: step(model, carry, b)[::-1], state, stacked)
            logs = keras.tree.map_structure(lambda v: v[-1], logs)  # metrics after the last batch
        if whole < size:
            logs, state = step(model, state, keras.tree.map_structure(lambda a: a[whole:], batch))
        return logs, state

    model.train_step = train_step
    return model


def make_callbacks(config, run_dir, state=None):
    """Keras' ModelCheckpoint (to a temporary file), EarlyStopping and ReduceLROnPlateau as the config asks.

    ``state`` is a saved resume state: EarlyStopping's and ReduceLROnPlateau's wait/best and the
    checkpoint's best continue. Returns ``(callbacks, checkpoint, early_stopping, reduce_lr,
    (best file, temporary file) or None)``.
    """
    callbacks, checkpoint, early_stopping, reduce_lr, files = [], None, None, None, None
    ckpt = config.checkpoint
    if ckpt.enabled:
        files = checkpoint_paths(run_dir, ckpt, config.save_format)
        checkpoint = keras.callbacks.ModelCheckpoint(
            str(files[1]), monitor=ckpt.monitor, mode=mode(ckpt.monitor), save_best_only=ckpt.save_best_only,
            save_weights_only=ckpt.save_weights_only, verbose=0,
            initial_value_threshold=(state or {}).get("checkpoint_best"))
        callbacks.append(checkpoint)
    stop = config.early_stopping
    if stop.patience is not None:
        early_stopping = ResumableEarlyStopping(
            state=(state or {}).get("early_stopping"), monitor=stop.monitor, mode=mode(stop.monitor),
            patience=stop.patience, min_delta=stop.min_delta, restore_best_weights=stop.restore_best_weights)
        callbacks.append(early_stopping)
    if config.reduce_lr is not None:
        plateau = config.reduce_lr
        reduce_lr = ResumableReduceLROnPlateau(
            state=(state or {}).get("reduce_lr"), monitor=plateau.monitor, mode=mode(plateau.monitor),
            factor=plateau.factor, patience=plateau.patience, min_delta=plateau.min_delta, min_lr=plateau.min_lr,
            cooldown=plateau.cooldown, verbose=int(config.verbose > 0))
        callbacks.append(reduce_lr)
    return callbacks, checkpoint, early_stopping, reduce_lr, files


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    model: keras.Model
    history: dict
    metrics: dict
    config: object


def train(config, splits=None, model=None, extra_callbacks=()):
    """Train one run as ``config`` says and write its run folder; returns a RunResult.

    ``splits`` (a :class:`~nnlab.core.task.Splits`) and ``model`` may be passed to reuse
    loaded data or train a model built elsewhere (for example with plain Keras);
    call ``keras.utils.set_random_seed(config.seed)`` before building such a model
    if its initial weights must be reproducible.
    Raises :class:`~nnlab.core.errors.Interrupted` on Ctrl-C, after saving what ``resume`` needs.
    """
    config = config.resolved()
    task = get_task(config.task)
    enable_compile_cache()
    enable_straight_line_random()
    keras.utils.set_random_seed(config.seed)
    splits = task.load_data(config) if splits is None else splits
    model = task.build_model(config) if model is None else model
    run_dir = new_run_dir(config)
    write_json(run_dir / "config.json", to_dict(config))
    return _fit(task, config, run_dir, splits, model, extra_callbacks, state=None)


def resume(run_dir, splits=None, model=None, extra_callbacks=(), verbose=None):
    """Continue a run stopped by Ctrl-C, a crash or ``kill -9`` from its last finished epoch.

    Ends with what an uninterrupted run with the same settings and seed gives: same
    epochs, history, best and stopped epoch, final weights. Pass ``model`` (built the
    same way) for a run whose model was built outside its task. Raises AlreadyFinished
    for a finished run (nothing is rewritten) and NnlabError for a folder that cannot
    be continued.
    """
    run_dir = Path(run_dir)
    info = read_run(run_dir)
    if info["config"] is None:
        raise NnlabError(f"{run_dir} cannot be resumed: {info['broken'] or 'config.json is missing'}.")
    if info["status"] == "finished":
        raise AlreadyFinished(f"{run_dir} finished already ({info['metrics'].get('epochs_run')} epochs); "
                              "nothing to resume. Start a new run with --name to train again.")
    task = get_task(info["config"].get("task"))
    config = task.config_from_dict(info["config"])
    if verbose is not None:
        config.verbose = verbose
    state = read_state(run_dir)
    history_done = _history_epochs(run_dir)
    if state is None and history_done:
        raise NnlabError(f"{run_dir / STATE_FILE} is missing, so the {history_done} finished epochs cannot be "
                         f"continued. Start a new run with the same settings: `nnlab train --config "
                         f"{run_dir / 'config.json'}`.")
    clean_temporary(run_dir)
    enable_compile_cache()
    enable_straight_line_random()
    keras.utils.set_random_seed(config.seed)
    splits = task.load_data(config) if splits is None else splits
    model = task.build_model(config) if model is None else model
    return _fit(task, config, run_dir, splits, model, extra_callbacks, state=state)


def _history_epochs(run_dir):
    import json

    try:
        return len(json.loads((run_dir / "history.json").read_text()).get("loss", []))
    except (OSError, ValueError, AttributeError):
        return 0


def _fit(task, config, run_dir, splits, model, extra_callbacks, state):
    """Fit (from scratch or from ``state``), then write the finished run folder."""
    meta, arrays = state or ({}, {})
    steps_per_epoch = math.ceil(num_samples(splits.x_train) / config.batch_size)
    compile_model(model, task, config, steps_per_epoch)
    rate = schedules.learning_rate(config, steps_per_epoch)  # what the optimizer was built with, for the log
    fit_batch, scan = config.batch_size, 1
    if config.scan_batches > 1 and keras.backend.backend() == "jax":
        scan_batches(model, config.batch_size)
        fit_batch, scan = config.batch_size * config.scan_batches, config.scan_batches
    # Also with scan 1: Keras' own bar counts past the end under steps_per_execution (400/375;
    # keras-team/keras#20861), BatchProgbar stops at the epoch's last batch.
    progbar = [BatchProgbar(scan, steps_per_epoch)] if config.verbose else []
    callbacks, checkpoint, early_stopping, reduce_lr, files = make_callbacks(
        config, run_dir, {"checkpoint_best": meta.get("checkpoint_best"), "early_stopping": None,
                          "reduce_lr": meta.get("reduce_lr")})
    initial_epoch, epochs, restore = 0, config.epochs, []
    if state is not None:
        restore = [RestoreRandom(meta, arrays)]
        es_state = restore_state(model, meta, arrays, run_dir)
        if early_stopping is not None:
            early_stopping.resume_state = es_state
        initial_epoch = meta["epoch"] + 1
        if meta["stop_training"]:  # EarlyStopping had stopped it: run no epoch, only on_train_end's restore
            epochs = initial_epoch
        if config.verbose:
            print(f"resuming {run_dir} after epoch {initial_epoch} of {config.epochs}")
    history = {key: list(values) for key, values in meta.get("history", {}).items()}
    if history.get("loss") and LEARNING_RATE not in history:  # stopped by an nnlab that did not log the rate:
        # its epochs ran with the schedule (no ReduceLROnPlateau then), so their rates are known.
        history[LEARNING_RATE] = [schedules.rate_at(rate, model.optimizer, (epoch + 1) * steps_per_epoch - 1)
                                  for epoch in range(len(history["loss"]))]
    timer, flag = EpochTimer(meta.get("seconds", ())), InterruptFlag()
    fit_start, interrupted = time.perf_counter(), False
    clock = lambda: meta.get("train_seconds", 0.0) + time.perf_counter() - fit_start  # noqa: E731  all sessions
    recorder = RunRecorder(run_dir, history, timer, clock, checkpoint, early_stopping, files, reduce_lr)
    # First at each epoch's end: the rate the epoch ran with, before ReduceLROnPlateau lowers it.
    rate_log = LearningRateLogger(rate)
    try:
        with catch_interrupt():
            model.fit(splits.x_train, splits.y_train, validation_data=splits.validation(),
                      initial_epoch=min(initial_epoch, epochs), epochs=epochs, batch_size=fit_batch,
                      validation_batch_size=config.eval_batch_size, verbose=config.verbose,
                      callbacks=[*restore, flag, timer, rate_log, *callbacks, recorder, *extra_callbacks, *progbar])
            interrupted = interrupt.pressed()  # pressed, and its KeyboardInterrupt lost on the way
            if not interrupted:
                write_history(run_dir, history)  # also when no epoch ran (resumed after the last one)
                metrics = _finish(task, config, run_dir, splits, model, history, timer, early_stopping, clock())
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        _write_interrupted(config, run_dir, recorder.epochs_done, clock())
        raise Interrupted(run_dir, recorder.epochs_done)
    return RunResult(run_dir, model, history, metrics, config)


def _write_interrupted(config, run_dir, epochs_done, seconds):
    """A short metrics.json for a stopped run: what ``runs list`` shows and ``resume`` continues from."""
    write_json(run_dir / "metrics.json", {
        "run": run_dir.name, "task": config.task, "model": config.model, "status": "interrupted",
        "interrupted": True, "epochs_run": epochs_done, "train_seconds": round(seconds, 3),
        "resume": f"nnlab train --resume {run_dir}"})


def _finish(task, config, run_dir, splits, model, history, timer, early_stopping, seconds):
    """Final model files, val/test figures, metrics.json and curves.png of a run that ran to its end."""
    save_model(model, run_dir / f"final.{config.save_format}")
    save_model(model, run_dir / "final.weights.h5")
    monitor = config.checkpoint.monitor
    metrics = {
        "run": run_dir.name,
        "task": config.task,
        "model": config.model,
        "status": "finished",
        "params": int(model.count_params()),
        "epochs_run": len(history.get("loss", [])),
        "monitor": monitor,
        "best_epoch": best_epoch(history, monitor),
        "stopped_epoch": int(early_stopping.stopped_epoch) if early_stopping else 0,
        "interrupted": False,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(float(np.mean(timer.seconds)), 3) if timer.seconds else None,
        "train": {key: values[-1] for key, values in history.items()
                  if not key.startswith("val_") and key != LEARNING_RATE},  # figures of the model only
    }
    batch = config.eval_batch_size
    if splits.x_val is not None:
        metrics["val"] = evaluate(model, splits.x_val, splits.y_val, task, batch_size=batch)
    metrics["test"] = evaluate(model, splits.x_test, splits.y_test, task, batch_size=batch)
    best_file = checkpoint_paths(run_dir, config.checkpoint, config.save_format)[0]
    if config.checkpoint.enabled and not config.checkpoint.save_weights_only and best_file.is_file():
        # The checkpoint can differ from the final model (no restore, or no early stop).
        metrics["best_checkpoint"] = {"file": best_file.name}
        try:
            best = load_model(best_file)
        except NnlabError as error:
            metrics["best_checkpoint"]["error"] = str(error)
        else:
            metrics["best_checkpoint"]["test"] = evaluate(best, splits.x_test, splits.y_test, task, batch_size=batch)
            if splits.x_val is not None:
                metrics["best_checkpoint"]["val"] = evaluate(best, splits.x_val, splits.y_val, task, batch_size=batch)
    task.write_extras(run_dir, model, splits, metrics)
    metrics["versions"] = versions()
    write_json(run_dir / "metrics.json", metrics)

    from nnlab.core.plots import plot_history  # matplotlib is imported only when a run ends

    plot_history(history, run_dir / "curves.png", families=task.families(history), title=run_dir.name,
                 marks={"best": metrics["best_epoch"], "stopped": metrics["stopped_epoch"] or None})
    (run_dir / STATE_FILE).unlink(missing_ok=True)  # finished: final.keras holds the optimizer state too
    return metrics
