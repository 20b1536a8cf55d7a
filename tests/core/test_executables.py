"""nnlab.core.executables: compiled exported functions read back only when this user's nnlab signed them.

Entries are written in child processes: only a process without JAX's persistent compilation
cache writes (this test session's trainings turned it on), as `nnlab predict` runs.
"""

import hmac
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from jax import export
from jax.experimental import serialize_executable

from nnlab.core import executables

# A child process: export a small model (fixed weights), call it compiled for (2, 28, 28) twice over
# compiled(), print the sum of the outputs and whether SciPy (which lowering imports) was imported.
CHILD = """
import sys, numpy as np, jax
from jax import export
from nnlab.core.executables import compiled
w = np.linspace(-1, 1, 784 * 10, dtype=np.float32).reshape(784, 10)
forward = jax.jit(lambda x: jax.nn.softmax(jax.nn.relu(x.reshape(x.shape[0], 784)) @ w))
f = export.export(forward)(jax.ShapeDtypeStruct((export.symbolic_shape("b")[0], 28, 28), "float32"))
x = np.linspace(0, 1, 2 * 784, dtype=np.float32).reshape(2, 28, 28)
y = np.asarray(compiled(f, (2, 28, 28), "float32", key="k")(x))
print(np.round(y.sum(axis=1), 4).tolist(), round(float(y[0, 3]), 6), "scipy" in sys.modules)
"""


def child(tmp_path):
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NNLAB_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CACHE_DIR", str(tmp_path))
    return tmp_path / "executables"


@pytest.fixture
def reads_only(tmp_path):
    """This process as a user of JAX's persistent cache (training turns it on): it reads entries, never writes."""
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "jax"))
    yield
    jax.config.update("jax_compilation_cache_dir", before)


@pytest.fixture
def loads(monkeypatch):
    """How many executables were unpickled."""
    count = []
    real = serialize_executable.deserialize_and_load
    monkeypatch.setattr(serialize_executable, "deserialize_and_load", lambda *a, **k: count.append(1) or real(*a, **k))
    return count


def entries(cache):
    return sorted(cache.glob("*.bin"))


def test_a_cold_process_reads_back_what_the_first_compiled_without_lowering(cache):
    first = child(cache.parent)
    assert first.endswith("True") and len(entries(cache)) == 1  # compiled: lowering imported SciPy
    assert (cache / "key").stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    second = child(cache.parent)
    assert second == first.replace("True", "False")  # read back: same numbers, no lowering


@pytest.mark.parametrize("damage", ["payload", "signature", "truncated", "foreign key"])
def test_a_file_not_signed_with_this_user_s_key_is_never_unpickled(cache, reads_only, loads, damage):
    first = child(cache.parent)
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
    function = _function()
    call = executables.compiled(function, (2, 28, 28), "float32", key="k")
    assert loads == []  # compiled here instead
    np.testing.assert_array_equal(np.asarray(call(X)), np.asarray(function.call(X)))
    assert child(cache.parent) == first  # the child compiled again (SciPy) and replaced it, signed
    assert child(cache.parent) == first.replace("True", "False")


def test_a_signed_entry_that_does_not_load_is_deleted(cache, reads_only, loads):
    child(cache.parent)
    (entry,) = entries(cache)
    secret = (cache / "key").read_bytes()
    payload = b"not an executable"
    entry.write_bytes(hmac.new(secret, payload, "sha256").digest() + payload)
    call = executables.compiled(_function(), (2, 28, 28), "float32", key="k")
    assert loads == [1] and not entry.exists() and np.asarray(call(X)).shape == (2, 10)


def test_a_key_others_can_read_turns_the_cache_off(cache, reads_only, loads):
    child(cache.parent)
    (cache / "key").chmod(0o644)
    call = executables.compiled(_function(), (2, 28, 28), "float32", key="k")
    assert loads == [] and np.asarray(call(X)).shape == (2, 10)


def test_nothing_is_written_where_jax_s_own_cache_is_used(cache, reads_only):
    executables.compiled(_function(), (2, 28, 28), "float32", key="k")
    assert entries(cache) == [] and (cache / "key").is_file()


X = np.linspace(0, 1, 2 * 784, dtype=np.float32).reshape(2, 28, 28)


def _function():
    """The child's exported function, in this process."""
    w = np.linspace(-1, 1, 784 * 10, dtype=np.float32).reshape(784, 10)
    forward = jax.jit(lambda x: jax.nn.softmax(jax.nn.relu(x.reshape(x.shape[0], 784)) @ w))
    return export.export(forward)(jax.ShapeDtypeStruct((export.symbolic_shape("b")[0], 28, 28), "float32"))
