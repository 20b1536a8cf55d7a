"""The Fashion-MNIST run config and its presets.

:class:`FashionConfig` adds to the core's settings what only this system has: the
model preset and the Keras API that builds it, dropout, the validation split, the
data folder and a sample limit for quick runs. Defaults are the seeds': the
``dnn`` model, RMSprop, batch 32, 5 epochs, the 80/20 split with random_state=42.

    >>> from nnlab.fashion.task import TASK
    >>> TASK.config("seeds-final").early_stopping.patience
    2
"""

import dataclasses

from nnlab.core.config import RunConfig, at_least, choice
from nnlab.core.errors import NnlabError
from nnlab.fashion.models import APIS, MODELS

VALIDATIONS = ("seeds", "stratified", "none")


@dataclasses.dataclass
class FashionConfig(RunConfig):
    task: str = "fashion"
    model: str = "dnn"  # one of MODELS
    api: str = "sequential"  # how the model is built: sequential, functional or subclass
    dropout: float | None = None  # None: the preset's own (0 for dnn, 0.5 for mnist-512)
    validation: str = "seeds"  # seeds: train_test_split(0.2, random_state=42); stratified; none
    limit: int | None = None  # keep only the first N samples of each split (quick runs)
    data_dir: str | None = None

    def has_validation(self):
        return self.validation != "none"

    def validate(self):
        super().validate()
        choice("--api", self.api, APIS)
        choice("--validation", self.validation, VALIDATIONS)
        if self.save_format == "h5" and self.api == "subclass":
            raise NnlabError("--save-format h5 cannot hold a subclassed model (Keras' legacy format only restores "
                             "Sequential and Functional models); use --save-format keras or --api functional.")
        if self.limit is not None:
            at_least("--limit", self.limit, 1)
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise NnlabError(f"--dropout must be in [0, 1), got {self.dropout}.")
        return self


# Named run presets. The seeds' final pipeline (E10) is the main job.
PRESETS = {
    "logreg": {"model": "logreg"},
    "dnn-sigmoid": {"model": "dnn-sigmoid"},
    "dnn": {"model": "dnn"},
    "dropout": {"model": "dnn", "dropout": 0.3, "optimizer": {"name": "adam"}, "epochs": 20},
    "seeds-final": {
        "model": "dnn", "dropout": 0.3, "optimizer": {"name": "adam"}, "epochs": 20,
        "checkpoint": {"enabled": True, "save_best_only": True},
        "early_stopping": {"patience": 2, "restore_best_weights": True},
        # Batch 32 as the seeds, 50 batches per compiled step (one lax.scan, same updates); one Keras call per
        # step, so the progress bar and Ctrl-C move every 1,600 images (bench/train_speed.py).
        "scan_batches": 50, "steps_per_execution": 1,
    },
    "mnist-512": {
        "model": "mnist-512", "optimizer": {"name": "rmsprop"}, "epochs": 10,
        "checkpoint": {"monitor": "val_loss"},
        "early_stopping": {"monitor": "val_accuracy", "patience": 2},
    },
    "cnn": {
        "model": "cnn", "optimizer": {"name": "adam", "learning_rate": 2e-3, "schedule": "cosine"},
        "epochs": 12, "batch_size": 128,
    },
    # Beyond the seeds (issue 9): >= 0.930 test accuracy in <= 5 minutes on 2 CPU cores, and >= 0.945 in <= 30.
    "cnn-fast": {
        "model": "cnn-fast", "optimizer": {"name": "adam", "learning_rate": 2e-3, "schedule": "cosine"},
        "epochs": 28, "batch_size": 128,
    },
    "cnn-deep": {
        "model": "cnn-deep", "optimizer": {"name": "adam", "learning_rate": 2e-3, "schedule": "cosine"},
        "epochs": 60, "batch_size": 128,
    },
}
