"""nnlab.core.executables: compiled exported functions read back only when this user's nnlab signed them."""

import os
import subprocess
import sys

import jax
import keras
import numpy as np
import pytest
from jax import export
from jax.experimental import serialize_executable

from nnlab.core import executables

X = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)


@pytest.fixture
def function():
    """A small exported model: (b, 28, 28) -> (b, 10) softmax."""
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    weights = [v.value for v in model.trainable_variables]
    forward = jax.jit(lambda x: model.stateless_call(weights, [], x, training=False)[0])
    return export.export(forward)(jax.ShapeDtypeStruct((export.symbolic_shape("b")[0], 28, 28), "float32"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CACHE_DIR", str(tmp_path))
    return tmp_path / "executables"


@pytest.fixture
def loads(monkeypatch):
    """How many executables were read back from the cache."""
    count = []
    real = serialize_executable.deserialize_and_load
    monkeypatch.setattr(serialize_executable, "deserialize_and_load", lambda *a, **k: count.append(1) or real(*a, **k))
    return count


def entries(cache):
    return sorted(p for p in cache.glob("*.bin"))


def test_the_second_call_reads_back_what_the_first_compiled(function, cache, loads):
    expected = np.asarray(function.call(X))
    first = executables.compiled(function, X.shape, "float32", key="k")
    assert loads == [] and len(entries(cache)) == 1
    assert (cache / "key").stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    second = executables.compiled(function, X.shape, "float32", key="k")
    assert loads == [1]
    np.testing.assert_array_equal(np.asarray(first(X)), expected)
    np.testing.assert_array_equal(np.asarray(second(X)), expected)
    executables.compiled(function, (1, 28, 28), "float32", key="k")  # another shape: another file
    executables.compiled(function, X.shape, "float32", key="other export")
    assert len(entries(cache)) == 3 and loads == [1]


@pytest.mark.parametrize("damage", ["payload", "signature", "truncated", "foreign key"])
def test_a_file_not_signed_with_this_user_s_key_is_never_unpickled(function, cache, loads, damage):
    executables.compiled(function, X.shape, "float32", key="k")
    (entry,) = entries(cache)
    data = entry.read_bytes()
    if damage == "payload":
        entry.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "signature":
        entry.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    elif damage == "truncated":
        entry.write_bytes(data[:len(data) // 2])
    else:  # signed by someone else: another key
        (cache / "key").write_bytes(os.urandom(32))
    call = executables.compiled(function, X.shape, "float32", key="k")
    assert loads == []  # compiled again instead
    np.testing.assert_array_equal(np.asarray(call(X)), np.asarray(function.call(X)))
    executables.compiled(function, X.shape, "float32", key="k")
    assert loads == [1]  # the replacement is signed and read back


def test_a_key_others_can_read_turns_the_cache_off(function, cache, loads):
    executables.compiled(function, X.shape, "float32", key="k")
    (cache / "key").chmod(0o644)
    call = executables.compiled(function, X.shape, "float32", key="k")
    assert loads == [] and np.asarray(call(X)).shape == (2, 10)


def test_a_cold_process_reads_it_back_without_scipy(tmp_path):
    code = ("import sys, numpy as np, jax; from jax import export; from nnlab.core.executables import compiled; "
            f"f = export.deserialize(bytearray(open({str(tmp_path / 'f.bin')!r}, 'rb').read())); "
            "y = compiled(f, (2, 28, 28), 'float32', key='k')(np.ones((2, 28, 28), np.float32)); "
            "print(np.asarray(y).sum().round(4), 'scipy' in sys.modules)")
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    weights = [v.value for v in model.trainable_variables]
    forward = jax.jit(lambda x: model.stateless_call(weights, [], x, training=False)[0])
    spec = jax.ShapeDtypeStruct((export.symbolic_shape("b")[0], 28, 28), "float32")
    (tmp_path / "f.bin").write_bytes(export.export(forward)(spec).serialize())
    env = {**os.environ, "NNLAB_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)]
    assert [run.stdout.split() for run in runs] == [["2.0", "True"], ["2.0", "False"]], runs[1].stderr
