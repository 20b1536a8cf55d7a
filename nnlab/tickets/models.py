"""The seeds' ticket-triage graph as data (``TriageSpec``), its keras.Model twin, the extra head, the served model.

The seeds' Functional model, with their names and shapes (``build_triage_model``)::

    title (None, 10000) ─┐
    text_body (None, 10000) ─┼─ concatenate (None, 20100) ─ dense (None, 64, relu) ─┬─ priority (None, 1, sigmoid)
    tags (None, 100) ────┘                                                          └─ department (None, 4, softmax)

    >>> from nnlab.tickets.models import TriageSpec, build_model, build_triage_model, add_head
    >>> model = build_triage_model()
    >>> [layer.name for layer in model.layers]
    ['title', 'text_body', 'tags', 'concatenate', 'dense', 'priority', 'department']
    >>> model.count_params()          # 20100*64+64 + 64+1 + 64*4+4
    1286789
    >>> bigger = add_head(model, "difficulty", 3)   # reuses model.get_layer("dense").output

The model is a spec: ``TriageSpec(hidden=[64], activation="relu", dropout=0.0,
api="functional", vocabulary_size=10_000, num_tags=100)`` is the seeds' graph; other
``hidden`` lists stack Dense layers, the last one named ``dense`` (the features every
head reads, which ``add_head`` finds by name), the ones before it ``hidden_1``, ``hidden_2``, ...

    >>> spec = TriageSpec(hidden=[256, 64], dropout=0.2, vocabulary_size=50, num_tags=8)
    >>> [layer.name for layer in build_model(spec).layers]
    ['title', 'text_body', 'tags', 'concatenate', 'hidden_1', 'dropout', 'dense', 'dropout_1', 'priority', 'department']

``TicketClassifier`` is the same graph as a ``keras.Model`` subclass (``api: subclass``);
given the same weights it gives the same outputs. ``TicketTriage`` is what the server
loads: it holds the word and tag vocabularies as Keras ``TextVectorization``/``StringLookup``
layers and a numeric model, and takes raw strings and lists of tags.
"""

from typing import Literal

import keras
import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from nnlab.core.errors import NnlabError
from nnlab.core.specs import ACTIVATIONS, KerasName, Rate, Units, spec_error
from nnlab.tickets.features import pad_tags, tag_layer, word_layer

INPUTS = ("title", "text_body", "tags")  # the seeds' input names, in the order of their list
SHARED = "dense"  # the seeds' model.layers[4]: the features every head reads
MODELS = ("functional", "subclass")
APIS = MODELS  # a ticket model's name is the Keras API that builds it


class TriageSpec(BaseModel):
    """The ticket model: three multi-hot inputs, concatenated -> Dense layers -> priority and department heads.

    ``vocabulary_size`` and ``num_tags`` are the widths of the inputs (the vectorizer's
    multi-hot vectors, slot 0 for unknown words or tags); the number of departments
    comes from the data.

        >>> TriageSpec().describe()
        'concatenate(title, text_body, tags) -> Dense(64, relu) -> priority (1, sigmoid) + department (softmax) [functional]'
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    kind: Literal["triage"] = "triage"
    hidden: list[Units] = Field([64], max_length=32, description="units of each shared Dense layer, in order")
    activation: Literal[ACTIVATIONS] = Field("relu", description="activation of the shared Dense layers")
    dropout: Rate = Field(0.0, description="Dropout rate after each shared Dense layer (0: no Dropout layer)")
    api: Literal[APIS] = Field("functional", description="functional: the seeds' graph; subclass: its twin")
    vocabulary_size: int = Field(10_000, ge=2, description="words, multi-hot (the first slot counts unknown words)")
    num_tags: int = Field(100, ge=2, description="tags, multi-hot (the first slot counts unknown tags)")
    name: KerasName = Field("ticket_classifier", description="the Keras model's name")

    def hidden_names(self):
        """Names of the shared Dense layers: the last is ``dense`` (``SHARED``), the ones before ``hidden_1``, ..."""
        return [f"hidden_{i}" for i in range(1, len(self.hidden))] + [SHARED] if self.hidden else []

    def describe(self):
        dropout = f" -> Dropout({self.dropout})" if self.dropout else ""
        hidden = "".join(f" -> Dense({units}, {self.activation}){dropout}" for units in self.hidden)
        return (f"concatenate(title, text_body, tags){hidden} -> priority (1, sigmoid) + department (softmax) "
                f"[{self.api}]")


TicketModelSpec = TriageSpec  # one kind today; a union with Field(discriminator="kind") when a second comes
SPECS = {"functional": TriageSpec(), "subclass": TriageSpec(api="subclass")}


def parse_spec(value, key="model"):
    """A spec from a spec, a mapping (a settings file's ``model:``) or a name (``functional``, ``subclass``).

        >>> parse_spec({"hidden": [128, 0]})
        Traceback (most recent call last):
        nnlab.core.errors.NnlabError: model.hidden.1 must be greater than or equal to 1; got 0.
    """
    if isinstance(value, TriageSpec):
        return value
    if isinstance(value, str):
        return spec_for(value)
    try:
        return TriageSpec.model_validate(value)
    except pydantic.ValidationError as error:
        raise NnlabError(spec_error(error, TriageSpec, key)) from None


def spec_for(name, vocabulary_size=None, num_tags=None, hidden_units=None):
    """The spec of a named model (``functional``, ``subclass``), with today's config's sizes where given."""
    if name not in SPECS:
        raise NnlabError(f"model must be one of {', '.join(MODELS)}; got {name!r}.")
    changes = {"vocabulary_size": vocabulary_size, "num_tags": num_tags,
               "hidden": None if hidden_units is None else [hidden_units]}
    return parse_spec({**SPECS[name].model_dump(), **{k: v for k, v in changes.items() if v is not None}})


def _shared_layers(spec):
    """Fresh shared Dense (and Dropout) layers of a spec, in order."""
    layers = []
    for units, name in zip(spec.hidden, spec.hidden_names()):
        layers.append(keras.layers.Dense(units, activation=spec.activation, name=name))
        if spec.dropout:
            layers.append(keras.layers.Dropout(spec.dropout))
    return layers


def build_triage_model(vocabulary_size=10_000, num_tags=100, num_departments=4, hidden_units=64,
                       name="ticket_classifier", spec=None):
    """The seeds' multi-input, multi-output Functional model (uncompiled; weights built), or ``spec``'s."""
    if spec is None:
        spec = TriageSpec(vocabulary_size=vocabulary_size, num_tags=num_tags, hidden=[hidden_units], name=name)
    title = keras.Input(shape=(spec.vocabulary_size,), name="title")
    text_body = keras.Input(shape=(spec.vocabulary_size,), name="text_body")
    tags = keras.Input(shape=(spec.num_tags,), name="tags")
    features = keras.layers.Concatenate(name="concatenate")([title, text_body, tags])
    for layer in _shared_layers(spec):  # (None, 20100) -> (None, 64)
        features = layer(features)
    priority = keras.layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = keras.layers.Dense(num_departments, activation="softmax", name="department")(features)
    return keras.Model(inputs=[title, text_body, tags], outputs=[priority, department], name=spec.name)


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


@keras.saving.register_keras_serializable(package="nnlab")
class TicketClassifier(keras.Model):
    """The seeds' graph as a ``keras.Model`` subclass: same layers, names and weight order.

    Takes a list (title, text_body, tags) or a dict; returns ``{"priority": ..., "department": ...}``.
    Files saved before specs (``hidden_units`` in their config) load as ``hidden=[hidden_units]``.
    """

    def __init__(self, vocabulary_size=10_000, num_tags=100, num_departments=4, hidden_units=64, hidden=None,
                 activation="relu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.spec = TriageSpec(vocabulary_size=vocabulary_size, num_tags=num_tags, activation=activation,
                               dropout=dropout, hidden=[hidden_units] if hidden is None else hidden, api="subclass")
        self.sizes = dict(vocabulary_size=vocabulary_size, num_tags=num_tags, num_departments=num_departments)
        self.concatenate = keras.layers.Concatenate(name="concatenate")
        layers = _shared_layers(self.spec)
        # Weight order as the Functional graph's: the layers before the last Dense, the last Dense, the heads.
        # The last Dense keeps the attribute name `shared` (and its Dropout comes after it) so that files
        # saved before specs find their weights.
        last = max((i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)), default=-1)
        self.before = layers[:last] if last >= 0 else []
        self.shared = layers[last] if last >= 0 else None
        self.after = layers[last + 1:] if last >= 0 else []
        self.priority_head = keras.layers.Dense(1, activation="sigmoid", name="priority")
        self.department_head = keras.layers.Dense(num_departments, activation="softmax", name="department")

    def call(self, inputs):
        features = self.concatenate([keras.ops.cast(x, "float32") for x in _unpack(inputs)])  # (batch, 20100)
        for layer in [*self.before, *([self.shared] if self.shared is not None else []), *self.after]:
            features = layer(features)  # -> (batch, 64); Keras passes `training` on to Dropout
        return {"priority": self.priority_head(features), "department": self.department_head(features)}

    def get_config(self):
        return {**super().get_config(), **self.sizes, "hidden": list(self.spec.hidden),
                "activation": self.spec.activation, "dropout": self.spec.dropout}


def build_model(model="functional", vocabulary_size=None, num_tags=None, num_departments=4, hidden_units=None):
    """Build a spec (a ``TriageSpec``, a mapping, or ``"functional"``/``"subclass"``); weights built.

    ``vocabulary_size``, ``num_tags`` and ``hidden_units`` (today's config), when given,
    replace the spec's; ``num_departments`` comes from the data.
    """
    if isinstance(model, str):
        spec = spec_for(model, vocabulary_size, num_tags, hidden_units)
    else:
        spec = parse_spec(model)
        changes = {"vocabulary_size": vocabulary_size, "num_tags": num_tags,
                   "hidden": None if hidden_units is None else [hidden_units]}
        changes = {k: v for k, v in changes.items() if v is not None}
        spec = parse_spec({**spec.model_dump(), **changes}) if changes else spec
    if spec.api == "functional":
        return build_triage_model(num_departments=num_departments, spec=spec)
    twin = TicketClassifier(spec.vocabulary_size, spec.num_tags, num_departments, hidden=spec.hidden,
                            activation=spec.activation, dropout=spec.dropout, name=spec.name)
    twin({"title": np.zeros((1, spec.vocabulary_size), "float32"),
          "text_body": np.zeros((1, spec.vocabulary_size), "float32"),
          "tags": np.zeros((1, spec.num_tags), "float32")})  # one call creates the weights
    return twin


def add_head(model, name, classes, finetune=False):
    """A new Functional model: ``model``'s outputs plus a ``Dense(classes, softmax)`` head named ``name``.

    The head reads the shared ``dense`` layer's output (the seeds' ``model.layers[4].output``,
    found by name). Unless ``finetune``, every layer of ``model`` is frozen, so training
    the new model changes only the new head. The layers are shared with ``model``.
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "output_names") or not model.inputs:
        raise NnlabError("add-head needs a Functional model (the run's final.keras); a subclassed model has no "
                         "layer outputs to reuse. Train the base run with --model functional.")
    if name in model.output_names:
        raise NnlabError(f"the model already has an output named {name!r}; pick another --name.")
    try:
        features = model.get_layer(SHARED).output
    except ValueError:
        raise NnlabError(f"the model has no layer named {SHARED!r} to reuse; its layers: "
                         f"{', '.join(layer.name for layer in model.layers)}.") from None
    head = keras.layers.Dense(int(classes), activation="softmax", name=name)(features)
    new = keras.Model(inputs=model.inputs, outputs=[*model.outputs, head], name=model.name)
    if not finetune:
        for layer in model.layers:
            layer.trainable = False
    return new


# ---------------------------------------------------------------- the served model


def _strings(values):
    return np.asarray([str(v) for v in values], dtype=str)


def raw_inputs(x):
    """Raw tickets -> ``(titles, bodies, tag lists)``.

    ``x``: a list of ticket dicts (``title``, ``body`` or ``text_body``, ``tags``), a dict
    of columns keyed by the seeds' input names (``body`` also accepted), or a list of
    the three columns in the seeds' order.
    """
    if isinstance(x, dict):
        x = {("text_body" if key == "body" else key): value for key, value in x.items()}
        title, body, tags = _unpack(x)
    elif len(x) and isinstance(x[0], dict):
        title = [ticket.get("title", "") for ticket in x]
        body = [ticket.get("body", ticket.get("text_body", "")) for ticket in x]
        tags = [ticket.get("tags", []) for ticket in x]
    else:
        title, body, tags = _unpack(x)
    tags = [[t for t in row if t] if not isinstance(row, str) else [row] for row in tags]
    if not len(title) == len(body) == len(tags):
        raise NnlabError(f"title, body and tags differ in length: {len(title)}, {len(body)}, {len(tags)}.")
    return _strings(title), _strings(body), tags


@keras.saving.register_keras_serializable(package="nnlab")
class TicketTriage(keras.Model):
    """The served model: raw titles, bodies and tag lists in; the numeric model's outputs out.

    Holds a ``TextVectorization`` (the run's word vocabulary, multi-hot) and a
    ``StringLookup`` (its tags) in front of the trained numeric model ``triage``.
    It also keeps what a run's files look like: ``columns`` (the file's names of our
    columns, for ``nnlab tickets predict FILE``) and ``priority_levels`` (named levels,
    lowest first: a prediction names the nearest). Keras 3 runs those two layers with
    TensorFlow's string ops, outside the JAX graph,
    so ``predict`` vectorizes each batch in a TensorFlow graph and then runs the numeric
    model's compiled predict step; the outputs are those of ``triage.predict`` on the
    vectorizer's arrays. Keras' ``served(x)`` cannot take strings on JAX: use ``predict``.

        >>> served = TicketTriage(model, vectorizer.words, vectorizer.tags, {"department": [...]})
        >>> priority, department = served.predict([{"title": "Refund", "body": "...", "tags": ["billing"]}])
    """

    def __init__(self, triage, words, tags, labels=None, columns=None, priority_levels=(), **kwargs):
        super().__init__(**kwargs)
        if isinstance(triage, dict):
            triage = keras.saving.deserialize_keras_object(triage)
        self.triage = triage
        vocabulary_size, _, num_tags = (int(t.shape[-1]) for t in _unpack(_input_tensors(triage)))
        self.words = word_layer(vocabulary_size, list(words))
        self.tag_lookup = tag_layer(num_tags, list(tags))
        self.vocabulary, self.tag_vocabulary = tuple(words), tuple(tags)
        self.label_sets = tuple((name, tuple(values)) for name, values in (labels or {}).items())
        self.columns = dict(columns or {})
        self.priority_levels = tuple(priority_levels or ())
        self.built = True  # every sublayer exists; there is nothing to build from an input shape

    @property
    def labels(self):
        return {name: list(values) for name, values in self.label_sets}

    @property
    def outputs_order(self):
        return list(getattr(self.triage, "output_names", None) or ("priority", "department"))  # the twin: its dict

    def vectorize(self, x):
        """Raw tickets (see :func:`raw_inputs`) -> the numeric model's inputs: float32 multi-hot arrays."""
        title, body, tags = raw_inputs(x)
        vectors = self._graph_vectorizer()(title, body, pad_tags(tags))
        return {name: np.asarray(v, dtype="float32") for name, v in zip(INPUTS, vectors)}

    def _graph_vectorizer(self):
        """The two text layers traced once into one TensorFlow graph: ~1 ms a ticket instead of ~15 eagerly."""
        if getattr(self, "_vectorizer_fn", None) is None:
            import tensorflow as tf

            words, lookup = self.words, self.tag_lookup

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string),
                                          tf.TensorSpec([None, None], tf.string)])
            def vectorize(title, body, tags):
                return words(title), words(body), lookup(tags)

            self._vectorizer_fn = vectorize
        return self._vectorizer_fn

    def call(self, inputs, training=False):
        outputs = self.triage(self.vectorize(inputs), training=training)
        return _as_list(outputs, self.outputs_order)

    def predict(self, x, batch_size=256, verbose=0, steps=None, callbacks=None):
        """Outputs for raw tickets, in batches: a list of arrays in the numeric model's output order."""
        title, body, tags = raw_inputs(x)
        n, parts, batch_size = len(title), [], batch_size or 256  # None: Keras' "default batch size"
        if not n:
            raise NnlabError("no tickets to triage.")
        bar = keras.utils.Progbar(n, verbose=1 if verbose else 0, unit_name="ticket")
        for start in range(0, n, batch_size):
            batch = [title[start:start + batch_size], body[start:start + batch_size], tags[start:start + batch_size]]
            parts.append(self._predict_vectors(self.vectorize(batch)))
            bar.add(len(batch[0]))
        return [np.concatenate(columns) for columns in zip(*parts)]

    def _predict_vectors(self, x):
        """The numeric model's compiled predict step on ``x``, its rows padded to a power of two.

        XLA compiles one program per batch shape; padding keeps that to a handful (1, 2, 4, ...)
        whatever the number of tickets in a request.
        """
        n = len(x["title"])
        size = 1 << (n - 1).bit_length()
        if size != n:
            x = {name: np.concatenate([v, np.zeros((size - n, *v.shape[1:]), v.dtype)]) for name, v in x.items()}
        outputs = _as_list(self.triage.predict_on_batch(x), self.outputs_order)
        return [np.asarray(o)[:n] for o in outputs]

    def get_config(self):
        return {**super().get_config(), "triage": keras.saving.serialize_keras_object(self.triage),
                "words": list(self.vocabulary), "tags": list(self.tag_vocabulary), "labels": self.labels,
                "columns": self.columns, "priority_levels": list(self.priority_levels)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _input_tensors(model):
    """The symbolic inputs of a Functional model (list), or of a TicketClassifier (from its sizes)."""
    if isinstance(model, TicketClassifier):
        sizes = model.sizes
        return [keras.KerasTensor((None, sizes["vocabulary_size"])), keras.KerasTensor((None, sizes["vocabulary_size"])),
                keras.KerasTensor((None, sizes["num_tags"]))]
    return list(model.inputs)


def _as_list(outputs, order):
    return [outputs[name] for name in order] if isinstance(outputs, dict) else list(outputs)
