"""Benchmark: the `cnn` preset against the best figure in the seeds, on the test split.

    .venv/bin/python bench/cnn_preset.py

Claim: ``nnlab train --preset cnn`` reaches >= 0.91 test accuracy in <= 10 minutes
of training on a 2-core CPU. The baseline, trained in the same run, is the
seeds' best pipeline (E10: Dense(100) + Dropout(0.3), Adam, EarlyStopping); the
seeds' best reported figure is 0.8885 (E9, validation accuracy).
"""

import tempfile

import nnlab  # noqa: F401

from nnlab.core.training import train
from nnlab.fashion.data import load_splits
from nnlab.fashion.task import TASK
from record import save_result


def main():
    splits = load_splits()
    with tempfile.TemporaryDirectory() as tmp:
        base = train(TASK.config("seeds-final", verbose=0, runs_dir=tmp), splits=splits).metrics
        ours = train(TASK.config("cnn", verbose=0, runs_dir=tmp), splits=splits).metrics
    for name, m in (("baseline seeds-final", base), ("cnn", ours)):
        print(f"{name:>20}: test accuracy {m['test']['accuracy']:.4f}, val accuracy {m['val']['accuracy']:.4f}, "
              f"{m['train_seconds']:.0f} s ({m['epochs_run']} epochs)")
    acc, seconds = ours["test"]["accuracy"], ours["train_seconds"]
    save_result(
        "cnn_preset", claim="`--preset cnn` reaches >= 0.91 test accuracy in <= 10 min of training",
        figure=(acc, "test accuracy"), baseline=(base["test"]["accuracy"], "test accuracy"),
        met=acc >= 0.91 and seconds <= 600,
        summary=f"{acc:.3f} in {seconds:.0f} s ({ours['epochs_run']} epochs); seeds-final baseline: "
                f"{base['test']['accuracy']:.3f} in {base['train_seconds']:.0f} s",
        settings={"preset": "cnn", "baseline": "seeds-final", "seed": 42},
        details={"cnn": {k: ours[k] for k in ("val", "test", "train_seconds", "epochs_run", "seconds_per_epoch")},
                 "baseline": {k: base[k] for k in ("val", "test", "train_seconds", "epochs_run",
                                                   "seconds_per_epoch")}})


if __name__ == "__main__":
    main()
