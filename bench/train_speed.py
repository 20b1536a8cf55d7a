"""Benchmark: the seeds' final pipeline (E10) as plain Keras vs through nnlab, same backend, same run.

    .venv/bin/python bench/train_speed.py            # or: make bench
    .venv/bin/python bench/train_speed.py --epochs 20 --repeats 3

Writes bench/results/train_speed.json (the README's table is made from it).

Claim: nnlab trains the seeds' final pipeline (Flatten -> Dense(100, relu) ->
Dropout(0.3) -> Dense(10, softmax), Adam, batch 32, validation every epoch,
ModelCheckpoint best-only + EarlyStopping(patience=2, restore_best_weights=True))
in at most 0.2x the seconds per epoch of the seeds' own code, at the same
validation accuracy (within 0.5 point). The preset runs 50 batches of 32 per
compiled step (``scan_batches=50``: one ``jax.lax.scan``, the same updates);
nnlab with one compiled step per batch (``scan_batches=1``,
``steps_per_execution=50``, the preset before issue 9) is timed too.

The baseline is the seeds' code as they write it: float64 inputs from
``/ 255.0``, ``train_test_split(test_size=0.2, random_state=42)``, ``model_fn``.
The one thing changed is where the arrays come from (Keras' loader would
download them; nnlab's loader returns the same arrays offline). Each training
runs in a fresh Python process (nnlab's JAX settings stay out of the
baseline's), the three alternating, so that load from other programs falls on
all of them alike. Seconds per epoch leave out epoch 0, which includes JIT
compilation in both.
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import keras

from record import save_result

SIDES = ("seeds", "nnlab", "nnlab-1step")  # the baseline, the preset, the preset with one compiled step per batch
ONE_STEP = {"scan_batches": 1, "steps_per_execution": 50}


def seeds_pipeline(epochs, seed, workdir):
    """The seeds' E10 code, verbatim apart from the data source."""
    from sklearn.model_selection import train_test_split

    from nnlab.core.callbacks import EpochTimer
    from nnlab.fashion.data import load_fashion_mnist

    keras.utils.set_random_seed(seed)
    (train_input, train_target), (test_input, test_target) = load_fashion_mnist()
    train_scaled = train_input / 255.0
    train_scaled, val_scaled, train_target, val_target = train_test_split(
        train_scaled, train_target, test_size=0.2, random_state=42)

    def model_fn(a_layer=None):
        model = keras.Sequential()
        model.add(keras.layers.Input(shape=(28, 28)))  # Keras 3 spelling of Flatten(input_shape=(28, 28))
        model.add(keras.layers.Flatten())
        model.add(keras.layers.Dense(100, activation="relu"))
        if a_layer:
            model.add(a_layer)
        model.add(keras.layers.Dense(10, activation="softmax"))
        return model

    model = model_fn(keras.layers.Dropout(0.3))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    checkpoint_cb = keras.callbacks.ModelCheckpoint(str(workdir / "best-model.keras"), save_best_only=True)
    early_stopping_cb = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    timer = EpochTimer()
    history = model.fit(train_scaled, train_target, epochs=epochs, verbose=0,
                        validation_data=(val_scaled, val_target),
                        callbacks=[checkpoint_cb, early_stopping_cb, timer])
    _, val_accuracy = model.evaluate(val_scaled, val_target, verbose=0)
    return timer.seconds, val_accuracy, history.history["val_accuracy"]


def nnlab_pipeline(epochs, seed, workdir, **overrides):
    from nnlab.core.callbacks import EpochTimer
    from nnlab.core.training import train
    from nnlab.fashion.data import load_splits
    from nnlab.fashion.task import TASK

    splits = load_splits()  # loaded before the timed part, like the seeds' notebook cell
    config = TASK.config("seeds-final", epochs=epochs, seed=seed, verbose=0, runs_dir=str(workdir / "runs"),
                         **overrides)
    timer = EpochTimer()
    result = train(config, splits=splits, extra_callbacks=[timer])
    return timer.seconds, result.metrics["val"]["accuracy"], result.history["val_accuracy"]


def run_side(side, epochs, seed):
    """One training in this (fresh) process: (seconds of each epoch, final val accuracy, val accuracy curve, total s)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        if side == "seeds":
            out = seeds_pipeline(epochs, seed, workdir)
        else:
            out = nnlab_pipeline(epochs, seed, workdir, **(ONE_STEP if side == "nnlab-1step" else {}))
        return (*out, time.perf_counter() - start)


def in_fresh_process(*args):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_side, *args).result()


def per_epoch(seconds):
    return statistics.mean(seconds[1:] if len(seconds) > 1 else seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="maximum epochs (early stopping may end sooner)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each pipeline, seeds 42, 43, ...")
    args = parser.parse_args()

    rows, loads = [], []
    for i in range(args.repeats):
        seed = 42 + i
        row = {"seed": seed}
        for side in SIDES if i % 2 == 0 else SIDES[::-1]:  # alternate the order
            seconds, val_acc, curve, total = in_fresh_process(side, args.epochs, seed)
            row[side] = {"s_per_epoch": per_epoch(seconds), "epochs": len(seconds), "val_acc": val_acc,
                         "total_s": total, "epoch_seconds": seconds, "val_accuracy": curve}
            loads.append(os.getloadavg()[0])
        rows.append(row)

    print(f"backend: {keras.backend.backend()}, keras {keras.__version__}, 48,000 train / 12,000 val images, "
          f"batch 32; load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'seed':>4}" + "".join(f"  {side + ' s/epoch':>19} {'epochs':>6} {'val acc':>7}" for side in SIDES)
          + f"  {'ratio':>6}")
    for row in rows:
        print(f"{row['seed']:>4}" + "".join(f"  {row[side]['s_per_epoch']:>19.3f} {row[side]['epochs']:>6} "
                                           f"{row[side]['val_acc']:>7.4f}" for side in SIDES)
              + f"  {row['nnlab']['s_per_epoch'] / row['seeds']['s_per_epoch']:>6.3f}")
    mean = {side: statistics.mean(row[side]["s_per_epoch"] for row in rows) for side in SIDES}
    acc = {side: statistics.mean(row[side]["val_acc"] for row in rows) for side in SIDES}
    ratio = mean["nnlab"] / mean["seeds"]
    acc_gap = abs(acc["seeds"] - acc["nnlab"])
    save_result(
        "train_speed",
        claim="the seeds' E10 pipeline through nnlab takes <= 0.2x the seconds per epoch of the seeds' own "
              "Keras code, at the same val accuracy (+-0.5 point)",
        figure=(mean["nnlab"], "s/epoch"), baseline=(mean["seeds"], "s/epoch"), met=ratio <= 0.2 and acc_gap <= 0.005,
        summary=f"{mean['nnlab']:.2f} vs {mean['seeds']:.2f} s/epoch, ratio {ratio:.2f} (one compiled step per "
                f"batch: {mean['nnlab-1step']:.2f}); val accuracy {acc['nnlab']:.4f} vs {acc['seeds']:.4f} "
                f"({len(rows)} seeds); load average {statistics.mean(loads):.1f}",
        settings={"epochs": args.epochs, "repeats": args.repeats, "batch_size": 32},
        details={"rows": rows, "load_average": loads})


if __name__ == "__main__":
    main()
