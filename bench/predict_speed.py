"""Benchmark: batch prediction throughput of the model the lucky-bag service serves by default.

    .venv/bin/python bench/predict_speed.py                    # a freshly built cnn-fast (same layers, same cost)
    .venv/bin/python bench/predict_speed.py --run runs/<run>   # a trained run folder's final.keras

Writes bench/results/predict_speed.json.

Claim: the served model (the ``cnn-fast`` preset's run folder when present)
classifies >= 20,000 Fashion-MNIST images per second in batches on 2 CPU cores.
The figure is ``model.predict`` on the 10,000 test images at ``--batch-size``
(median of ``--repeats`` passes after one warm-up pass that compiles); the
baseline, measured in the same run, is the same model through Keras' default
``predict`` batch of 32. The seeds' E10 dense model is timed too, for scale.
Throughput does not depend on the weights, so an untrained model gives the same figure.
"""

import argparse
import os
import statistics
import time

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import keras
import numpy as np

from nnlab.core.saving import load_model
from nnlab.fashion.data import load_splits
from nnlab.fashion.models import build_model
from record import save_result

TARGET = 20_000  # images per second


def throughput(model, images, batch_size, repeats):
    """Median images per second of ``model.predict`` over ``repeats`` passes (one warm-up pass first)."""
    model.predict(images, batch_size=batch_size, verbose=0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(images, batch_size=batch_size, verbose=0)
        rates.append(len(images) / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run folder whose final.keras to time (default: a fresh cnn-fast)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    images = load_splits().x_test  # (10000, 28, 28) float32 in 0..1
    if args.run:
        model, name = load_model(os.path.join(args.run, "final.keras")), args.run
    else:
        keras.utils.set_random_seed(42)
        model, name = build_model("cnn-fast"), "cnn-fast (untrained)"
    ours = throughput(model, images, args.batch_size, args.repeats)
    base = throughput(model, images, 32, max(1, args.repeats // 2))
    dense = throughput(build_model("dnn", dropout=0.3), images, args.batch_size, args.repeats)
    load = round(os.getloadavg()[0], 2)
    print(f"{name}: {ours:,.0f} images/s at batch {args.batch_size}, {base:,.0f} at batch 32; "
          f"E10 dense model: {dense:,.0f} images/s at batch {args.batch_size}; load average {load}")
    save_result(
        "predict_speed",
        claim=f"the served model (cnn-fast) predicts >= {TARGET:,} images/s in batches",
        figure=(ours, "images/s"), baseline=(base, "images/s"), met=ours >= TARGET,
        summary=f"{ours:,.0f} images/s at batch {args.batch_size} vs {base:,.0f} at Keras' default batch 32 "
                f"(E10 dense model: {dense:,.0f}); load average {load}",
        settings={"model": name, "batch_size": args.batch_size, "repeats": args.repeats, "images": len(images)},
        details={"e10_dense_images_per_s": dense, "load_average": load,
                 "params": int(model.count_params()), "dtype": str(np.asarray(images).dtype)})


if __name__ == "__main__":
    main()
