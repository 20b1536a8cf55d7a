"""Benchmark: accuracy through the photo path on shop-like photos, against the same items' 28x28 originals.

    .venv/bin/python bench/photo_robustness.py                       # runs/bench-cnn-fast and runs/bench-seeds-final
    .venv/bin/python bench/photo_robustness.py --served runs/<run> --seeds-final runs/<run> --n 500

Writes bench/results/photo_robustness.json.

Claim: on photos made by ``nnlab/fashion/photoset_independent.py`` (a generator that the
training augmentation and nnlab's own ``photoset.py`` do not share: 19 file kinds and
modes, light, dark, tinted, gradient, vignette and transparent backdrops, coloured items,
drop shadows, rotations of up to 8 degrees, the item filling 35-95 % of a 300-1000 px
frame), the served default (``cnn-fast``) loses at most 2 points of accuracy through the
photo path against the same test images' 28x28 originals, and ``seeds-final`` (E10, the
seeds' recipe unchanged) at most 3. Two photo sets, each of ``--n`` test images with its
own seed (set 1: the first n test images, seed 1; set 2: the next n, seed 2); the figure
is the served model's accuracy on both sets' photos, the baseline its accuracy on the same
images' originals, the ratio photo / original. Missing runs are trained first
(``runs/bench-cnn-fast`` is what ``make bench-serve`` trains, ``runs/bench-seeds-final``
takes about a minute).
"""

import argparse
import collections
import time
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import numpy as np

from nnlab.core.evaluation import predict
from nnlab.core.saving import load_model
from nnlab.fashion.data import load_fashion_mnist
from nnlab.fashion.photos import load_photo
from nnlab.fashion.photoset_independent import make_set
from nnlab.fashion.task import TASK
from record import save_result

GOALS = {"served": 2.0, "seeds-final": 3.0}  # points of accuracy lost through the photo path, at most
SETS = ((1, 0), (2, 1))  # (seed, block): set k holds test images block * n .. (block + 1) * n - 1


def run_model(run_dir, preset):
    """The run's final model; the run is trained first (full preset, ``--name`` its folder) when missing."""
    run_dir = Path(run_dir)
    if not (run_dir / "final.keras").exists():
        from nnlab.core.training import train

        print(f"training {run_dir} (--preset {preset}) ...")
        train(TASK.config(preset, name=run_dir.name, runs_dir=str(run_dir.parent), verbose=2))
    return load_model(run_dir / "final.keras")


def photo_sets(n):
    """``[(name, photo inputs (n, 28, 28), originals (n, 28, 28) in 0..1, labels, kinds)]`` for both sets."""
    _, (x_test, y_test) = load_fashion_mnist()
    sets = []
    for seed, block in SETS:
        images, labels = x_test[block * n:(block + 1) * n], y_test[block * n:(block + 1) * n]
        start = time.perf_counter()
        photos = make_set(images, seed=seed)
        inputs = np.stack([load_photo(data, name=name) for name, data, _ in photos])
        print(f"set {seed}: {n} photos made and read in {time.perf_counter() - start:.0f} s")
        sets.append((f"set {seed}", inputs, images.astype(np.float32) / 255, labels,
                     [habits.kind for _, _, habits in photos], [habits.backdrop for _, _, habits in photos]))
    return sets


def score(model, sets):
    """Per set: accuracy on photos and originals, and photo accuracy per file kind and per backdrop."""
    rows = {}
    for name, inputs, originals, labels, kinds, backdrops in sets:
        hit_photo = np.argmax(predict(model, inputs, TASK), axis=-1) == labels
        hit_original = np.argmax(predict(model, originals, TASK), axis=-1) == labels
        by = collections.defaultdict(list)
        for hit, kind, backdrop in zip(hit_photo, kinds, backdrops):
            by[kind].append(hit)
            by[f"backdrop {backdrop}"].append(hit)
        rows[name] = {"photos": float(hit_photo.mean()), "originals": float(hit_original.mean()),
                      "by_habit": {key: round(float(np.mean(v)), 3) for key, v in sorted(by.items())}}
    rows["both"] = {key: float(np.mean([rows[name][key] for name, *_ in sets])) for key in ("photos", "originals")}
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--served", default="runs/bench-cnn-fast", help="the served default's run (cnn-fast)")
    parser.add_argument("--seeds-final", default="runs/bench-seeds-final", help="a seeds-final (E10) run")
    parser.add_argument("--n", type=int, default=1000, help="test images per photo set (default 1000)")
    args = parser.parse_args()

    models = {"served": run_model(args.served, "cnn-fast"), "seeds-final": run_model(args.seeds_final, "seeds-final")}
    sets = photo_sets(args.n)
    results, lines, met = {}, [], True
    for key, model in models.items():
        rows = results[key] = score(model, sets)
        gap = 100 * (rows["both"]["originals"] - rows["both"]["photos"])
        met &= gap <= GOALS[key]
        per_set = ", ".join(f"{name} {rows[name]['photos']:.3f} vs {rows[name]['originals']:.3f}"
                            for name, *_ in sets)
        lines.append(f"{key} {rows['both']['photos']:.3f} through photos vs {rows['both']['originals']:.3f} on the "
                     f"originals ({gap:+.1f} points lost; goal <= {GOALS[key]:.0f}; {per_set})")
        print(lines[-1])
        worst = sorted(((v, k) for name, *_ in sets for k, v in rows[name]["by_habit"].items()))[:4]
        print("  weakest habits: " + ", ".join(f"{k} {v:.3f}" for v, k in worst))
    served = results["served"]["both"]
    save_result(
        "photo_robustness",
        claim="on 2 x 1000 photos of test images from an independent generator (19 file kinds and modes, varied "
              "backdrops, colours, shadows, rotations, 35-95 % fill, 300-1000 px), accuracy through the photo path "
              "is within 2 points of the 28x28 originals for the served default (cnn-fast), within 3 for "
              "seeds-final",
        figure=(served["photos"], "accuracy"), baseline=(served["originals"], "accuracy"), met=met,
        summary="; ".join(lines),
        settings={"n": args.n, "sets": [{"seed": seed, "first_test_image": block * args.n} for seed, block in SETS],
                  "served": args.served, "seeds_final": args.seeds_final},
        details=results)


if __name__ == "__main__":
    main()
