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

from pydantic import Field, field_validator, model_validator

from nnlab.core.config import RunConfig, choice
from nnlab.core.config_sources import load_presets
from nnlab.core.errors import NnlabError
from nnlab.fashion.models import APIS, MODELS, CnnSpec, DenseSpec, FashionModelSpec, parse_spec, spec_for

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
    # A named model, or a model as data: {kind: dense, hidden: [300, 100], activation: tanh, dropout: 0.2, api: ...}
    # or {kind: cnn, convs: [[24, 2], [48, 2]], hidden: [128], augment: {...}, mirror_average: true} (models.py).
    model: Literal[MODELS] | FashionModelSpec = "dnn"
    api: Literal[APIS] = "sequential"  # a named model's Keras API (a spec holds its own: model.api)
    dropout: Annotated[float, Field(ge=0, lt=1)] | None = None  # a named model's; None: its own (0.5 mnist-512)
    validation: Literal[VALIDATIONS] = "seeds"  # seeds: train_test_split(0.2, random_state=42); stratified; none
    limit: Annotated[int, Field(ge=1)] | None = None  # keep only the first N samples of each split (quick runs)
    data_dir: str | None = None

    def has_validation(self):
        return self.validation != "none"

    @field_validator("model", mode="before")
    @classmethod
    def _spec(cls, value):
        """A model given as settings is checked by its spec, whose messages name the field (model.hidden.0)."""
        if isinstance(value, dict):
            return parse_spec(value)
        if not isinstance(value, (DenseSpec, CnnSpec)):
            choice("--model", value, MODELS)
        return value

    @model_validator(mode="after")
    def _h5_holds_the_model(self):
        if not isinstance(self.model, str):  # a spec holds its own dropout and API
            if self.dropout is not None:
                raise NnlabError(f"dropout {self.dropout} is for a named model; this run's model is given as "
                                 f"settings, so set model.dropout={self.dropout} instead.")
        elif self.dropout:  # logreg has no hidden layer to drop units of: refused here, not when training starts
            spec_for(self.model, self.dropout, self.api)
        api = self.api if isinstance(self.model, str) else self.model.api
        if self.save_format == "h5" and api == "subclass":
            raise NnlabError("--save-format h5 cannot hold a subclassed model (Keras' legacy format only restores "
                             "Sequential and Functional models); use --save-format keras or --api functional.")
        return self


# Named run presets (nnlab/presets/fashion/*.yaml). The seeds' final pipeline (E10) is the main job.
PRESETS = load_presets("fashion")
