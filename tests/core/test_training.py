"""nnlab.core.training: the run folder, reproducibility, ModelCheckpoint, EarlyStopping, name clashes, Ctrl-C.

Every training here uses 600 samples per split (``small_splits``) for at most
three epochs.
"""

import csv
import json
import os
import re
import signal

import keras
import numpy as np
import pytest

from helpers import TINY_RUN, CheckpointWatcher, file_digest
from nnlab.core.callbacks import STATE_FILE
from nnlab.core.config import to_dict
from nnlab.core.errors import Interrupted, NnlabError
from nnlab.core.evaluation import evaluate
from nnlab.core.saving import load_model, load_weights
from nnlab.core.task import Splits
from nnlab.core.training import build_optimizer, enable_straight_line_random, train
from nnlab.fashion.models import build_model
from nnlab.fashion.task import TASK

RUN_FILES = {"config.json", "history.csv", "history.json", "metrics.json", "curves.png",
             "best.keras", "final.keras", "final.weights.h5"}
HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}


def test_run_folder_has_every_file(tiny_run):
    run_dir = tiny_run.run_dir
    assert run_dir.name == "tiny"
    # Later commands may add their own files (evaluate writes reliability-<split>.png, predict an exported
    # <model>.jaxexport); training writes these.
    later = [p for p in run_dir.iterdir() if p.name.startswith("reliability-") or p.name.endswith(".jaxexport")]
    assert {p.name for p in run_dir.iterdir()} - {p.name for p in later} == RUN_FILES
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_folder_config_is_the_resolved_config(tiny_run):
    written = TASK.load_config(tiny_run.run_dir / "config.json")
    assert written == tiny_run.config
    assert written.checkpoint.monitor == "val_loss" and written.early_stopping.monitor == "val_loss"
    assert json.loads((tiny_run.run_dir / "config.json").read_text()) == to_dict(tiny_run.config)


def test_run_folder_history(tiny_run):
    history = json.loads((tiny_run.run_dir / "history.json").read_text())
    assert set(history) == HISTORY_KEYS
    assert all(len(values) == TINY_RUN["epochs"] for values in history.values())
    assert history == tiny_run.history
    with open(tiny_run.run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == list(range(TINY_RUN["epochs"]))
    for key in HISTORY_KEYS:
        np.testing.assert_allclose([float(row[key]) for row in rows], history[key], rtol=1e-6)
    # Adam's default rate, constant, as float32 holds it.
    assert history["learning_rate"] == [float(np.float32(0.001))] * TINY_RUN["epochs"]


def test_run_folder_metrics(tiny_run, small_splits):
    metrics = json.loads((tiny_run.run_dir / "metrics.json").read_text())
    assert {"run", "task", "model", "status", "params", "epochs_run", "monitor", "best_epoch", "stopped_epoch",
            "interrupted", "train_seconds", "seconds_per_epoch", "train", "val", "test", "best_checkpoint",
            "versions"} <= set(metrics)
    assert metrics["run"] == "tiny" and metrics["model"] == "dnn" and metrics["params"] == 79_510
    assert metrics["task"] == "fashion" and metrics["status"] == "finished" and metrics["monitor"] == "val_loss"
    assert metrics["epochs_run"] == TINY_RUN["epochs"] and metrics["interrupted"] is False
    assert metrics["best_epoch"] == int(np.argmin(tiny_run.history["val_loss"]))
    assert set(metrics["val"]) == set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["train"]["loss"] == tiny_run.history["loss"][-1]
    assert {"keras", "backend", "python", "nnlab"} <= set(metrics["versions"])
    assert metrics["versions"]["backend"] == keras.backend.backend()
    # The saved metrics are those of the final model on the splits it was given.
    final = load_model(tiny_run.run_dir / "final.keras")
    assert evaluate(final, small_splits.x_test, small_splits.y_test, TASK)["accuracy"] == pytest.approx(
        metrics["test"]["accuracy"], abs=1e-6)
    # ... and the best checkpoint's figures are those of best.keras.
    best = load_model(tiny_run.run_dir / "best.keras")
    assert metrics["best_checkpoint"]["file"] == "best.keras" and "error" not in metrics["best_checkpoint"]
    for split in ("val", "test"):
        x, y = getattr(small_splits, f"x_{split}"), getattr(small_splits, f"y_{split}")
        assert evaluate(best, x, y, TASK) == pytest.approx(metrics["best_checkpoint"][split], abs=1e-6)


def test_final_files_hold_the_trained_model(tiny_run, small_splits):
    x = small_splits.x_val[:50]
    expected = tiny_run.model.predict(x, verbose=0)
    np.testing.assert_allclose(load_model(tiny_run.run_dir / "final.keras").predict(x, verbose=0), expected,
                               rtol=1e-6, atol=1e-7)
    fresh = load_weights(build_model("dnn", dropout=0.3), tiny_run.run_dir / "final.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-7)


def test_same_seed_gives_the_same_history(tiny_run, small_splits, tmp_path):
    config = TASK.config("seeds-final", runs_dir=str(tmp_path), **{**TINY_RUN, "name": "again"})
    again = train(config, splits=small_splits)
    assert again.history == tiny_run.history  # exact, float for float


def test_checkpoint_is_written_when_the_monitor_improves(tiny_run):
    val_loss = tiny_run.history["val_loss"]
    improved = [loss < min(val_loss[:epoch], default=np.inf) for epoch, loss in enumerate(val_loss)]
    assert tiny_run.checkpoint_changed == improved
    assert tiny_run.checkpoint_changed[0]


def _worsening_splits(small_splits):
    """Validate on the training images with every label wrong: the better the fit, the worse val_loss."""
    x, y = small_splits.x_train, small_splits.y_train
    wrong = (y + 1 + np.arange(len(y)) % 9) % 10  # never the true label
    assert not np.any(wrong == y)
    return Splits(x, y, x, wrong, small_splits.x_test, small_splits.y_test)


@pytest.fixture(scope="module")
def stopped_run(small_splits, tmp_path_factory):
    """Early stopping (patience 1, best weights restored) on a val_loss that rises after epoch 0."""
    splits = _worsening_splits(small_splits)
    runs_dir = tmp_path_factory.mktemp("stopped")
    config = TASK.config("seeds-final", epochs=5, verbose=0, name="stopped", runs_dir=str(runs_dir),
                         early_stopping={"patience": 1}, optimizer={"learning_rate": 0.01})
    watcher = CheckpointWatcher(runs_dir / "stopped" / "best.keras")
    result = train(config, splits=splits, extra_callbacks=[watcher])
    return result, splits, watcher


def test_checkpoint_is_not_written_when_the_monitor_gets_worse(stopped_run):
    result, _, watcher = stopped_run
    val_loss = result.history["val_loss"]
    assert val_loss[1] > val_loss[0]  # the setup does what it should
    assert watcher.changed() == [True, False]


def test_early_stopping_stops_and_restores_the_best_weights(stopped_run):
    result, splits, _ = stopped_run
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and len(result.history["loss"]) == 2
    # Keras counts stopped_epoch from 0; best epoch = stopped - patience, as in the seeds' E10.
    assert metrics["stopped_epoch"] == 1 and metrics["best_epoch"] == 0
    val_loss = result.history["val_loss"]
    restored = evaluate(result.model, splits.x_val, splits.y_val, TASK)["loss"]
    assert restored == pytest.approx(min(val_loss), rel=1e-5)
    assert restored != pytest.approx(val_loss[-1], rel=1e-3)  # not the last epoch's weights
    # final.keras (after the restore) and best.keras (the checkpoint) hold the same weights.
    best = load_model(result.run_dir / "best.keras").get_weights()
    final = load_model(result.run_dir / "final.keras").get_weights()
    for b, f in zip(best, final, strict=True):
        np.testing.assert_array_equal(b, f)


def test_run_name_collision_refuses_and_overwrites_nothing(tiny_run, small_splits):
    before = {p.name: (file_digest(p), p.stat().st_mtime_ns) for p in tiny_run.run_dir.iterdir()}
    config = TASK.config("seeds-final", runs_dir=str(tiny_run.run_dir.parent), **TINY_RUN)
    with pytest.raises(NnlabError, match=r"Run folder .*tiny already exists; pick another --name"):
        train(config, splits=small_splits)
    after = {p.name: (file_digest(p), p.stat().st_mtime_ns) for p in tiny_run.run_dir.iterdir()}
    assert after == before


def test_save_format_h5_writes_legacy_model_files(small_splits, tmp_path):
    config = TASK.config("dnn", epochs=1, verbose=0, name="legacy", runs_dir=str(tmp_path), save_format="h5")
    result = train(config, splits=small_splits)
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"best.h5", "final.h5", "final.weights.h5"} <= files and not any(f.endswith(".keras") for f in files)
    x = small_splits.x_val[:50]
    for path in (result.run_dir, result.run_dir / "final.h5"):  # a run folder resolves to its best.h5
        np.testing.assert_allclose(load_model(path).predict(x, verbose=0), result.model.predict(x, verbose=0),
                                   rtol=1e-6, atol=1e-7)


class InterruptAt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch of ``epoch``, as Ctrl-C would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("epoch", [0, 1])
def test_ctrl_c_keeps_the_finished_epochs_and_what_resume_needs(small_splits, tmp_path, epoch):
    config = TASK.config("dnn", epochs=3, verbose=0, name="interrupted", runs_dir=str(tmp_path))
    with pytest.raises(Interrupted) as raised:
        train(config, splits=small_splits, extra_callbacks=[InterruptAt(epoch)])
    run_dir = tmp_path / "interrupted"
    assert isinstance(raised.value, KeyboardInterrupt)  # uncaught, it ends a script as Ctrl-C does
    assert raised.value.run_dir == run_dir and raised.value.epochs_done == epoch
    files = {p.name for p in run_dir.iterdir()}
    # Only the epochs that finished are in the folder; no final model of a run that did not finish.
    expected = {"config.json", "metrics.json"} | ({"history.csv", "history.json", "best.keras", STATE_FILE}
                                                  if epoch else set())
    assert files == expected
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["status"] == "interrupted"
    assert metrics["epochs_run"] == epoch  # the epochs finished before Ctrl-C
    assert metrics["resume"] == f"nnlab train --resume {run_dir}"
    if epoch:
        assert len(json.loads((run_dir / "history.json").read_text())["loss"]) == epoch
        load_model(run_dir / "best.keras")  # a valid model file


class SigintAt(keras.callbacks.Callback):
    """Sends this process a real SIGINT (what Ctrl-C does) in the middle of ``epoch``."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def test_a_real_sigint_stops_training_and_puts_the_handler_back(small_splits, tmp_path):
    # Start from Python's own handler, as a fresh `nnlab` process does: an earlier in-process test (a CLI
    # or server run) may have left another one installed (seen once in a full suite run, not in isolation).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _sigint_stops_training(small_splits, tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def _sigint_stops_training(small_splits, tmp_path):
    handler = signal.getsignal(signal.SIGINT)
    # Many epochs after the signal: a press landing inside an import or a GC callback is re-sent 0.1 s
    # later (nnlab.core.interrupt), by when a tiny epoch or two may have finished.
    config = TASK.config("dnn", epochs=30, verbose=0, name="sigint", runs_dir=str(tmp_path), steps_per_execution=1)
    with pytest.raises(Interrupted) as raised:
        train(config, splits=small_splits, extra_callbacks=[SigintAt(1)])
    assert 1 <= raised.value.epochs_done < 30
    assert json.loads((tmp_path / "sigint" / "metrics.json").read_text())["status"] == "interrupted"
    assert len(json.loads((tmp_path / "sigint" / "history.json").read_text())["loss"]) == raised.value.epochs_done
    assert signal.getsignal(signal.SIGINT) is handler


def test_build_optimizer_follows_the_config():
    sgd = build_optimizer(TASK.config("dnn", optimizer={"name": "sgd", "learning_rate": 0.1, "momentum": 0.9,
                                                        "nesterov": True}))
    assert isinstance(sgd, keras.optimizers.SGD)
    assert float(sgd.learning_rate) == pytest.approx(0.1) and sgd.momentum == 0.9 and sgd.nesterov
    assert isinstance(build_optimizer(TASK.config("dnn", optimizer={"name": "adagrad"})), keras.optimizers.Adagrad)
    adam = build_optimizer(TASK.config("seeds-final"))
    assert isinstance(adam, keras.optimizers.Adam) and float(adam.learning_rate) == pytest.approx(0.001)


def test_one_compiled_step_per_batch_gives_the_same_history(tiny_run, small_splits, tmp_path):
    # tiny_run scanned 18 batches of 32 in one compiled step and stepped once more on the last 24 samples
    # (scan_batches=50); this one takes 19 compiled steps in one trip (steps_per_execution=50).
    assert (tiny_run.config.scan_batches, tiny_run.config.steps_per_execution) == (50, 1)
    config = TASK.config("seeds-final", runs_dir=str(tmp_path), scan_batches=1, steps_per_execution=50, **TINY_RUN)
    history = train(config, splits=small_splits).history
    assert set(history) == set(tiny_run.history) == HISTORY_KEYS
    for key in HISTORY_KEYS:
        np.testing.assert_allclose(history[key], tiny_run.history[key], rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="scan_batches is JAX only")
def test_the_progress_bar_counts_batches_of_the_batch_size_under_scan_batches(small_splits, tmp_path, capsys):
    # 600 samples: 19 batches of 32, which fit sees as 3 batches of 7 x 32 (scan_batches=7).
    config = TASK.config("seeds-final", runs_dir=str(tmp_path), **{**TINY_RUN, "epochs": 1, "verbose": 2,
                                                                  "scan_batches": 7})
    train(config, splits=small_splits)
    assert re.search(r"^19/19 - .*ms/step - accuracy: ", capsys.readouterr().out, re.MULTILINE)


def test_the_progress_bar_stops_at_the_epochs_last_batch_under_steps_per_execution(small_splits, tmp_path, capsys):
    # 600 samples: 19 batches of 32 in trips of 5; Keras' own bar ends at 20/19 (keras-team/keras#20861).
    config = TASK.config("seeds-final", runs_dir=str(tmp_path), **{**TINY_RUN, "epochs": 1, "verbose": 1,
                                                                  "scan_batches": 1, "steps_per_execution": 5})
    train(config, splits=small_splits)
    counts = re.findall(r"(\d+)/19\b", capsys.readouterr().out)
    assert counts and counts[-1] == "19" and max(map(int, counts)) == 19, counts


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="a JAX lowering")
def test_straight_line_threefry_draws_the_same_random_bits():
    import jax
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32

    def draws(key):  # a dropout mask, bits, normals, and masks drawn inside a scan (as scan_batches does)
        mask = jax.random.bernoulli(key, 0.7, (32, 100))
        scanned = jax.lax.scan(lambda k, _: (jax.random.split(k)[0], jax.random.bernoulli(k, 0.7, (8,))), key,
                               None, length=5)[1]
        return mask, jax.random.bits(key, (1000,)), jax.random.normal(key, (77,)), scanned

    def hash_has_a_loop():
        return "while" in jax.jit(lambda k: jax.random.bits(k, (10,))).lower(key).as_text()

    key = jax.random.key(123)
    mlir.register_lowering(threefry2x32.threefry2x32_p, threefry2x32._threefry2x32_cpu_lowering_rule, platform="cpu")
    before, looped = jax.jit(lambda k: draws(k))(key), hash_has_a_loop()
    enable_straight_line_random()
    after = jax.jit(lambda k: draws(k))(key)
    assert not hash_has_a_loop() and looped == (jax.default_backend() == "cpu")
    for a, b in zip(before, after):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


class CorruptAtEnd(keras.callbacks.Callback):
    """Overwrites a file with junk when training ends (after the last checkpoint was put in place)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_end(self, logs=None):
        assert self.path.is_file()
        self.path.write_bytes(b"PK\x03\x04 not a zip any more")


def test_an_unreadable_best_checkpoint_still_finishes_the_run(small_splits, tmp_path):
    config = TASK.config("dnn", epochs=1, verbose=0, name="corrupt", runs_dir=str(tmp_path))
    result = train(config, splits=small_splits, extra_callbacks=[CorruptAtEnd(tmp_path / "corrupt" / "best.keras")])
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["status"] == "finished" and set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["best_checkpoint"]["file"] == "best.keras"
    assert re.search(r"Cannot load model .*best\.keras", metrics["best_checkpoint"]["error"])
    assert "test" not in metrics["best_checkpoint"] and "val" not in metrics["best_checkpoint"]
    assert (result.run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (result.run_dir / STATE_FILE).exists()


def test_a_run_without_validation_monitors_the_training_loss(small_splits, tmp_path):
    splits = Splits(small_splits.x_train, small_splits.y_train, None, None, small_splits.x_test, small_splits.y_test)
    config = TASK.config("seeds-final", epochs=2, verbose=0, name="no-val", runs_dir=str(tmp_path),
                         validation="none", checkpoint={"save_weights_only": True})
    result = train(config, splits=splits)
    assert set(result.history) == {"loss", "accuracy", "learning_rate"}
    assert {p.name for p in result.run_dir.iterdir()} == RUN_FILES - {"best.keras"} | {"best.weights.h5"}
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "loss" and result.config.early_stopping.monitor == "loss"
    assert metrics["best_epoch"] == int(np.argmin(result.history["loss"]))
    assert "val" not in metrics and set(metrics["test"]) == {"loss", "accuracy"}
    assert "best_checkpoint" not in metrics  # weights only: no model to evaluate on its own
    # Early stopping put back the weights of the lowest loss, which the checkpoint kept too.
    best = load_weights(build_model("dnn", dropout=0.3), result.run_dir / "best.weights.h5")
    for b, f in zip(best.get_weights(), result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(b, f)
