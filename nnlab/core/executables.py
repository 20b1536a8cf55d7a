"""This machine's compiled exported functions, kept between processes: a cold call without compiling or lowering.

    >>> from nnlab.core.executables import compiled
    >>> call = compiled(function, (1, 28, 28), "float32", key="<the export's SHA-256>")   # a jax.export.Exported
    >>> call(x)                                   # what function.call(x) gives

Why: JAX's persistent compilation cache saves the XLA compile, but a call of an exported
function still lowers it first, and lowering for the CPU loads JAX's LAPACK kernels, which
import SciPy's linear algebra: about 0.45 s of CPU of a cold one-photo `nnlab predict`
(2.3 s in all; bench/predict_cold.py). A compiled executable read back with
``jax.experimental.serialize_executable`` skips both (about 0.05 s).

That API unpickles what it reads, so it must never read a file someone else wrote. Every
file here is signed: HMAC-SHA256 with a random key that only this user can read
(``$NNLAB_CACHE_DIR/executables/key``, mode 600, in a folder of mode 700); a file whose
signature does not match is ignored and replaced, and a key that others could read or
write turns the cache off. A file is named by what made it: the export's SHA-256, the
input shape, the jax and jaxlib versions, the backend's platform version and this
machine's CPU (model and flags: an executable compiled for one CPU may not run on another).

Only a fresh compile is written: an executable that JAX read from its own persistent
compilation cache serializes without its kernels, so a process that uses that cache
(``jax_compilation_cache_dir`` set: training does, ``nnlab predict`` with the exported
model does not) only reads. An entry is run once on zeros when read back; one that fails
is deleted and the function compiled again.

Everything here is an optimisation: any failure falls back to compiling the function.
"""

import hashlib
import hmac
import json
import os
import platform
from pathlib import Path

KEY_BYTES = 32


def cache_folder():
    return Path(os.environ.get("NNLAB_CACHE_DIR", "~/.cache/nnlab")).expanduser() / "executables"


def _secret(folder):
    """This user's signing key (made on first use), or None if it is missing, half-written or not private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(KEY_BYTES))
    except FileExistsError:
        pass
    for checked in (folder, path):
        info = checked.stat()
        if info.st_uid != os.getuid() or info.st_mode & (0o077 if checked == path else 0o022):
            return None  # someone else could read or change it
    key = path.read_bytes()
    return key if len(key) == KEY_BYTES else None  # another process may be writing it this instant


def _machine():
    """The CPU this runs on: what an executable compiled here may depend on."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return sorted({line for line in lines if line.startswith(("model name", "flags"))})
    except OSError:
        return [platform.machine(), platform.processor()]


def _entry(folder, key, shape, dtype):
    import jax
    import jaxlib

    made_from = {"format": 2, "export_sha256": key, "shape": list(shape), "dtype": dtype, "jax": jax.__version__,
                 "jaxlib": jaxlib.__version__, "platform": jax.devices()[0].client.platform_version,
                 "machine": _machine()}
    return folder / (hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()[:40] + ".bin")


def compiled(function, shape, dtype, key):
    """``function.call`` compiled for inputs of ``shape`` and ``dtype``: read back if cached, else compiled and cached.

    Args:
        function: a ``jax.export.Exported`` with one array input and one array output.
        shape, dtype: the input, batch included, e.g. ``(1, 28, 28)``, ``"float32"``.
        key: names ``function`` (the SHA-256 of its serialized bytes).
    """
    import jax

    try:
        folder = cache_folder()
        secret, entry = _secret(folder), _entry(folder, key, shape, dtype)
    except OSError:  # e.g. a read-only home: no cache
        secret = entry = None
    if secret is not None and entry.is_file():
        call = _read(entry, secret, shape, dtype)
        if call is not None:
            return call
    call = jax.jit(function.call).lower(jax.ShapeDtypeStruct(shape, dtype)).compile()
    # Only a fresh compile serializes whole: an executable that JAX read from its own persistent
    # compilation cache serializes without its kernels (another process then fails with "NOT_FOUND:
    # Function ... not found"). So nothing is written in a process that uses that cache.
    if secret is not None and not jax.config.jax_compilation_cache_dir:
        _write(entry, secret, call)
    return call


def _trees():
    import jax

    return jax.tree_util.tree_structure(((0,), {})), jax.tree_util.tree_structure(0)  # f(x) -> y


def _read(entry, secret, shape, dtype):
    """The executable in ``entry`` if this user's key signed it and it runs; else None (and a bad entry is deleted)."""
    import numpy as np
    from jax.experimental import serialize_executable

    try:
        data = entry.read_bytes()
        signature, payload = data[:KEY_BYTES], data[KEY_BYTES:]
        if not hmac.compare_digest(signature, hmac.new(secret, payload, "sha256").digest()):
            return None  # not ours (or damaged): never unpickled; replaced by the next write
        call = serialize_executable.deserialize_and_load(payload, *_trees())
        np.asarray(call(np.zeros(shape, dtype)))  # runs, here: a failure shows now, not in the caller's call
        return call
    except Exception:  # noqa: BLE001  another jax's format, or an executable that does not run here
        entry.unlink(missing_ok=True)
        return None


def _write(entry, secret, call):
    from jax.experimental import serialize_executable

    from nnlab.core.runs import atomic_path

    try:
        payload, *trees = serialize_executable.serialize(call)
        if tuple(trees) == _trees():
            with atomic_path(entry) as tmp:
                tmp.write_bytes(hmac.new(secret, payload, "sha256").digest() + payload)
    except Exception:  # noqa: BLE001  not serializable here, or a full disk: the call still works
        pass
