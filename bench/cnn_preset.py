"""Benchmark: the `cnn` preset against the best figure in the seeds, on the test split.

    .venv/bin/python bench/cnn_preset.py

Claim: ``nnlab train --preset cnn`` reaches >= 0.91 test accuracy in <= 10 minutes
of training on a 2-core CPU. The baseline, trained in the same run, is the
seeds' best pipeline (E10: Dense(100) + Dropout(0.3), Adam, EarlyStopping); the
seeds' best reported figure is 0.8885 (E9, validation accuracy).
"""

import tempfile

import nnlab  # noqa: F401

from nnlab.config import from_preset
from nnlab.data import load_splits
from nnlab.training import train


def main():
    splits = load_splits()
    with tempfile.TemporaryDirectory() as tmp:
        base = train(from_preset("seeds-final", verbose=0, runs_dir=tmp), splits=splits).metrics
        ours = train(from_preset("cnn", verbose=0, runs_dir=tmp), splits=splits).metrics
    print("claim: cnn preset >= 0.91 test accuracy in <= 600 s of training (2 CPU cores)")
    for name, m in (("baseline seeds-final", base), ("cnn", ours)):
        print(f"{name:>20}: test accuracy {m['test']['accuracy']:.4f}, val accuracy {m['val']['accuracy']:.4f}, "
              f"{m['train_seconds']:.0f} s ({m['epochs_run']} epochs)")
    gain = ours["test"]["accuracy"] - base["test"]["accuracy"]
    met = ours["test"]["accuracy"] >= 0.91 and ours["train_seconds"] <= 600
    print(f"cnn - baseline: {gain:+.4f} test accuracy; time ratio {ours['train_seconds'] / base['train_seconds']:.2f}; "
          f"{'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
