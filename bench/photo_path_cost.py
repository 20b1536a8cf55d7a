"""Benchmark: CPU per photo of ``load_photo`` (decoding + the recipe) against the code before, and the same answers.

    .venv/bin/python bench/photo_path_cost.py                                   # runs/cnn-fast's model
    .venv/bin/python bench/photo_path_cost.py --model runs/<run>/calibrated.keras --n 200 --rounds 2

Writes bench/results/photo_path_cost.json.

Claim (issue 16, "Photos at the shop's pace"): ``load_photo`` takes at most half the CPU it
took before on shop photos (300-1000 px JPEG, PNG and WebP: bench/serve_photos.py's
``shop_photos``), with the same answers: on photos of the first ``--n`` test images from
each of the two generators (nnlab/fashion/photoset.py and the independent
photoset_independent.py), the model inputs differ by little (max and mean absolute
difference of the 28x28 arrays are printed), the model gives the same class on >= 99.5 % of
them, and its accuracy moves by at most 0.2 points.

Baseline, measured in the same run on the same files: nnlab/fashion/photos.py as it was
before (commit ``BEFORE``, read with ``git show`` and imported as a module of its own).
CPU time (time.process_time: every thread of this process, and other programs' load on this
shared machine does not count), old and new taking turns photo by photo, so that the cache
and the clock speed treat both alike.
"""

import argparse
import collections
import subprocess
import sys
import time
import types
from pathlib import Path

import nnlab  # noqa: F401  picks the backend (JAX unless KERAS_BACKEND is set)

import numpy as np

from record import save_result

BEFORE = "a97914be204328bd532411e0d613354bf59460fa"  # main before the photo path was made cheaper
ROOT = Path(__file__).resolve().parent.parent
GOALS = {"speedup": 2.0, "same_class": 0.995, "accuracy_points": 0.2}
SETTINGS = {"shop_photos": 48, "rounds": 3, "n": 1000, "photoset_seed": 0, "independent_seed": 1}


def before_module():
    """nnlab/fashion/photos.py at commit BEFORE, as a module (``photos_before``)."""
    source = subprocess.run(["git", "show", f"{BEFORE}:nnlab/fashion/photos.py"], capture_output=True, text=True,
                            cwd=ROOT, check=True).stdout
    module = types.ModuleType("photos_before")
    module.__file__ = f"git:{BEFORE[:7]}:nnlab/fashion/photos.py"
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up by name
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def cpu_ms(function, *args, **kwargs):
    """(result, CPU milliseconds) of one call."""
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, 1000 * (time.process_time() - start)


def compare(old, new, files, rounds=1):
    """Both modules' load_photo on every ``(name, bytes, kind)``, taking turns: inputs and CPU ms per kind.

    Returns ``(old inputs (N, 28, 28), new inputs, {kind: [old ms, ...]}, {kind: [new ms, ...]},
    old recipe ms, new recipe ms)``; the recipe (``fashion_input`` on the decoded picture) is timed apart.
    """
    inputs = {"old": [], "new": []}
    load = {"old": collections.defaultdict(list), "new": collections.defaultdict(list)}
    recipe = {"old": [], "new": []}
    modules = {"old": old, "new": new}
    for round_ in range(rounds):
        for index, (name, data, kind) in enumerate(files):
            order = ("old", "new") if (index + round_) % 2 == 0 else ("new", "old")
            for key in order:
                x, ms = cpu_ms(modules[key].load_photo, data, name=name)
                load[key][kind].append(ms)
                if round_ == 0:
                    inputs[key].append(x)
            for key in order:
                image = modules[key].open_photo(data, name=name)
                recipe[key].append(cpu_ms(modules[key].fashion_input, image)[1])
    return (np.stack(inputs["old"]), np.stack(inputs["new"]), load["old"], load["new"], recipe["old"],
            recipe["new"])


def mean_ms(by_kind):
    return float(np.mean([ms for values in by_kind.values() for ms in values]))


def photo_sets(n):
    """``{name: ([(file name, bytes, kind)], labels)}``: the first n test images through each generator."""
    from nnlab.fashion.data import load_fashion_mnist
    from nnlab.fashion.photoset import make_photos
    from nnlab.fashion.photoset_independent import make_set

    _, (x_test, y_test) = load_fashion_mnist()
    ours = [(p.name, p.data, Path(p.name).suffix) for p in make_photos(x_test[:n], seed=SETTINGS["photoset_seed"])]
    independent = [(name, data, habits.kind)
                   for name, data, habits in make_set(x_test[:n], seed=SETTINGS["independent_seed"])]
    return {"photoset": (ours, y_test[:n]), "photoset_independent": (independent, y_test[:n])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/cnn-fast/calibrated.keras",
                        help="the model whose classes are compared (default runs/cnn-fast/calibrated.keras)")
    parser.add_argument("--n", type=int, default=SETTINGS["n"], help="test images per generator (default 1000)")
    parser.add_argument("--rounds", type=int, default=SETTINGS["rounds"], help="passes over the shop photos")
    parser.add_argument("--work-filter", default=None,
                        help="try another photos.WORK_FILTER (e.g. BICUBIC): printed only, no results file")
    args = parser.parse_args()

    from serve_photos import shop_photos

    from nnlab.core.evaluation import predict
    from nnlab.core.saving import load_model
    from nnlab.fashion import photos as new
    from nnlab.fashion.task import TASK

    old = before_module()
    if args.work_filter:
        new.WORK_FILTER = args.work_filter.upper()
    model = load_model(args.model)

    # 1. CPU per shop photo, by file kind.
    shop = [(name, data, Path(name).suffix) for name, data in shop_photos(SETTINGS["shop_photos"])]
    compare(old, new, shop[:6])  # warm-up: imports, Pillow's plugins, BLAS
    x_old, x_new, load_old, load_new, recipe_old, recipe_new = compare(old, new, shop, args.rounds)
    before_ms, after_ms = mean_ms(load_old), mean_ms(load_new)
    lines = [f"shop photos: load_photo {after_ms:.1f} vs {before_ms:.1f} CPU ms ({before_ms / after_ms:.2f}x less); "
             f"the recipe alone {np.mean(recipe_new):.1f} vs {np.mean(recipe_old):.1f} ms; "
             + ", ".join(f"{kind} {np.mean(load_new[kind]):.1f} vs {np.mean(load_old[kind]):.1f}"
                         for kind in sorted(load_old))]
    print(lines[-1])
    details = {"shop_photos": {"load_photo_cpu_ms": {"after": after_ms, "before": before_ms},
                               "recipe_cpu_ms": {"after": float(np.mean(recipe_new)),
                                                 "before": float(np.mean(recipe_old))},
                               "by_kind_cpu_ms": {kind: {"after": float(np.mean(load_new[kind])),
                                                         "before": float(np.mean(load_old[kind]))}
                                                  for kind in sorted(load_old)},
                               "max_abs_difference": float(np.abs(x_new - x_old).max())}}

    # 2. The same answers, on each generator's photos.
    met = before_ms / after_ms >= GOALS["speedup"]
    for name, (files, labels) in photo_sets(args.n).items():
        start = time.perf_counter()
        x_old, x_new, load_old, load_new, recipe_old, recipe_new = compare(old, new, files)
        old_class = np.argmax(predict(model, x_old, TASK), axis=-1)
        new_class = np.argmax(predict(model, x_new, TASK), axis=-1)
        difference = np.abs(x_new - x_old)
        same = float(np.mean(old_class == new_class))
        accuracy = {"before": float(np.mean(old_class == labels)), "after": float(np.mean(new_class == labels))}
        points = 100 * (accuracy["after"] - accuracy["before"])
        met &= same >= GOALS["same_class"] and abs(points) <= GOALS["accuracy_points"]
        lines.append(f"{name}: same class {same:.2%}, accuracy {accuracy['after']:.3f} vs {accuracy['before']:.3f} "
                     f"({points:+.1f} points), inputs max |diff| {difference.max():.4f} mean {difference.mean():.2e} "
                     f"({np.mean(difference.reshape(len(files), -1).max(axis=1) == 0):.1%} identical); load_photo "
                     f"{mean_ms(load_new):.1f} vs {mean_ms(load_old):.1f} CPU ms")
        print(lines[-1], f"[{time.perf_counter() - start:.0f} s]")
        details[name] = {
            "photos": len(files), "same_class": same, "accuracy": accuracy,
            "max_abs_difference": float(difference.max()), "mean_abs_difference": float(difference.mean()),
            "identical_inputs": float(np.mean(difference.reshape(len(files), -1).max(axis=1) == 0)),
            "load_photo_cpu_ms": {"after": mean_ms(load_new), "before": mean_ms(load_old)},
            "recipe_cpu_ms": {"after": float(np.mean(recipe_new)), "before": float(np.mean(recipe_old))},
            "by_kind_cpu_ms": {kind: {"after": float(np.mean(load_new[kind])), "before": float(np.mean(load_old[kind]))}
                               for kind in sorted(load_old)}}
    if args.work_filter:
        print(f"(WORK_FILTER={new.WORK_FILTER}: not saved)")
        return
    save_result(
        "photo_path_cost",
        claim="load_photo takes at most half the CPU per shop photo (300-1000 px JPEG/PNG/WebP) it took before "
              "(baseline: photos.py at commit a97914b, same run, same files), with the same answers: on 1,000 "
              "photos from each of the two generators the model gives the same class on >= 99.5 % and its "
              "accuracy moves by at most 0.2 points",
        figure=(after_ms, "CPU ms per photo"), baseline=(before_ms, "CPU ms per photo"), met=met,
        summary="; ".join(lines),
        settings={**SETTINGS, "n": args.n, "rounds": args.rounds, "model": args.model, "before": BEFORE},
        details=details)


if __name__ == "__main__":
    main()
