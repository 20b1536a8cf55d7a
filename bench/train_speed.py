"""Benchmark: the seeds' final pipeline (E10) as plain Keras vs through nnlab, same backend, same run.

    .venv/bin/python bench/train_speed.py            # or: make bench
    .venv/bin/python bench/train_speed.py --epochs 20 --repeats 3

Writes bench/results/train_speed.json (the README's table is made from it).

Claim: nnlab trains the seeds' final pipeline (Flatten -> Dense(100, relu) ->
Dropout(0.3) -> Dense(10, softmax), Adam, batch 32, validation every epoch,
ModelCheckpoint best-only + EarlyStopping(patience=2, restore_best_weights=True))
in at most 0.2x the seconds per epoch of the seeds' own code, at the same
validation accuracy (within 0.5 point). The same pipeline with 50 batches of 32
per compiled step (``scan_batches=50``: one ``jax.lax.scan``, the same updates
and history) is timed too, in the same run.

The baseline is the seeds' code as they write it: float64 inputs from
``/ 255.0``, ``train_test_split(test_size=0.2, random_state=42)``, ``model_fn``.
The one thing changed is where the arrays come from (Keras' loader would
download them; nnlab's loader returns the same arrays offline). Seconds per
epoch leave out epoch 0, which includes JIT compilation in both.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import keras
from sklearn.model_selection import train_test_split

from nnlab.core.callbacks import EpochTimer
from nnlab.core.training import train
from nnlab.fashion.data import load_fashion_mnist, load_splits
from nnlab.fashion.task import TASK
from record import save_result


def seeds_pipeline(epochs, seed, workdir):
    """The seeds' E10 code, verbatim apart from the data source."""
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
    model.fit(train_scaled, train_target, epochs=epochs, verbose=0,
              validation_data=(val_scaled, val_target),
              callbacks=[checkpoint_cb, early_stopping_cb, timer])
    _, val_accuracy = model.evaluate(val_scaled, val_target, verbose=0)
    return timer.seconds, val_accuracy


def nnlab_pipeline(epochs, seed, workdir, splits, **overrides):
    config = TASK.config("seeds-final", epochs=epochs, seed=seed, verbose=0, runs_dir=str(workdir / "runs"),
                         **overrides)
    timer = EpochTimer()
    result = train(config, splits=splits, extra_callbacks=[timer])
    return timer.seconds, result.metrics["val"]["accuracy"]


def per_epoch(seconds):
    return statistics.mean(seconds[1:] if len(seconds) > 1 else seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="maximum epochs (early stopping may end sooner)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each pipeline, seeds 42, 43, ...")
    args = parser.parse_args()

    splits = load_splits()  # loaded once, outside the timed part, like the seeds' notebook cell
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            seed = 42 + i
            workdir = Path(tmp) / f"seed{seed}"
            workdir.mkdir()
            start = time.perf_counter()
            base_seconds, base_acc = seeds_pipeline(args.epochs, seed, workdir)
            base_total = time.perf_counter() - start
            start = time.perf_counter()
            ours_seconds, ours_acc = nnlab_pipeline(args.epochs, seed, workdir, splits)
            ours_total = time.perf_counter() - start
            step_seconds, _ = nnlab_pipeline(args.epochs, seed, workdir, splits, scan_batches=50,
                                             name=f"scan-{seed}")
            rows.append((seed, per_epoch(base_seconds), len(base_seconds), base_acc, base_total,
                         per_epoch(ours_seconds), len(ours_seconds), ours_acc, ours_total, per_epoch(step_seconds)))

    print(f"backend: {keras.backend.backend()}, keras {keras.__version__}, "
          f"{len(splits.x_train):,} train / {len(splits.x_val):,} val images, batch 32")
    print(f"{'seed':>4}  {'seeds s/epoch':>13} {'epochs':>6} {'val acc':>8}  "
          f"{'nnlab s/epoch':>13} {'epochs':>6} {'val acc':>8}  {'ratio':>6}  {'scan50 s/epoch':>18}")
    for seed, bs, be, ba, _, os_, oe, oa, _, ss in rows:
        print(f"{seed:>4}  {bs:>13.3f} {be:>6} {ba:>8.4f}  {os_:>13.3f} {oe:>6} {oa:>8.4f}  {os_ / bs:>6.3f}  "
              f"{ss:>18.3f}")
    base = statistics.mean(r[1] for r in rows)
    ours = statistics.mean(r[5] for r in rows)
    acc_gap = abs(statistics.mean(r[3] for r in rows) - statistics.mean(r[7] for r in rows))
    ratio = ours / base
    base_acc, ours_acc = statistics.mean(r[3] for r in rows), statistics.mean(r[7] for r in rows)
    save_result(
        "train_speed",
        claim="the seeds' E10 pipeline through nnlab takes <= 0.2x the seconds per epoch of the seeds' own "
              "Keras code, at the same val accuracy (+-0.5 point)",
        figure=(ours, "s/epoch"), baseline=(base, "s/epoch"), met=ratio <= 0.2 and acc_gap <= 0.005,
        summary=f"{ours:.2f} vs {base:.2f} s/epoch, ratio {ratio:.2f} (scan_batches=50: "
                f"{statistics.mean(r[9] for r in rows):.2f}); val accuracy {ours_acc:.4f} vs "
                f"{base_acc:.4f} ({len(rows)} seeds); load average {os.getloadavg()[0]:.1f}",
        settings={"epochs": args.epochs, "repeats": args.repeats, "batch_size": 32},
        details={"rows": [dict(zip(("seed", "seeds_s_per_epoch", "seeds_epochs", "seeds_val_acc", "seeds_total_s",
                                    "nnlab_s_per_epoch", "nnlab_epochs", "nnlab_val_acc", "nnlab_total_s",
                                    "nnlab_scan50_s_per_epoch"), r))
                          for r in rows]})


if __name__ == "__main__":
    main()
