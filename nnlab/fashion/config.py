"""The Fashion-MNIST run config and its presets.

:class:`FashionConfig` adds to the core's settings what only this system has: the
model preset and the Keras API that builds it, dropout, the validation split, the
data folder and a sample limit for quick runs. Defaults are the seeds': the
``dnn`` model, RMSprop, batch 32, 5 epochs, the 80/20 split with random_state=42.
The named presets are YAML files shipped in ``nnlab/presets/fashion/`` (``nnlab config
show seeds-final`` prints one resolved).

    >>> from nnlab.fashion.task import TASK
    >>> TASK.config("seeds-final").early_stopping.patience
    2
"""

from typing import Annotated, Literal

from pydantic import Field, model_validator

from nnlab.core.config import RunConfig
from nnlab.core.config_sources import load_presets
from nnlab.core.errors import NnlabError
from nnlab.fashion.models import APIS, MODELS

VALIDATIONS = ("seeds", "stratified", "none")


class FashionConfig(RunConfig):
    FLAGS = {**RunConfig.FLAGS, "api": "--api", "dropout": "--dropout", "validation": "--validation",
             "save_format": "--save-format", "limit": "--limit", "data_dir": "--data-dir",
             "optimizer.momentum": "--momentum", "optimizer.nesterov": "--nesterov",
             "optimizer.schedule": "--schedule", "checkpoint.enabled": "--checkpoint",
             "checkpoint.save_best_only": "--save-best-only", "checkpoint.save_weights_only": "--save-weights-only",
             "early_stopping.patience": "--early-stopping", "early_stopping.restore_best_weights": "--restore-best",
             "early_stopping.min_delta": "--min-delta"}

    task: str = "fashion"
    model: Literal[MODELS] = "dnn"
    api: Literal[APIS] = "sequential"  # how the model is built: sequential, functional or subclass
    dropout: Annotated[float, Field(ge=0, lt=1)] | None = None  # None: the model's own (0 for dnn, 0.5 mnist-512)
    validation: Literal[VALIDATIONS] = "seeds"  # seeds: train_test_split(0.2, random_state=42); stratified; none
    limit: Annotated[int, Field(ge=1)] | None = None  # keep only the first N samples of each split (quick runs)
    data_dir: str | None = None

    def has_validation(self):
        return self.validation != "none"

    @model_validator(mode="after")
    def _h5_holds_the_model(self):
        if self.save_format == "h5" and self.api == "subclass":
            raise NnlabError("--save-format h5 cannot hold a subclassed model (Keras' legacy format only restores "
                             "Sequential and Functional models); use --save-format keras or --api functional.")
        return self


# Named run presets (nnlab/presets/fashion/*.yaml). The seeds' final pipeline (E10) is the main job.
PRESETS = load_presets("fashion")
