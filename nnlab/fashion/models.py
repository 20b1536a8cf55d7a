"""Model stage: Fashion-MNIST models as data (a spec), built in all three Keras APIs.

A model is a spec, a validated pydantic object: a dense net (``DenseSpec``) or a
convolutional one (``CnnSpec``), told apart by ``kind``. Every named model of the
seeds (``logreg``, ``dnn``, ...) is one spec in ``SPECS``; ``build_model`` takes a
spec, a mapping (as in a settings file) or a name, and assembles its layers
(``layer_stack``) as a ``keras.Sequential``, with the Functional API, or as a
``keras.Model`` subclass. The three have the same layers in the same order, so the
same parameter counts and, given the same weights, the same outputs.

    >>> from nnlab.fashion.models import DenseSpec, build_model, spec_for
    >>> build_model("dnn", dropout=0.3).count_params()     # the seeds' model_fn(Dropout(0.3))
    79510
    >>> spec = DenseSpec(hidden=[300, 100], activation="tanh", dropout=0.2, api="functional")
    >>> spec.describe()
    'Flatten -> Dense(300, tanh) -> Dropout(0.2) -> Dense(100, tanh) -> Dropout(0.2) -> Dense(10, softmax) [functional]'
    >>> build_model(spec).count_params()                  # 784*300+300 + 300*100+100 + 100*10+10
    266610
    >>> build_model({"kind": "dense", "hidden": []}).count_params()   # logistic regression
    7850
    >>> spec_for("dnn", dropout=0.3).dropout
    0.3

Named models (inputs are 28x28 images scaled to 0..1; every model flattens them itself):

=============  ==========================================================  =========
name           layers                                                      params
=============  ==========================================================  =========
logreg         Flatten -> Dense(10, softmax)                      (E2)     7,850
dnn-sigmoid    Flatten -> Dense(100, sigmoid) -> Dense(10, softmax) (E3)   79,510
dnn            Flatten -> Dense(100, relu) [-> Dropout(r)] -> Dense(10)    79,510
mnist-512      Flatten -> Dense(512, relu) -> Dropout(0.5) -> Dense(10)    407,050
cnn            two stride-2 conv blocks -> Dense(128) -> Dense(10)             422,026
               (0.92 test accuracy in 12 epochs, about 3 minutes on 2 CPU cores)
cnn-fast       RandomShift(1) + PhotoStyle(0.5) + conv 24 / 48 blocks          313,418
               -> Dense(128) -> Dense(10), predictions averaged with the mirror
               image's (the 5-minute preset, served by default; figures in
               bench/results/time_to_accuracy.json, photo_robustness.json)
cnn-deep       RandomShift(1) + RandomErasing + conv 24 / 48 / 96 blocks         656,426
               -> Dense(128) -> Dense(10), mirror-averaged (about 11 minutes)
cnn-ensemble   (a preset, not a name) three cnn-deep networks trained     1,969,278
               side by side, each on its own loss, their probabilities
               averaged (nnlab.core.ensemble; the 30-minute preset; figures
               in bench/results/time_to_accuracy_30min.json)
=============  ==========================================================  =========

As specs (``SPECS[name]``; a run's ``dropout``/``api`` replace the spec's, see ``spec_for``)::

    logreg       {kind: dense, hidden: [], name: logreg}
    dnn-sigmoid  {kind: dense, hidden: [100], activation: sigmoid, name: Fashion_MNIST_DNN_Model,
                  hidden_names: [hidden], output_name: output}
    dnn          {kind: dense, hidden: [100], activation: relu, name: dnn}
    mnist-512    {kind: dense, hidden: [512], dropout: 0.5, name: mnist_512}
    cnn          {kind: cnn, convs: [[32, 2], [64, 2]], hidden: [128], dropout: 0.3, augment: {flip: true}}
    cnn-fast     {kind: cnn, convs: [[24, 2], [48, 2]], hidden: [128], mirror_average: true,
                  augment: {flip: true, shift: 1, photo: 0.5}}
    cnn-deep     {kind: cnn, convs: [[24, 2], [48, 2], [96, 1]], hidden: [128], mirror_average: true,
                  augment: {flip: true, shift: 1, erase: 0.25}}

``members: M`` (CNNs) builds M networks of the spec as one :class:`~nnlab.core.ensemble.Ensemble`;
``shift_average: true`` also averages the four 1-pixel shifts of each image at inference.
"""

from typing import Annotated, Literal

import keras
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from nnlab.core.ensemble import Ensemble
from nnlab.core.errors import NnlabError
from nnlab.core.specs import ACTIVATIONS, KerasName, Rate, Units, spec_error
from nnlab.fashion.augment import AddMirrored, AddShifted, AverageMirrored, AverageShifted, PhotoStyle, RandomShift
from nnlab.fashion.data import IMAGE_SHAPE, NUM_CLASSES

APIS = ("sequential", "functional", "subclass")
MODELS = ("logreg", "dnn-sigmoid", "dnn", "mnist-512", "cnn", "cnn-fast", "cnn-deep")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def describe(self):
        """One line: the layers, in order, and the Keras API (read from the spec; no layer is made)."""
        members = getattr(self, "members", 1)
        ensemble = f" x {members} members, averaged" if members > 1 else ""
        return " -> ".join(self._layer_names()) + f" [{self.api}]" + ensemble


class DenseSpec(_Spec):
    """Flatten -> Dense(h, activation) [-> Dropout(dropout)] for each h in ``hidden`` -> Dense(10, softmax).

    ``hidden: []`` is logistic regression (no hidden layer, so no dropout). The names
    are Keras' own unless given: the seeds name E3's model and layers (``dnn-sigmoid``).

        >>> DenseSpec(hidden=[300, 100], activation="tanh").hidden
        [300, 100]
    """

    kind: Literal["dense"] = "dense"
    hidden: list[Units] = Field([100], max_length=32, description="units of each hidden Dense layer, in order")
    activation: Literal[ACTIVATIONS] = Field("relu", description="activation of the hidden layers")
    dropout: Rate = Field(0.0, description="Dropout rate after each hidden layer (0: no Dropout layer)")
    api: Literal[APIS] = Field("sequential", description="the Keras API that builds the model")
    name: KerasName | None = Field(None, description="the Keras model's name (None: fashion_dense)")
    hidden_names: list[KerasName] | None = Field(None, description="names of the hidden Dense layers")
    output_name: KerasName | None = Field(None, description="name of the output Dense layer")

    @pydantic.model_validator(mode="after")
    def _check(self):
        if self.dropout and not self.hidden:
            raise ValueError(f"dropout {self.dropout} needs a hidden layer, and hidden is []; "
                             "give hidden units (e.g. hidden: [100]) or dropout: 0")
        if self.hidden_names is not None and len(self.hidden_names) != len(self.hidden):
            raise ValueError(f"hidden_names has {len(self.hidden_names)} names for {len(self.hidden)} hidden "
                             "layers; give one name per entry of hidden, or leave hidden_names out")
        return self

    def _layer_names(self):
        dropout = [f"Dropout({self.dropout})"] if self.dropout else []
        hidden = [[f"Dense({units}, {self.activation})", *dropout] for units in self.hidden]
        return ["Flatten", *(name for layer in hidden for name in layer), f"Dense({NUM_CLASSES}, softmax)"]


class AugmentSpec(BaseModel):
    """Training-only augmentation of a CNN, applied in this order (each off at its zero value)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    flip: bool = Field(False, description="mirror images left to right at random (RandomFlip)")
    shift: int = Field(0, ge=0, le=8, description="shift each image by up to this many pixels (RandomShift)")
    photo: float = Field(0.0, ge=0.0, le=1.0, description="share of each batch made to look like photos (PhotoStyle)")
    shadow: float = Field(0.0, ge=0.0, le=1.0, description="share of PhotoStyle's images given a drop shadow")
    erase: float = Field(0.0, ge=0.0, lt=1.0, description="probability that an image loses a random box (RandomErasing)")

    @pydantic.model_validator(mode="after")
    def _check(self):
        if self.shadow and not self.photo:
            raise ValueError(f"shadow {self.shadow} is part of PhotoStyle, and photo is 0; set photo > 0 or shadow: 0")
        return self


Conv = tuple[Annotated[int, Field(ge=1, le=4096)], Annotated[int, Field(ge=1, le=4)]]


class CnnSpec(_Spec):
    """3x3 conv blocks (``convs``: [filters, stride] each) -> Flatten -> Dense layers (``hidden``) -> Dense(10).

    Dropout (when > 0) comes before each Dense layer after Flatten, as in the seeds'
    CNN. With ``mirror_average`` every image is classified twice at inference, as it is
    and mirrored, and the two predictions averaged.

        >>> CnnSpec(convs=[[24, 2], [48, 2]], augment={"flip": True, "shift": 1}).augment.shift
        1
    """

    kind: Literal["cnn"] = "cnn"
    convs: list[Conv] = Field([(32, 2), (64, 2)], min_length=1, max_length=16,
                              description="[filters, stride] of each 3x3 'same' Conv2D, in order")
    batchnorm: bool = Field(True, description="BatchNormalization after each Conv2D")
    hidden: list[Units] = Field([128], max_length=32, description="units of each Dense layer after Flatten")
    activation: Literal[ACTIVATIONS] = Field("relu", description="activation of the Conv2D and hidden Dense layers")
    dropout: Rate = Field(0.0, description="Dropout rate before each Dense layer after Flatten (0: none)")
    augment: AugmentSpec = Field(default_factory=AugmentSpec, description="training-only augmentation")
    mirror_average: bool = Field(False, description="average each prediction with the mirror image's")
    shift_average: bool = Field(False, description="average each prediction with those of the image moved one "
                                                   "pixel down, up, right and left (5 views; 10 with the mirror)")
    members: int = Field(1, ge=1, le=16, description="networks of this layout trained side by side, each on its "
                                                        "own loss, their probabilities averaged (nnlab.core.ensemble)")
    api: Literal[APIS] = Field("sequential", description="the Keras API that builds the model")
    name: KerasName | None = Field(None, description="the Keras model's name (None: fashion_cnn)")

    def _layer_names(self):
        a, dropout = self.augment, [f"Dropout({self.dropout})"] if self.dropout else []
        front = [*(["RandomFlip"] if a.flip else []), *([f"RandomShift({a.shift})"] if a.shift else []),
                 *([f"PhotoStyle({a.photo})"] if a.photo else []), *([f"RandomErasing({a.erase})"] if a.erase else [])]
        convs = [f"Conv2D({filters}, 3, stride {stride}, {self.activation})" + (" -> BatchNorm" if self.batchnorm else "")
                 for filters, stride in self.convs]
        dense = [name for units in self.hidden for name in (*dropout, f"Dense({units}, {self.activation})")]
        names = ["Reshape", *front, *convs, "Flatten", *dense, *dropout, f"Dense({NUM_CLASSES}, softmax)"]
        names = ["AddShifted", *names, "AverageShifted"] if self.shift_average else names
        return ["AddMirrored", *names, "AverageMirrored"] if self.mirror_average else names


FashionModelSpec = Annotated[DenseSpec | CnnSpec, Field(discriminator="kind")]
SPEC_ADAPTER = pydantic.TypeAdapter(FashionModelSpec)

# The named models, at their default dropout, as the seeds and issues 9 and 16 chose them.
# cnn-fast / cnn-deep: layouts chosen on the validation split (see _cnn_layers' comment).
SPECS = {
    "logreg": DenseSpec(hidden=[], name="logreg"),  # E2
    "dnn-sigmoid": DenseSpec(hidden=[100], activation="sigmoid", name="Fashion_MNIST_DNN_Model",
                             hidden_names=["hidden"], output_name="output"),  # the seeds' second way of building E3
    "dnn": DenseSpec(hidden=[100], activation="relu", name="dnn"),
    "mnist-512": DenseSpec(hidden=[512], activation="relu", dropout=0.5, name="mnist_512"),
    "cnn": CnnSpec(convs=[(32, 2), (64, 2)], hidden=[128], dropout=0.3, augment=AugmentSpec(flip=True), name="cnn"),
    "cnn-fast": CnnSpec(convs=[(24, 2), (48, 2)], hidden=[128], mirror_average=True, name="cnn_fast",
                        augment=AugmentSpec(flip=True, shift=1, photo=0.5)),
    "cnn-deep": CnnSpec(convs=[(24, 2), (48, 2), (96, 1)], hidden=[128], mirror_average=True, name="cnn_deep",
                        augment=AugmentSpec(flip=True, shift=1, erase=0.25)),
}
DEFAULT_DROPOUT = {name: spec.dropout for name, spec in SPECS.items()}
MODEL_NAMES = {"dnn-sigmoid": "Fashion_MNIST_DNN_Model"}  # the seeds' second way of building E3
# The mirror-averaged CNNs in the shape nnlab.seeds.experiments reads (kept until it reads SPECS).
CNN_SPECS = {name: {"convs": tuple(SPECS[name].convs), "units": SPECS[name].hidden[0], "shift": SPECS[name].augment.shift,
                    "erase": SPECS[name].augment.erase, "photo": SPECS[name].augment.photo,
                    "shadow": SPECS[name].augment.shadow} for name in ("cnn-fast", "cnn-deep")}


def spec_for(name, dropout=None, api=None):
    """The spec of a named model, with a run's ``dropout`` (None: the model's own) and ``api`` (None: sequential).

        >>> spec_for("mnist-512").dropout, spec_for("mnist-512", dropout=0.2, api="subclass").api
        (0.5, 'subclass')
    """
    if name not in SPECS:
        raise NnlabError(f"model must be one of {', '.join(MODELS)}; got {name!r}.")
    if api is not None and api not in APIS:
        raise NnlabError(f"api must be one of {', '.join(APIS)}; got {api!r}.")
    spec = SPECS[name]
    if dropout and not spec.hidden and spec.kind == "dense":
        raise NnlabError(f"--dropout {dropout} needs a hidden layer, and {name} has none; "
                         "use --model dnn --dropout R.")
    changes = {key: value for key, value in (("dropout", dropout), ("api", api)) if value is not None}
    return parse_spec({**spec.model_dump(), **changes})


def parse_spec(value, key="model"):
    """A spec from a spec, a mapping with ``kind`` (a settings file's ``model:``) or a model name.

    Errors name the dotted key, the value received and what is allowed:

        >>> parse_spec({"kind": "dense", "hidden": [0]})
        Traceback (most recent call last):
        nnlab.core.errors.NnlabError: model.hidden.0 must be greater than or equal to 1; got 0.
    """
    if isinstance(value, (DenseSpec, CnnSpec)):
        return value
    if isinstance(value, str):
        return spec_for(value)
    try:
        return SPEC_ADAPTER.validate_python(value)
    except pydantic.ValidationError as error:
        raise NnlabError(spec_error(error, {"dense": DenseSpec, "cnn": CnnSpec}, key)) from None


# ---------------------------------------------------------------- layers


def _dense_layers(spec):
    # 28x28 -> 784 -> hidden[0] -> ... -> 10
    L = keras.layers
    names = spec.hidden_names or [None] * len(spec.hidden)
    layers = [L.Flatten()]
    for units, name in zip(spec.hidden, names):
        layers.append(L.Dense(units, activation=spec.activation, name=name))
        if spec.dropout:
            layers.append(L.Dropout(spec.dropout))
    layers.append(L.Dense(NUM_CLASSES, activation="softmax", name=spec.output_name))
    return layers


def _cnn_layers(spec):
    # (28, 28) -> (28, 28, 1) -> a stride-2 conv -> (14, 14, f) -> another -> (7, 7, f2) [-> stride-1 (7, 7, f3)]
    #          -> flattened -> hidden Dense -> 10. Stride-2 convolutions instead of max-pooling: on this CPU,
    # XLA's max-pool backward pass made an epoch 2-3x slower for no accuracy gain; any stride-1 3x3
    # convolution adds 15-20 s per epoch (cnn-deep pays for one).
    #
    # Layers are created in the order the builders before issue 18 created them: under
    # keras.utils.set_random_seed each layer draws its initializer's and seed generator's seeds from
    # Python's random when it is created, so this order is what gives a named model the same initial
    # weights and the same training history as before. There were two orders: the plain CNN ("cnn")
    # created its layers front to back; the mirror-averaged ones ("cnn-fast", "cnn-deep") created the
    # Dropout layer (one layer, used before each Dense), the erasing and photo layers and the conv blocks
    # first, then the rest. Dropout has no weights, so sharing it changes no parameter.
    #
    # Why these layouts (seed 42, val accuracy on the validation split; with / without the mirror average):
    # cnn-fast: conv 32 / 64, Dense(256), 22 epochs: dropout 0.1, shift 2: 0.9257 (24 epochs, without);
    # dropout 0, shift 2: 0.9306 / 0.9284; Dense(512): 0.9328 / 0.9290 (slower epochs); dropout 0, shift 1:
    # 0.9339 / 0.9289. The model underfits (training accuracy near validation accuracy) with dropout and the
    # 2-pixel shift, so less regularisation pays. Then the widths, which XLA's CPU convolutions make matter
    # more than their arithmetic (s/epoch on two idle cores, batch 128: 32/64 12.7, 24/48 8.6, 16/64 9.9,
    # 24/64 11.2, 32/96 16.0, 48/48 16.6): conv 24 / 48, shift 1, with the mirror average: Dense(256)
    # 22 epochs 0.9373 (seed 43: 0.9360), 28 epochs 0.9381; Dense(128) 22 epochs 0.9351, 28 epochs 0.9360.
    # Dense(128) halves the dense layer's share of inference (the served model classifies every image
    # twice) for ~0.1-0.2 point of val accuracy.
    # Issue 16: the served preset trains on what the photo path gives. PhotoStyle (augment.py) turns,
    # re-fits, re-tones and re-sharpens half of each training batch as the path does to a photo, in the
    # graph (about no extra time per epoch); chosen through the photo path on 1,000 validation images made
    # into photos by photoset.py's "varied" habits (not the independent generator the benchmark uses):
    # without it 0.898 on photos vs 0.944 on the same originals (val 0.9355 on all 12,000); rate 0.5:
    # 0.919 vs 0.942 (val 0.9322); rate 0.5 with a drop shadow on 30 % of those: 0.914 vs 0.938 (val
    # 0.9309), so no shadow.
    # cnn-deep: a third block, 96 filters at stride 1 on the 7x7 maps, 40 epochs: 0.9413, but training
    # accuracy 0.976 (it overfits); with a 2-pixel shift and Dropout(0.3): 0.9371 in 55 epochs (training
    # accuracy 0.949: underfits). RandomErasing (a quarter of the training images lose a random box of
    # 2-25 % of their area), 60 epochs: 0.9419, val loss 0.170 (was 0.189), training accuracy 0.970; a
    # third block of 128 filters, 50 epochs: 0.9408 (and slower). This family levels off near 0.942.
    # Issue 21, past that ceiling within 30 minutes (seed 42, validation split). A snapshot ensemble of
    # cnn-deep (3 cosine cycles of 20 epochs with warm restarts, the three end-of-cycle weights' predictions
    # averaged): 0.9401, its last snapshot alone 0.9398, against 0.9419 for one 60-epoch cycle; members of
    # one trajectory are too alike to pay. The four 1-pixel shifts at inference (shift_average): +0.1 to
    # +0.3 points on a single network (0.9369 -> 0.9379, 0.9377 -> 0.9407, 0.9398 -> 0.9421) for 5x the
    # inference cost. Independent members pay (two cnn-deep averaged: 0.945-0.947), and cnn-deep's epoch is
    # 9-10 s on today's JAX: the cnn-ensemble preset trains three side by side (nnlab.core.ensemble).
    L, augment = keras.layers, spec.augment

    def blocks():
        made = []
        for filters, stride in spec.convs:
            made.append(L.Conv2D(filters, 3, strides=stride, padding="same", activation=spec.activation))
            if spec.batchnorm:
                made.append(L.BatchNormalization())
        return made

    def augmentation_front():  # RandomFlip and RandomShift; PhotoStyle and RandomErasing come after them
        return ([L.RandomFlip("horizontal")] if augment.flip else []) + \
               ([RandomShift(augment.shift)] if augment.shift else [])

    def photo_and_erasing():
        # RandomErasing's factor (p, p): each image erased with probability p (factor=p would draw p from [0, p])
        erasing = [L.RandomErasing(factor=(augment.erase, augment.erase), scale=(0.02, 0.25), fill_value=0.0,
                                   value_range=(0, 1))] if augment.erase else []
        photo = [PhotoStyle(augment.photo, shadow=augment.shadow)] if augment.photo else []
        return photo, erasing

    shifted = ([AddShifted()], [AverageShifted()]) if spec.shift_average else ([], [])
    if not spec.mirror_average:
        front = [*shifted[0], L.Reshape((*IMAGE_SHAPE, 1)), *augmentation_front()]
        photo, erasing = photo_and_erasing()
        layers = [*front, *photo, *erasing, *blocks(), L.Flatten()]
        for units in spec.hidden:
            layers += [*([L.Dropout(spec.dropout)] if spec.dropout else []), L.Dense(units, activation=spec.activation)]
        return [*layers, *([L.Dropout(spec.dropout)] if spec.dropout else []),
                L.Dense(NUM_CLASSES, activation="softmax"), *shifted[1]]
    dropout = [L.Dropout(spec.dropout)] if spec.dropout else []
    photo_erasing = photo_and_erasing()
    convs = blocks()
    layers = [AddMirrored(), *shifted[0], L.Reshape((*IMAGE_SHAPE, 1)), *augmentation_front(), *photo_erasing[0],
              *photo_erasing[1], *convs, L.Flatten()]
    for units in spec.hidden:
        layers += [*dropout, L.Dense(units, activation=spec.activation)]
    return [*layers, *dropout, L.Dense(NUM_CLASSES, activation="softmax"), *shifted[1], AverageMirrored()]


def layer_stack(spec, dropout=None):
    """Fresh layers of a spec (or a named model, with ``dropout=None``: the model's own), in order."""
    spec = spec_for(spec, dropout) if isinstance(spec, str) else parse_spec(spec)
    return _dense_layers(spec) if spec.kind == "dense" else _cnn_layers(spec)


# ---------------------------------------------------------------- the three APIs


@keras.saving.register_keras_serializable(package="nnlab")
class StackedModel(keras.Model):
    """A spec written as a ``keras.Model`` subclass: layers made in ``__init__``, run in ``call``.

    It saves to ``.keras`` and loads back wherever nnlab is imported (the class is
    registered with Keras under ``nnlab>StackedModel``). Files saved before specs
    (``preset`` and ``dropout`` in their config) load as the named model's spec.
    """

    def __init__(self, preset="dnn", dropout=None, spec=None, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec_for(preset, dropout, "subclass") if spec is None else parse_spec(spec)
        self.stack = layer_stack(self.spec)

    def call(self, inputs, training=False):
        x = inputs
        for layer in self.stack:  # Keras passes `training` on to Dropout through its call context
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "spec": self.spec.model_dump(mode="json")}


def build_model(spec="dnn", api=None, dropout=None, name=None):
    """Build a spec (a ``DenseSpec``/``CnnSpec``, a mapping, or a model name) with its Keras API.

    ``api`` and ``dropout``, when given, replace the spec's (a name's ``dropout=None`` is its
    own default; ``api=None`` the spec's, sequential for a name). Weights exist right away
    (input 28x28).
    """
    if isinstance(spec, str):
        name = name or MODEL_NAMES.get(spec, spec.replace("-", "_"))
        spec = spec_for(spec, dropout, api)
    else:
        spec = parse_spec(spec)
        if api is not None and api not in APIS:
            raise NnlabError(f"api must be one of {', '.join(APIS)}; got {api!r}.")
        changes = {key: value for key, value in (("dropout", dropout), ("api", api)) if value is not None}
        spec = parse_spec({**spec.model_dump(), **changes}) if changes else spec
    name = name or spec.name or f"fashion_{spec.kind}"
    if getattr(spec, "members", 1) > 1:  # each member its own layers and initial weights, built as one model
        single = parse_spec({**spec.model_dump(), "members": 1})
        model = Ensemble([build_model(single, name=f"{name}_member{index}") for index in range(spec.members)],
                         name=name)
        model(keras.ops.zeros((1, *IMAGE_SHAPE)))  # built: its weights exist, as the other APIs' do
        return model
    if spec.api == "subclass":
        model = StackedModel(spec=spec, name=name)
        model(keras.ops.zeros((1, *IMAGE_SHAPE)))  # one call creates every layer's weights
        return model
    layers = layer_stack(spec)
    if spec.api == "sequential":
        return keras.Sequential([keras.Input(IMAGE_SHAPE), *layers], name=name)
    inputs = keras.Input(IMAGE_SHAPE)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=name)
