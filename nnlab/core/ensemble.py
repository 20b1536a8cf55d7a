"""Model stage, shared: an ensemble of M networks trained side by side in one ``fit``, averaged at inference.

An independently trained second network is the surest way past a single model's ceiling
(two Fashion-MNIST CNNs averaged: about half a point of accuracy), but training them one
after the other doubles every step of a run. :class:`Ensemble` holds M member models and
trains them in the same steps on the same batches: each member gets its own loss (the
compiled loss of its own prediction, averaged over members), so the members learn as if
trained alone, from their own initial weights and their own augmentation draws. At
inference (``predict``, ``evaluate``, validation, serving) the model gives the mean of the
members' probabilities, one output as a single model gives; every nnlab command (and
calibration, which wraps the model) takes it as any other model.

    >>> import keras
    >>> from nnlab.core.ensemble import Ensemble
    >>> def member():
    ...     return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    >>> model = Ensemble([member(), member()])
    >>> tuple(model(keras.ops.ones((5, 4))).shape)                    # inference: the mean
    (5, 3)
    >>> tuple(model(keras.ops.ones((5, 4)), training=True).shape)     # training: one per member
    (5, 2, 3)

It is a ``keras.Model`` subclass registered with Keras (``nnlab>Ensemble``): a ``.keras``
file of it loads wherever nnlab is imported. One output per member (a class probability
vector); multi-output members are refused.
"""

import keras
from keras import ops

from nnlab.core.errors import NnlabError


@keras.saving.register_keras_serializable(package="nnlab")
class Ensemble(keras.Model):
    """``members`` (Keras models with one output each) trained side by side; their mean at inference."""

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        if len(members) < 2:
            raise NnlabError(f"an ensemble needs at least 2 members; got {len(members)}.")
        self.members = list(members)

    def call(self, inputs, training=False):
        outputs = [member(inputs, training=training) for member in self.members]
        if any(isinstance(output, (list, tuple, dict)) for output in outputs):
            raise NnlabError("ensemble members must have one output each; these have several.")
        stacked = ops.stack(outputs, axis=1)  # (batch, members, ...)
        return stacked if training else ops.mean(stacked, axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None or len(y_pred.shape) < 3 or not training:
            return super().compute_loss(x, y, y_pred, sample_weight, training)
        # Each member's own loss (the compiled loss and any layer losses), averaged: the gradient
        # a member gets is what training it alone would give it, divided by M.
        count = len(self.members)
        total = sum(super(Ensemble, self).compute_loss(x, y, y_pred[:, index], sample_weight, training)
                    for index in range(count))
        return total / count

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if y_pred is not None and len(y_pred.shape) >= 3:  # training: the metrics of the members' mean
            y_pred = ops.mean(y_pred, axis=1)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def compute_output_shape(self, input_shape):
        return self.members[0].compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(),
                "members": [keras.saving.serialize_keras_object(member) for member in self.members]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        members = [keras.saving.deserialize_keras_object(member) for member in config.pop("members")]
        return cls(members, **config)
