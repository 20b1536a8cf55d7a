"""FROZEN REFERENCE, do not edit: nnlab/tickets/models.py (the numeric model; the served model is unchanged) as it was on main at 61ce215, before models became specs (issue 18).

The tests compare every named model built from its spec against this copy: same layers and
configs, same parameter counts, the same initial weights and training history under the same
seed. Only changes from the original: the module docstring, and the Keras subclass TicketClassifier is
not registered with Keras (its registered name belongs to nnlab's class).
"""

import keras
import numpy as np

from nnlab.core.errors import NnlabError

INPUTS = ("title", "text_body", "tags")  # the seeds' input names, in the order of their list
SHARED = "dense"  # the seeds' model.layers[4]: the features every head reads
MODELS = ("functional", "subclass")


def build_triage_model(vocabulary_size=10_000, num_tags=100, num_departments=4, hidden_units=64,
                       name="ticket_classifier"):
    """The seeds' multi-input, multi-output Functional model (uncompiled; weights built)."""
    title = keras.Input(shape=(vocabulary_size,), name="title")
    text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
    tags = keras.Input(shape=(num_tags,), name="tags")
    features = keras.layers.Concatenate(name="concatenate")([title, text_body, tags])
    features = keras.layers.Dense(hidden_units, activation="relu", name=SHARED)(features)
    priority = keras.layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = keras.layers.Dense(num_departments, activation="softmax", name="department")(features)
    return keras.Model(inputs=[title, text_body, tags], outputs=[priority, department], name=name)


def _unpack(inputs):
    """``[title, text_body, tags]`` from a list in the seeds' order or a dict keyed by input name."""
    if isinstance(inputs, dict):
        missing = [name for name in INPUTS if name not in inputs]
        if missing:
            raise NnlabError(f"inputs lack {', '.join(missing)}; expected the keys {', '.join(INPUTS)}.")
        return [inputs[name] for name in INPUTS]
    if len(inputs) != len(INPUTS):
        raise NnlabError(f"expected {len(INPUTS)} inputs ({', '.join(INPUTS)}), got {len(inputs)}.")
    return list(inputs)


class TicketClassifier(keras.Model):
    """The seeds' graph as a ``keras.Model`` subclass: same layers, names and weight order.

    Takes a list (title, text_body, tags) or a dict; returns ``{"priority": ..., "department": ...}``.
    """

    def __init__(self, vocabulary_size=10_000, num_tags=100, num_departments=4, hidden_units=64, **kwargs):
        super().__init__(**kwargs)
        self.sizes = dict(vocabulary_size=vocabulary_size, num_tags=num_tags, num_departments=num_departments,
                          hidden_units=hidden_units)
        self.concatenate = keras.layers.Concatenate(name="concatenate")
        self.shared = keras.layers.Dense(hidden_units, activation="relu", name=SHARED)
        self.priority_head = keras.layers.Dense(1, activation="sigmoid", name="priority")
        self.department_head = keras.layers.Dense(num_departments, activation="softmax", name="department")

    def call(self, inputs):
        parts = [keras.ops.cast(x, "float32") for x in _unpack(inputs)]
        features = self.shared(self.concatenate(parts))  # (batch, 20100) -> (batch, 64)
        return {"priority": self.priority_head(features), "department": self.department_head(features)}

    def get_config(self):
        return {**super().get_config(), **self.sizes}


def build_model(model="functional", vocabulary_size=10_000, num_tags=100, num_departments=4, hidden_units=64):
    """``"functional"``: the seeds' graph; ``"subclass"``: its :class:`TicketClassifier` twin (weights built)."""
    if model not in MODELS:
        raise NnlabError(f"model must be one of {', '.join(MODELS)}; got {model!r}.")
    sizes = dict(vocabulary_size=vocabulary_size, num_tags=num_tags, num_departments=num_departments,
                 hidden_units=hidden_units)
    if model == "functional":
        return build_triage_model(**sizes)
    twin = TicketClassifier(**sizes, name="ticket_classifier")
    twin({"title": np.zeros((1, vocabulary_size), "float32"), "text_body": np.zeros((1, vocabulary_size), "float32"),
          "tags": np.zeros((1, num_tags), "float32")})  # one call creates the weights
    return twin
