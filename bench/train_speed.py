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
``steps_per_execution=50``, the preset before issue 9) is timed too, and so is
the arithmetic floor: the same 1,500 updates per epoch as one compiled
``lax.scan`` in plain JAX, with nothing else (``floor_pipeline``). Issue 9 reads
0.2x the seeds' time as "within 2x of the arithmetic floor"; the summary gives
both ratios, since on this machine 0.2x the seeds' time is below the floor.

The baseline is the seeds' code as they write it: float64 inputs from
``/ 255.0``, ``train_test_split(test_size=0.2, random_state=42)``, ``model_fn``.
The one thing changed is where the arrays come from (Keras' loader would
download them; nnlab's loader returns the same arrays offline). Each training
runs in a fresh Python process (nnlab's JAX settings stay out of the
baseline's), the four alternating, so that load from other programs falls on
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
import numpy as np

from record import save_result

SIDES = ("seeds", "nnlab", "nnlab-1step", "floor")  # the baseline, the preset, one compiled step per batch, arithmetic
FLOOR_EPOCHS = 4  # the floor side has no early stopping; its seconds per epoch are all it gives
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


def floor_pipeline(epochs, seed, workdir):
    """E10's arithmetic alone, in plain JAX: every epoch one compiled ``lax.scan`` over 1,500 batches of 32.

    The same shapes and updates as the preset (shuffle, Dense(100, relu), dropout 0.3, Dense(10), softmax
    cross-entropy, Adam 1e-3), nothing else: no validation, metrics, callbacks, checkpoints or Keras. It
    stands for the fastest that XLA's CPU kernels run those 1,500 updates; JAX only (the floor of the
    default backend).
    """
    import jax
    import jax.numpy as jnp

    from nnlab.core.training import enable_straight_line_random
    from nnlab.fashion.data import load_splits

    enable_straight_line_random()  # the dropout masks' hash as the preset compiles it
    splits = load_splits()
    x = jnp.asarray(splits.x_train.reshape(len(splits.x_train), -1), jnp.float32)
    y = jnp.asarray(splits.y_train, jnp.int32)
    steps = len(x) // 32
    k1, k2, key = jax.random.split(jax.random.key(seed), 3)
    glorot = jax.nn.initializers.glorot_uniform()
    params = {"w1": glorot(k1, (784, 100)), "b1": jnp.zeros(100), "w2": glorot(k2, (100, 10)), "b2": jnp.zeros(10)}

    def loss(p, xb, yb, k):
        hidden = jax.nn.relu(xb @ p["w1"] + p["b1"])
        hidden = jnp.where(jax.random.bernoulli(k, 0.7, hidden.shape), hidden / 0.7, 0.0)
        log_probs = jax.nn.log_softmax(hidden @ p["w2"] + p["b2"])
        return -jnp.mean(jnp.take_along_axis(log_probs, yb[:, None], axis=1))

    def step(carry, rows):  # one batch of 32: its rows gathered here, not a shuffled copy of the data
        p, m, v, t, k = carry
        g = jax.grad(loss)(p, jnp.take(x, rows, axis=0), jnp.take(y, rows, axis=0),
                           jax.random.fold_in(k, t.astype(jnp.uint32)))
        t = t + 1
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        rate = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        p = jax.tree.map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + 1e-7), p, m, v)
        return (p, m, v, t, k), None

    @jax.jit
    def epoch(carry, perm):
        return jax.lax.scan(step, carry, perm.reshape(steps, 32))[0]

    zeros = jax.tree.map(jnp.zeros_like, params)
    carry = (params, zeros, zeros, jnp.zeros((), jnp.float32), key)
    rng, seconds = np.random.default_rng(seed), []
    for _ in range(min(epochs, FLOOR_EPOCHS)):
        start = time.perf_counter()
        carry = jax.block_until_ready(epoch(carry, jnp.asarray(rng.permutation(len(x))[:steps * 32])))
        seconds.append(time.perf_counter() - start)
    p = carry[0]
    hidden = jax.nn.relu(jnp.asarray(splits.x_val.reshape(len(splits.x_val), -1)) @ p["w1"] + p["b1"])
    val_acc = float(jnp.mean(jnp.argmax(hidden @ p["w2"] + p["b2"], axis=1) == jnp.asarray(splits.y_val)))
    return seconds, val_acc, []


def run_side(side, epochs, seed):
    """One training in this (fresh) process: (seconds of each epoch, final val accuracy, val accuracy curve, total s)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        if side == "seeds":
            out = seeds_pipeline(epochs, seed, workdir)
        elif side == "floor":
            out = floor_pipeline(epochs, seed, workdir)
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
                f"batch: {mean['nnlab-1step']:.2f}); the arithmetic alone (plain JAX scan): {mean['floor']:.2f} "
                f"s/epoch, so nnlab runs at {mean['nnlab'] / mean['floor']:.1f}x the floor and 0.2x the seeds "
                f"would be {0.2 * mean['seeds'] / mean['floor']:.2f}x it; val accuracy {acc['nnlab']:.4f} vs "
                f"{acc['seeds']:.4f} ({len(rows)} seeds); load average {statistics.mean(loads):.1f}",
        settings={"epochs": args.epochs, "repeats": args.repeats, "batch_size": 32},
        details={"rows": rows, "load_average": loads})


if __name__ == "__main__":
    main()
