"""nnlab.fashion.models: parameter counts from the seeds, the three Keras APIs, dropout's behaviour."""

import keras
import numpy as np
import pytest

from nnlab.core.errors import NnlabError
from nnlab.fashion.models import APIS, MODELS, StackedModel, build_model, layer_stack


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)


@pytest.mark.parametrize("preset, dropout, params", [
    ("logreg", None, 7_850),          # E2: 784 * 10 + 10
    ("dnn-sigmoid", None, 79_510),    # E3: 78,500 + 1,010
    ("dnn", None, 79_510),            # E4
    ("dnn", 0.3, 79_510),             # E7: dropout adds no parameters
    ("mnist-512", None, 407_050),     # the callbacks example: 784*512+512 + 512*10+10
])
def test_parameter_counts(preset, dropout, params):
    assert build_model(preset, dropout=dropout).count_params() == params


def test_dnn_sigmoid_is_the_seeds_named_model():
    model = build_model("dnn-sigmoid")
    assert model.name == "Fashion_MNIST_DNN_Model"
    hidden, output = model.get_layer("hidden"), model.get_layer("output")
    assert hidden.count_params() == 78_500 and output.count_params() == 1_010
    assert hidden.units == 100 and hidden.activation.__name__ == "sigmoid"
    assert output.units == 10 and output.activation.__name__ == "softmax"


@pytest.mark.parametrize("preset", MODELS)
def test_three_apis_agree(preset, images):
    """Same parameter count, and with the same weights the same predictions, in every API."""
    models = {api: build_model(preset, api=api) for api in APIS}
    counts = {api: model.count_params() for api, model in models.items()}
    assert len(set(counts.values())) == 1, counts
    weights = models["sequential"].get_weights()
    for model in models.values():
        model.set_weights(weights)
    # Calling the model runs the same forward pass as predict, without compiling it for each model.
    predictions = {api: np.asarray(model(images, training=False)) for api, model in models.items()}
    assert predictions["sequential"].shape == (8, 10)
    for api in ("functional", "subclass"):
        np.testing.assert_array_equal(predictions[api], predictions["sequential"], err_msg=api)
    # Fresh models start from different random weights (the copy above is what makes them agree).
    assert not np.allclose(np.asarray(build_model(preset)(images)), predictions["sequential"])


def test_subclass_is_a_keras_model_subclass():
    model = build_model("dnn", api="subclass", dropout=0.3)
    assert isinstance(model, StackedModel) and type(model) is not keras.Model
    assert [type(layer).__name__ for layer in model.stack] == ["Flatten", "Dense", "Dropout", "Dense"]


@pytest.mark.parametrize("api", APIS)
def test_dropout_has_no_params_keeps_shape_and_is_off_in_predict(api, images):
    model = build_model("dnn", api=api, dropout=0.3)
    layers = model.stack if api == "subclass" else model.layers
    dropout = next(layer for layer in layers if isinstance(layer, keras.layers.Dropout))
    assert dropout.rate == 0.3 and dropout.count_params() == 0
    assert dropout.compute_output_shape((None, 100)) == (None, 100)
    first, second = model.predict(images, verbose=0), model.predict(images, verbose=0)
    np.testing.assert_array_equal(first, second)
    # Without dropout and with the same weights, predict gives the same outputs.
    plain = build_model("dnn", api=api)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(plain.predict(images, verbose=0), first, rtol=1e-6, atol=1e-7)
    # In training mode dropout is on (the subclass passes `training` on through Keras' call context).
    trained_mode = np.asarray(model(images, training=True))
    assert not np.allclose(trained_mode, first)


def test_dropout_scales_kept_units_by_one_over_keep_probability():
    rate = 0.3
    layer = build_model("dnn", dropout=rate).get_layer(index=2)
    assert isinstance(layer, keras.layers.Dropout)
    keras.utils.set_random_seed(0)
    out = np.asarray(layer(np.ones((200, 100), np.float32), training=True))
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-6)
    assert 0.25 < 1 - kept.size / out.size < 0.35  # about 30% dropped
    np.testing.assert_array_equal(np.asarray(layer(np.ones((4, 100), np.float32), training=False)), 1.0)


def test_mnist_512_has_its_dropout_of_half():
    model = build_model("mnist-512")
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert model.layers[2].rate == 0.5 and model.layers[1].units == 512


def test_models_take_28_by_28_images():
    for api in APIS:
        model = build_model("logreg", api=api)
        assert model.predict(np.zeros((2, 28, 28), np.float32), verbose=0).shape == (2, 10)


def test_bad_presets_and_options():
    with pytest.raises(NnlabError, match=r"model must be one of .*; got 'nope'"):
        layer_stack("nope")
    with pytest.raises(NnlabError, match=r"--dropout 0\.3 needs a hidden layer, and logreg has none"):
        build_model("logreg", dropout=0.3)
    with pytest.raises(NnlabError, match=r"api must be one of sequential, functional, subclass; got 'keras'"):
        build_model("dnn", api="keras")
