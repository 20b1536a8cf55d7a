"""Exported models: a Keras model saved as a JAX inference file that runs without importing Keras.

    >>> from nnlab.core import exported
    >>> exported.export_model(model, "runs/<run>/calibrated.keras")   # -> runs/<run>/calibrated.keras.jaxexport
    >>> predict = exported.load_exported("runs/<run>/calibrated.keras")   # raises Unusable: missing, stale, damaged
    >>> predict(x)          # x: (n, 28, 28) float32 -> (n, 10), the probabilities model.predict(x) gives

Why: a cold ``nnlab predict RUN photo.png`` spent most of its time importing Keras
(~3.5 s: JAX, then scikit-learn and matplotlib that Keras' wrappers and visualisation
modules pull in, then Keras itself) and loading the model, to run one tiny forward pass.
The exported file holds that forward pass, compiled from the Keras model by JAX's public
``jax.export`` API, so a later process only imports JAX.

The file, ``<model file>.jaxexport`` next to the model it was made from, is one line of
JSON, then the bytes of ``jax.export.Exported.serialize()``:

    format          "nnlab.exported/1"
    source          the model file's name, size and SHA-256 when exported
    input_shape     the model's input, e.g. [null, 28, 28], and input_dtype ("float32")
    platforms       where the compiled function runs, e.g. ["cpu"]
    versions        nnlab, Keras, jax and jaxlib that made it
    export_bytes    length and SHA-256 of the serialized function that follows the line

It is only used when all of these still hold (``load_exported`` checks them): the model
file is the one it was made from, the versions are the ones installed, this machine's JAX
backend is one of its platforms, and the bytes are whole. Otherwise it is ignored and,
where nnlab loads the model with Keras anyway, written again. Loading it runs no Python
code stored in it (a serialized StableHLO module, not a pickle), as Keras' safe mode.

Weights are constants of the function: ``model.stateless_call(weights, x, training=False)``
is what ``model.predict`` runs. The batch dimension is symbolic, and calls are padded to a
power-of-two batch, so that a handful of compiled sizes serve every call; each is compiled
once per machine and kept, signed, in ``~/.cache/nnlab/executables`` (nnlab.core.executables).

Measured with bench/predict_cold.py (cnn-fast run, one JPEG, 2 cores shared with training
jobs, load average 2): a cold ``nnlab predict`` took 5.4 s (5.3 s of CPU) with Keras and
1.8 s (1.9 s of CPU) with this file and its compiled function read back; lowering the call
instead costs ~0.45 s more CPU (SciPy, imported for JAX's CPU kernels). The rest is
importing JAX (~0.8 s) and the CLI's Typer, pydantic and Rich (~0.3 s).

``NNLAB_EXPORT=0`` turns the files off: none is used, none is written. Only the JAX
backend of Keras makes or uses them.
"""

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError

SUFFIX = ".jaxexport"
FORMAT = "nnlab.exported/1"
BATCH = 256  # largest batch one call compiles for; longer inputs go in slices of this size


class Unusable(Exception):
    """An exported file that cannot be used; ``kind`` is "missing", "stale" (made from something else) or "damaged"."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind


def enabled():
    """True unless ``NNLAB_EXPORT=0``, and only when Keras runs on JAX (``KERAS_BACKEND``, which nnlab sets)."""
    return os.environ.get("NNLAB_EXPORT", "1") != "0" and os.environ.get("KERAS_BACKEND") == "jax"


def exported_path(model_path):
    """Where the exported copy of ``model_path`` goes: ``best.keras`` -> ``best.keras.jaxexport``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + SUFFIX)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions():
    import jax
    import jaxlib

    import nnlab

    return {"nnlab": nnlab.__version__, "keras": importlib.metadata.version("keras"), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__}


# ---------------------------------------------------------------- writing


def exportable(model):
    """None when ``model`` can be exported (one array input of known shape, one output), else why not."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return f"model {model.name!r} has no symbolic inputs (a subclassed model that was never called on keras.Input)"
    if len(inputs) != 1 or len(model.outputs) != 1:
        return f"model {model.name!r} has {len(inputs)} inputs and {len(model.outputs)} outputs; only 1 and 1 export"
    if any(size is None for size in inputs[0].shape[1:]):
        return f"model {model.name!r} takes inputs of shape {tuple(inputs[0].shape)}; only the batch size may vary"
    if "float" not in str(inputs[0].dtype):
        return f"model {model.name!r} takes {inputs[0].dtype} inputs; only float inputs export"
    return None


def export_model(model, model_path, source_sha256=None):
    """Write ``model`` (loaded from ``model_path``) as ``<model_path>.jaxexport``, atomically; returns that path.

    Args:
        model: the Keras model (JAX backend) read from ``model_path``.
        model_path: its file; the exported file records its size and SHA-256.
        source_sha256: the file's SHA-256 taken before it was loaded (so a file replaced
            meanwhile is not vouched for). Defaults to hashing it now.

    Raises:
        NnlabError: the model cannot be exported (see ``exportable``).
    """
    import jax
    from jax import export

    from nnlab.core.runs import atomic_path

    problem = exportable(model)
    if problem:
        raise NnlabError(f"cannot export {model_path}: {problem}.")
    model_path = Path(model_path)
    spec = model.inputs[0]
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def forward(x):  # (b, *input) -> (b, *output): what model.predict computes
        outputs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return outputs

    batch = export.symbolic_shape("b")[0]
    function = export.export(jax.jit(forward))(jax.ShapeDtypeStruct((batch, *spec.shape[1:]), str(spec.dtype)))
    blob = bytes(function.serialize())
    header = {"format": FORMAT,
              "source": {"name": model_path.name, "bytes": model_path.stat().st_size,
                         "sha256": source_sha256 or file_sha256(model_path)},
              "input_shape": [None, *spec.shape[1:]], "input_dtype": str(spec.dtype),
              "platforms": list(function.platforms), "versions": _versions(),
              "export_bytes": len(blob), "export_sha256": hashlib.sha256(blob).hexdigest()}
    path = exported_path(model_path)
    with atomic_path(path) as tmp:  # kill -9 at any moment: the old file or the new one, never half
        tmp.write_bytes(json.dumps(header).encode() + b"\n" + blob)
    _remove_leftovers(path)
    return path


def _remove_leftovers(path):
    """Delete the temporary files that writers of ``path`` killed mid-write left (those whose process is gone)."""
    from nnlab.core.runs import TMP_MARK

    stem, _, suffixes = path.name.partition(".")
    for leftover in path.parent.glob(f".{stem}{TMP_MARK}*.{suffixes}"):
        pid = leftover.name[len(stem) + 1 + len(TMP_MARK):].split("-")[0]  # .<stem>.tmp-<pid>-<n>.<suffixes>
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except (ValueError, OSError):  # not our naming, or a process we may not signal: leave it
            pass


def export_beside(model, model_path, source_sha256=None):
    """``export_model`` for those who can do without it: ``(path, None)``, or ``(None, why it failed)``; never raises.

    Writes nothing and says nothing (``(None, None)``) when exported files are turned off
    (``enabled()``) or the model is not of the kind that exports (``exportable``: e.g. the
    ticket models' several inputs).
    """
    if not enabled() or exportable(model):
        return None, None
    try:
        return export_model(model, model_path, source_sha256), None
    except Exception as error:  # noqa: BLE001  an optional speed-up: a failure must not stop the command
        first_line = (str(error).strip().splitlines() or [""])[0]
        return None, f"cannot export {model_path}: {type(error).__name__}: {first_line}"


# ---------------------------------------------------------------- reading


class ExportedModel:
    """The exported forward pass of a model: ``model(x)`` returns what ``keras_model.predict(x)`` returns."""

    def __init__(self, function, header, path):
        self.function = function  # a jax.export.Exported
        self.header = header
        self.path = path
        self.input_shape = tuple(header["input_shape"][1:])
        self._calls = {}  # batch size -> the function compiled for it

    def _compiled(self, batch):
        """The function compiled for ``batch`` samples (nnlab.core.executables: read back when this machine has it)."""
        if batch not in self._calls:
            from nnlab.core.executables import compiled

            self._calls[batch] = compiled(self.function, (batch, *self.input_shape), self.header["input_dtype"],
                                          key=self.header["export_sha256"])
        return self._calls[batch]

    def __call__(self, x, batch_size=BATCH):
        """Predictions for ``x`` of shape (n, *input_shape) (or any shape with as many values per sample)."""
        x = np.asarray(x, self.header["input_dtype"])
        if x.shape[1:] != self.input_shape:  # e.g. (n, 28, 28) images for a model taking (n, 784)
            if int(np.prod(x.shape[1:])) != int(np.prod(self.input_shape)):
                raise NnlabError(f"{self.path} takes inputs of shape {self.input_shape}, got {tuple(x.shape[1:])}.")
            x = x.reshape((len(x), *self.input_shape))
        pieces = []
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            padded = 1 << (len(chunk) - 1).bit_length()  # 1, 2, 4, ...: few shapes to compile and cache
            if padded != len(chunk):
                chunk = np.concatenate([chunk, np.zeros((padded - len(chunk), *chunk.shape[1:]), chunk.dtype)])
            pieces.append(np.asarray(self._compiled(len(chunk))(chunk))[:min(batch_size, len(x) - start)])
        if not pieces:
            return np.zeros((0, *self.function.out_avals[0].shape[1:]), self.function.out_avals[0].dtype)
        return np.concatenate(pieces)


def read_header(path):
    """``(header dict, serialized function bytes)`` of an exported file; raises Unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Unusable("missing", f"{path} does not exist") from None
    except OSError as error:
        raise Unusable("damaged", f"{path} is unreadable ({error.strerror or error})") from None
    line, _, blob = data.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Unusable("damaged", f"{path} is not an nnlab exported model (no {FORMAT} header)")
    expected = header.get("export_bytes")
    if len(blob) != expected:
        raise Unusable("damaged", f"{path} is truncated or damaged ({len(blob):,} bytes after its header, "
                                  f"{expected:,} expected)" if isinstance(expected, int) else
                                  f"{path} has no export_bytes in its header")
    if hashlib.sha256(blob).hexdigest() != header.get("export_sha256"):
        raise Unusable("damaged", f"{path} is damaged (its SHA-256 is not the one in its header)")
    return header, blob


def load_exported(model_path):
    """The exported copy of ``model_path`` as an ``ExportedModel``, if it is current; raises Unusable.

    Imports JAX, never Keras.
    """
    model_path = Path(model_path)
    path = exported_path(model_path)
    header, blob = read_header(path)
    source = header.get("source") or {}
    try:
        size = model_path.stat().st_size
    except OSError:
        raise Unusable("stale", f"{model_path}, which {path.name} was made from, is gone") from None
    if source.get("name") != model_path.name or source.get("bytes") != size or \
            source.get("sha256") != file_sha256(model_path):
        raise Unusable("stale", f"{path.name} was made from another {source.get('name')} than {model_path}")
    if header.get("versions") != _versions():
        raise Unusable("stale", f"{path.name} was made with {header.get('versions')}, not {_versions()}")
    import jax
    from jax import export

    if jax.default_backend() not in header.get("platforms", ()):
        raise Unusable("stale", f"{path.name} runs on {header.get('platforms')}, not on {jax.default_backend()}")
    try:
        function = export.deserialize(bytearray(blob))
    except Exception as error:  # noqa: BLE001  bytes that passed the checksum but that this jax cannot read
        raise Unusable("damaged", f"{path} cannot be read by jax {jax.__version__} ({type(error).__name__})") from None
    return ExportedModel(function, header, path)
