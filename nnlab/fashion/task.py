"""The Fashion-MNIST classifier as a task of the core: data, models, presets, one softmax output.

    >>> from nnlab.fashion.task import TASK
    >>> from nnlab.core.training import train
    >>> result = train(TASK.config("seeds-final", epochs=3))

One output, ``class`` (softmax over the ten classes, sparse categorical
cross-entropy, accuracy), so Keras logs ``loss``, ``accuracy``, ``val_loss`` and
``val_accuracy``, as in the seeds.
"""

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.task import Task
from nnlab.fashion import data, models
from nnlab.fashion.config import PRESETS, FashionConfig


class FashionTask(Task):
    name = "fashion"
    outputs = (data.CLASS_OUTPUT,)
    config_class = FashionConfig
    presets = PRESETS
    models = models.MODELS

    def load_data(self, config, preprocessing=None):
        # pixels / 255 needs nothing fitted: ``preprocessing`` is always None here
        return data.load_splits(config.data_dir, validation=config.validation, limit=config.limit)

    def build_model(self, config):
        return models.build_model(config.model, config.api, config.dropout)

    def expand_model(self, values):
        """``model: dnn`` (with the run's dropout and api) -> its spec, so ``model.hidden=[...]`` changes dnn."""
        spec = models.spec_for(values["model"], values.get("dropout"), values.get("api"))
        values = {key: value for key, value in values.items() if key not in ("dropout", "api")}
        return {**values, "model": spec.model_dump(mode="json")}

    def fold_model(self, values):
        """``--dropout``/``--api`` over a model given as settings set ``model.dropout``/``model.api``."""
        if isinstance(values.get("model"), dict):
            values = {**values, "model": dict(values["model"])}
            if values.get("dropout") is not None:
                values["model"]["dropout"] = values["dropout"]
            if values.get("api") not in (None, "sequential"):  # the default API is every config's: not a choice
                values["model"]["api"] = values["api"]
            values = {key: value for key, value in values.items() if key not in ("dropout", "api")}
        return values

    def adapt_inputs(self, model, x):
        """Reshape images to the model's input shape, e.g. (N, 28, 28) -> (N, 784) for the seeds' E2 model."""
        try:
            shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
        except (AttributeError, ValueError):
            shape = None  # subclassed models have no symbolic input
        if shape is None or None in shape or tuple(x.shape[1:]) == shape:
            return x
        if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
            raise NnlabError(f"model '{model.name}' expects inputs of shape {shape}, "
                             f"got images of shape {tuple(x.shape[1:])}.")
        return x.reshape((len(x), *shape))


    def calibrate_extras(self, run_dir, config, splits, calibrated, **options):
        """The "not an item" detector and its threshold (nnlab.fashion.ood): ood.keras, calibration.json's "ood".

        ``options``: ``images`` and ``photos``, as ``nnlab.fashion.ood.fit_run`` takes them."""
        from nnlab.core.evaluation import predict
        from nnlab.fashion.ood import fit_run

        return fit_run(run_dir, splits, seed=config.seed, predict=lambda x: predict(calibrated, x, self), **options)


TASK = FashionTask()
