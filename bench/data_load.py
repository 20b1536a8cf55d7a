"""Benchmark: a warm load of Fashion-MNIST from nnlab's cache vs decoding the .gz files.

    .venv/bin/python bench/data_load.py

Claim: ``load_fashion_mnist()`` with a warm cache takes < 0.3 s. The baseline,
measured in the same run, is a cold load (decompress and check the four IDX
files, as Keras' own loader does on every call). Each figure is the median of
five loads, in fresh cache folders for the cold ones.
"""

import os
import statistics
import tempfile
import time

import nnlab  # noqa: F401

from nnlab.fashion import data
from record import save_result


def timed_load():
    start = time.perf_counter()
    data.load_fashion_mnist()
    return time.perf_counter() - start


def main(repeats=5):
    cold = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["NNLAB_CACHE_DIR"] = cache
            cold.append(timed_load())
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NNLAB_CACHE_DIR"] = cache
        timed_load()  # fills the cache
        warm = [timed_load() for _ in range(repeats)]
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    save_result("data_load", claim="a warm `load_fashion_mnist()` takes < 0.3 s",
                figure=(warm_s, "s"), baseline=(cold_s, "s"), met=warm_s < 0.3,
                summary=f"{warm_s:.2f} s warm vs {cold_s:.2f} s cold (median of {repeats})",
                settings={"repeats": repeats}, details={"cold": cold, "warm": warm})


if __name__ == "__main__":
    main()
