"""nnlab.core.ensemble: members trained side by side learn as if alone; inference is their mean."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlab.core.ensemble import Ensemble
from nnlab.core.errors import NnlabError


def dense_member(seed, inputs=6, classes=4):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(5, activation="tanh"),
                             keras.layers.Dense(classes, activation="softmax")])


def data(seed, samples=48, inputs=6, classes=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(samples, inputs)).astype("float32"), rng.integers(0, classes, samples)


@settings(max_examples=6, deadline=None)
@given(count=st.integers(2, 4), seed=st.integers(0, 1000))
def test_each_member_ends_with_the_weights_it_would_have_trained_alone(count, seed):
    """The ensemble's loss is the mean of the members' own losses, so plain SGD at count x the rate gives every
    member the updates it gets trained alone on the same batches (float tolerance)."""
    x, y = data(seed)
    alone = []
    for index in range(count):
        member = dense_member(seed + index)
        member.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        member.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        alone.append(member.get_weights())
    ensemble = Ensemble([dense_member(seed + index) for index in range(count)])
    ensemble.compile(keras.optimizers.SGD(0.1 * count), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = ensemble.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    for member, weights in zip(ensemble.members, alone):
        for got, want in zip(member.get_weights(), weights):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert set(history) == {"loss", "accuracy"}


def test_inference_is_the_members_mean_and_training_gives_each_members_prediction():
    x, _ = data(1)
    members = [dense_member(1), dense_member(2), dense_member(3)]
    ensemble = Ensemble(members)
    each = np.stack([member.predict(x, verbose=0) for member in members], axis=1)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), each.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ensemble(x, training=True)), each, rtol=1e-5, atol=1e-6)


def test_training_metrics_and_evaluation_are_those_of_the_mean():
    x, y = data(2)
    ensemble = Ensemble([dense_member(4), dense_member(5)])
    ensemble.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = ensemble.evaluate(x, y, verbose=0)
    mean = ensemble.predict(x, verbose=0)
    assert accuracy == pytest.approx(np.mean(mean.argmax(axis=1) == y))
    assert loss == pytest.approx(float(np.mean(-np.log(mean[np.arange(len(y)), y]))), rel=1e-4)


def test_a_saved_ensemble_loads_with_the_same_predictions(tmp_path):
    x, y = data(3)
    ensemble = Ensemble([dense_member(6), dense_member(7)], name="pair")
    ensemble.compile("adam", "sparse_categorical_crossentropy")
    ensemble.fit(x, y, epochs=1, verbose=0)
    ensemble.save(tmp_path / "pair.keras")
    loaded = keras.models.load_model(tmp_path / "pair.keras")
    assert isinstance(loaded, Ensemble) and len(loaded.members) == 2 and loaded.name == "pair"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ensemble.predict(x, verbose=0), rtol=1e-6)


def test_one_member_is_refused():
    with pytest.raises(NnlabError, match="at least 2 members; got 1"):
        Ensemble([dense_member(0)])
