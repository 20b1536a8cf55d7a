"""nnlab.core.exported: the Keras-free exported copy of a model gives Keras' predictions, and is never misused."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from nnlab.core import exported
from nnlab.core.errors import NnlabError
from nnlab.core.exported import Unusable, export_beside, export_model, exported_path, load_exported
from nnlab.core.saving import load_model, save_model


@pytest.fixture
def model_file(tiny_run, tmp_path):
    """A private copy of the tiny run's best.keras (the seeds' final dense model, trained 3 epochs)."""
    return shutil.copy(tiny_run.run_dir / "best.keras", tmp_path / "best.keras")


@pytest.fixture
def artifact(model_file):
    return export_model(load_model(model_file), model_file)


def test_predictions_equal_keras_on_test_images_and_through_photos(model_file, artifact, splits):
    from nnlab.fashion.photoset import through_photos

    assert artifact == exported_path(model_file) == model_file.with_name("best.keras.jaxexport")
    keras_model, fast = load_model(model_file), load_exported(model_file)
    x = splits.x_test[:300]
    photos = through_photos(np.rint(x[:40] * 255).astype(np.uint8), seed=0)
    for images in (x, photos, x[:1], x[:3], splits.x_test[:600]):  # 600: more than one batch of 256
        got = fast(images)
        assert got.shape == (len(images), 10) and got.dtype == np.float32
        np.testing.assert_allclose(got, keras_model.predict(images, verbose=0), rtol=0, atol=1e-5)


def test_the_header_says_what_it_was_made_from(model_file, artifact):
    header = json.loads(artifact.read_bytes().split(b"\n", 1)[0])
    assert header["format"] == "nnlab.exported/1" and header["source"]["name"] == "best.keras"
    assert header["source"]["bytes"] == model_file.stat().st_size
    assert header["source"]["sha256"] == exported.file_sha256(model_file)
    assert header["input_shape"] == [None, 28, 28] and header["input_dtype"] == "float32"
    assert header["platforms"] == ["cpu"] and set(header["versions"]) == {"nnlab", "keras", "jax", "jaxlib"}


def test_a_model_taking_flat_inputs_gets_images_reshaped(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "flat.keras"
    save_model(model, path)
    export_model(model, path)
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(load_exported(path)(x), model.predict(x.reshape(5, 784), verbose=0), atol=1e-6)
    with pytest.raises(NnlabError, match=r"takes inputs of shape \(784,\), got \(27, 27\)"):
        load_exported(path)(x[:, :27, :27])


@pytest.mark.parametrize("change, kind, message", [
    ("missing", "missing", "does not exist"),
    ("retrained", "stale", "was made from another best.keras"),
    ("versions", "stale", "was made with"),
    ("platform", "stale", "runs on \\['tpu'\\], not on cpu"),
    ("truncated", "damaged", "is truncated or damaged"),
    ("flipped", "damaged", "is damaged \\(its SHA-256"),
    ("garbage", "damaged", "is not an nnlab exported model"),
    ("empty", "damaged", "is not an nnlab exported model"),
])
def test_a_missing_stale_or_damaged_file_is_refused_by_kind(model_file, artifact, change, kind, message):
    data = artifact.read_bytes()
    line, _, blob = data.partition(b"\n")
    header = json.loads(line)
    if change == "missing":
        artifact.unlink()
    elif change == "retrained":
        retrained = load_model(model_file)
        retrained.layers[-1].bias.assign(retrained.layers[-1].bias + 1.0)
        save_model(retrained, model_file)
    elif change in ("versions", "platform"):
        header.update(versions={**header["versions"], "jax": "0.0.1"} if change == "versions" else header["versions"],
                      platforms=["tpu"] if change == "platform" else header["platforms"])
        artifact.write_bytes(json.dumps(header).encode() + b"\n" + blob)
    else:
        i = len(line) + 1 + len(blob) // 2
        artifact.write_bytes({"truncated": data[:i], "flipped": data[:i] + bytes([data[i] ^ 1]) + data[i + 1:],
                              "garbage": b"PK\x03\x04 not an export", "empty": b""}[change])
    with pytest.raises(Unusable, match=message) as refused:
        load_exported(model_file)
    assert refused.value.kind == kind


def test_a_write_that_dies_midway_leaves_the_previous_file(model_file, artifact, monkeypatch):
    before = artifact.read_bytes()
    real_write = type(artifact).write_bytes

    def dies_halfway(self, data):
        real_write(self, data[:len(data) // 2])
        raise KeyboardInterrupt  # as Ctrl-C would; kill -9 leaves only the hidden temporary file

    monkeypatch.setattr(type(artifact), "write_bytes", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        export_model(load_model(model_file), model_file)
    monkeypatch.undo()
    assert artifact.read_bytes() == before
    assert sorted(p.name for p in model_file.parent.iterdir()) == ["best.keras", "best.keras.jaxexport"]
    load_exported(model_file)


def test_the_next_write_removes_what_a_killed_writer_left(model_file, artifact):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = model_file.with_name(f".best.tmp-{int(dead.stdout)}-1.keras.jaxexport")  # as atomic_path names it
    alive = model_file.with_name(f".best.tmp-{os.getpid()}-99.keras.jaxexport")  # a write still going on
    for leftover in (killed, alive):
        leftover.write_bytes(artifact.read_bytes()[:1000])
    export_model(load_model(model_file), model_file)
    assert not killed.exists() and alive.exists()


def test_models_that_do_not_export_are_skipped_quietly(tmp_path, monkeypatch):
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    two_inputs = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()([inputs["a"], inputs["b"]])))
    with pytest.raises(NnlabError, match="has 2 inputs and 1 outputs; only 1 and 1 export"):
        export_model(two_inputs, tmp_path / "two.keras")
    assert export_beside(two_inputs, tmp_path / "two.keras") == (None, None)
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    monkeypatch.setenv("NNLAB_EXPORT", "0")
    assert not exported.enabled() and export_beside(dense, tmp_path / "dense.keras") == (None, None)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("NNLAB_EXPORT", "1")
    path, problem = export_beside(dense, tmp_path / "missing-file.keras")  # the model file is not there
    assert path is None and "cannot export" in problem and "FileNotFoundError" in problem


def test_model_file_agrees_with_saving(tiny_run, tmp_path):
    from nnlab.core import runs, saving

    assert runs.RUN_MODEL_FILES == saving.RUN_MODEL_FILES
    assert runs.model_file(tiny_run.run_dir) == saving.resolve_model_path(tiny_run.run_dir)
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "nope.keras"):
        with pytest.raises(NnlabError) as ours:
            runs.model_file(path)
        with pytest.raises(NnlabError) as theirs:
            saving.resolve_model_path(path)
        assert str(ours.value) == str(theirs.value)


def test_loading_and_calling_imports_no_keras(model_file, artifact):
    code = (f"import sys, numpy as np, nnlab; from nnlab.core.exported import load_exported; "
            f"p = load_exported({str(model_file)!r})(np.zeros((2, 28, 28), np.float32)); "
            "print(p.shape, sorted(m for m in ('keras', 'sklearn', 'tensorflow', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NNLAB_CACHE_DIR": str(model_file.parent / "cache")})
    assert out.stdout.strip() == "(2, 10) []", out.stderr
