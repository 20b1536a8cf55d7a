"""nnlab.core.saving: round trips in every format and API, clear errors, plain-Keras interop both ways, safe_mode."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from nnlab.core.errors import NnlabError
from nnlab.core.evaluation import argmax_accuracy, evaluate
from nnlab.core.saving import is_graph_model, load_model, load_weights, resolve_model_path, save_model
from nnlab.fashion.models import APIS, build_model
from nnlab.fashion.task import TASK


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).random((16, 28, 28), dtype=np.float32)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _predict(model, x):
    return model.predict(x, verbose=0)


@pytest.mark.parametrize("api", APIS)
def test_keras_file_round_trip(api, images, tmp_path):
    model = build_model("dnn", api=api, dropout=0.3)
    expected = _predict(model, images)
    path = save_model(model, tmp_path / "model-whole.keras")
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.count_params() == 79_510
    np.testing.assert_array_equal(_predict(loaded, images), expected)


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_legacy_h5_round_trip(api, images, tmp_path):
    model = build_model("dnn-sigmoid", api=api)
    expected = _predict(model, images)
    loaded = load_model(save_model(model, tmp_path / "model-whole.h5"))
    assert loaded.name == "Fashion_MNIST_DNN_Model"
    np.testing.assert_array_equal(_predict(loaded, images), expected)


def test_legacy_h5_refuses_a_subclassed_model(tmp_path):
    # Keras would write the file but could not load it back: refuse before writing anything.
    with pytest.raises(NnlabError, match=r"Cannot save the subclassed model 'dnn' \(StackedModel\).*\.keras"):
        save_model(build_model("dnn", api="subclass"), tmp_path / "model-whole.h5")
    assert not (tmp_path / "model-whole.h5").exists()


@pytest.mark.parametrize("api", APIS)
def test_weights_round_trip(api, images, tmp_path):
    model = build_model("dnn", api=api, dropout=0.3)
    expected = _predict(model, images)
    save_model(model, tmp_path / "model.weights.h5")
    fresh = build_model("dnn", api=api, dropout=0.3)
    assert not np.allclose(_predict(fresh, images), expected)
    assert load_weights(fresh, tmp_path / "model.weights.h5") is fresh
    np.testing.assert_array_equal(_predict(fresh, images), expected)


def test_weights_into_another_architecture_name_the_layer_and_shapes(tmp_path):
    save_model(build_model("dnn"), tmp_path / "dnn.weights.h5")
    pattern = (r"do not fit model 'mnist_512': layer 'dense': the file has shapes \[\(784, 100\), \(100,\)\], "
               r"the model \[\(784, 512\), \(512,\)\]")
    with pytest.raises(NnlabError, match=pattern):
        load_weights(build_model("mnist-512"), tmp_path / "dnn.weights.h5")
    with pytest.raises(NnlabError, match=r"the file has layer 'dense_1' \[\(100, 10\), \(10,\)\] that the model lacks"):
        load_weights(build_model("logreg"), tmp_path / "dnn.weights.h5")


def test_load_weights_errors(tmp_path):
    with pytest.raises(NnlabError, match=r"Weights file .*nothing\.weights\.h5 does not exist"):
        load_weights(build_model("logreg"), tmp_path / "nothing.weights.h5")
    save_model(build_model("logreg"), tmp_path / "whole.keras")
    with pytest.raises(NnlabError, match=r"whole\.keras is not a weights file .*use load_model"):
        load_weights(build_model("logreg"), tmp_path / "whole.keras")


def test_load_model_errors(tmp_path):
    save_model(build_model("logreg"), tmp_path / "only.weights.h5")
    with pytest.raises(NnlabError, match=r"only\.weights\.h5 holds weights only, not an architecture"):
        load_model(tmp_path / "only.weights.h5")
    with pytest.raises(NnlabError, match=r"Model file .*missing\.keras does not exist"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "notes.keras").write_text("not a model")
    with pytest.raises(NnlabError, match=r"Cannot load model .*notes\.keras"):
        load_model(tmp_path / "notes.keras")
    (tmp_path / "notes.h5").write_text("not a model either")
    with pytest.raises(NnlabError, match=r"Cannot load model .*notes\.h5"):
        load_model(tmp_path / "notes.h5")
    (tmp_path / "model.pkl").write_bytes(b"")
    with pytest.raises(NnlabError, match=r"expected a name ending in \.keras .*\.h5 .*\.weights\.h5"):
        load_model(tmp_path / "model.pkl")
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(NnlabError, match=r"empty-run is a folder without a saved model"):
        load_model(tmp_path / "empty-run")


def test_save_model_is_atomic_and_leaves_no_temporary_file(images, tmp_path):
    first, second = build_model("dnn", dropout=0.3), build_model("dnn", dropout=0.3)
    save_model(first, tmp_path / "model.keras")
    save_model(second, tmp_path / "model.keras")  # replaces the file as a whole
    np.testing.assert_array_equal(_predict(load_model(tmp_path / "model.keras"), images), _predict(second, images))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    save_model(first, tmp_path / "deeper" / "folder" / "model.weights.h5")  # creates its folder
    assert (tmp_path / "deeper" / "folder" / "model.weights.h5").is_file()


def test_is_graph_model():
    assert is_graph_model(build_model("dnn", api="sequential")) and is_graph_model(build_model("dnn", api="functional"))
    assert not is_graph_model(build_model("dnn", api="subclass"))


@pytest.mark.parametrize("name, message", [
    ("cut.keras", r"Cannot load model .*cut\.keras: it is not a \.keras file \(those are zip archives\); "
                  r"it is truncated"),
    ("cut.h5", r"Cannot load model .*cut\.h5: .*truncated file"),
    ("cut.weights.h5", r"Cannot read weights file .*cut\.weights\.h5: .*truncated file.*It is truncated or not a "
                       r"Keras weights file"),
])
def test_truncated_files_are_user_errors(tmp_path, name, message):
    model = build_model("dnn")
    path = save_model(model, tmp_path / name)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # as a copy or a crash without nnlab would
    with pytest.raises(NnlabError, match=message):
        if name.endswith(".weights.h5"):
            load_weights(build_model("dnn"), path)
        else:
            load_model(path)


def test_save_model_refuses_unknown_suffix(tmp_path):
    with pytest.raises(NnlabError, match=r"Cannot tell how to save or load .*model\.tf"):
        save_model(build_model("logreg"), tmp_path / "model.tf")


def test_run_folder_resolves_to_its_best_model(tiny_run):
    assert resolve_model_path(tiny_run.run_dir) == tiny_run.run_dir / "best.keras"


def test_argmax_accuracy_equals_evaluate_before_and_after_reload(tiny_run, small_splits, tmp_path):
    x, y = small_splits.x_val, small_splits.y_val
    model = tiny_run.model
    before = evaluate(model, x, y, TASK)["accuracy"]
    assert argmax_accuracy(model, x, y, TASK) == pytest.approx(before, abs=1e-6)
    for name in ("again.keras", "again.h5"):
        reloaded = load_model(save_model(model, tmp_path / name))
        after = evaluate(reloaded, x, y, TASK)
        assert set(after) == {"loss", "accuracy"}
        assert after["accuracy"] == pytest.approx(before, abs=1e-6)
        assert argmax_accuracy(reloaded, x, y, TASK) == pytest.approx(before, abs=1e-6)


# ---------------------------------------------------------------- plain Keras -> nnlab


def _seeds_e2_model():
    # E2 as the seeds write it: flattened 784 inputs (Keras 3 still takes input_shape, with a warning).
    return keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])


def _seeds_e4_model():
    return keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
@pytest.mark.parametrize("make, flatten", [(_seeds_e2_model, True), (_seeds_e4_model, False)], ids=["E2", "E4"])
def test_plain_keras_model_loads_and_evaluates_on_images(make, flatten, small_splits, tmp_path):
    x, y = small_splits.x_val[:200], small_splits.y_val[:200]
    x_seeds = x.reshape(-1, 784) if flatten else x
    model = make()  # untrained: its random weights are as good a test of loading as trained ones
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    expected = model.evaluate(x_seeds, y, verbose=0, return_dict=True)
    model.save(str(tmp_path / "model-whole.keras"))  # plain Keras, no nnlab

    loaded = load_model(tmp_path / "model-whole.keras")
    got = evaluate(loaded, x, y, TASK)  # (N, 28, 28) images; TASK.adapt_inputs reshapes for the E2 model
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    np.testing.assert_allclose(loaded.predict(x_seeds, verbose=0), model.predict(x_seeds, verbose=0), rtol=1e-6)


def test_safe_mode_refuses_a_lambda_layer_without_running_it(tmp_path):
    marker = tmp_path / "lambda-ran"
    # The lambda leaves a file behind whenever it runs.
    touch = eval(f"lambda x: (open({str(marker)!r}, 'a').close(), x)[1]")
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(touch, output_shape=(28, 28)),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.predict(np.zeros((1, 28, 28), np.float32), verbose=0)
    assert marker.exists()  # running the model runs the lambda
    model.save(str(tmp_path / "lambda.keras"))
    marker.unlink()
    with pytest.raises(NnlabError, match=r"Cannot load model .*lambda\.keras.*(Lambda|safe_mode)"):
        load_model(tmp_path / "lambda.keras")
    assert not marker.exists()


# ---------------------------------------------------------------- nnlab -> plain Keras


KERAS_ONLY = textwrap.dedent("""
    import sys
    import keras
    import numpy as np

    assert "nnlab" not in sys.modules
    for path in sys.argv[2:]:
        model = keras.models.load_model(path)
        np.save(path + ".pred.npy", model.predict(np.load(sys.argv[1]), verbose=0))
    assert "nnlab" not in sys.modules
""")


def test_nnlab_models_load_in_plain_keras(images, tmp_path):
    models = {
        "sequential.keras": build_model("dnn", api="sequential", dropout=0.3),
        "functional.keras": build_model("dnn-sigmoid", api="functional"),
        "functional.h5": build_model("logreg", api="functional"),
    }
    np.save(tmp_path / "x.npy", images)
    for name, model in models.items():
        save_model(model, tmp_path / name)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-c", KERAS_ONLY, str(tmp_path / "x.npy"),
                           *(str(tmp_path / name) for name in models)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for name, model in models.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.pred.npy"), _predict(model, images), err_msg=name)


# ---------------------------------------------------------------- which task packages loading imports


ONE_TASK = textwrap.dedent("""
    import shutil, sys
    import nnlab
    from nnlab.core.saving import load_model

    fashion_run, ticket_run, loose = sys.argv[1:]
    load_model(fashion_run)
    print("after fashion:", "nnlab.fashion.task" in sys.modules, "nnlab.tickets" in sys.modules,
          "tensorflow" in sys.modules)
    shutil.copy(f"{ticket_run}/served.keras", loose)  # outside a run folder: no config.json names its task
    print("served.keras alone:", type(load_model(loose)).__name__, "nnlab.tickets.task" in sys.modules)
""")


def test_a_model_imports_only_its_own_task_and_a_loose_file_every_task(tiny_run, ticket_run, tmp_path):
    """A fashion model loads without the ticket package (nor TensorFlow, which its served model needs)."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", ONE_TASK, str(tiny_run.run_dir), str(ticket_run),
                           str(tmp_path / "served.keras")], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["after fashion: True False False", "served.keras alone: TicketTriage True"]
