"""Saving stage: whole models (``.keras``, legacy ``.h5``) and weights (``.weights.h5``).

These are Keras' own formats, so files move freely between nnlab and plain Keras:
a model saved by the seeds' code loads here, and one saved here loads with
``keras.models.load_model``. Loading keeps Keras' ``safe_mode=True``: no code
stored in a model file is run.

    >>> from nnlab.core.saving import save_model, load_model, load_weights
    >>> save_model(model, "model-whole.keras")
    >>> save_model(model, "model.weights.h5")          # weights only
    >>> same = load_model("model-whole.keras")
    >>> load_weights(build_model("dnn", dropout=0.3), "model.weights.h5")   # nnlab.fashion.models.build_model
"""

import contextlib
import logging
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import keras

from nnlab.core.errors import NnlabError
from nnlab.core.runs import RUN_MODEL_FILES, atomic_path, model_file  # noqa: F401  (RUN_MODEL_FILES: re-exported)

MODEL_SUFFIXES = (".keras", ".h5")
WEIGHTS_SUFFIX = ".weights.h5"


def _kind(path):
    name = Path(path).name
    if name.endswith(WEIGHTS_SUFFIX):
        return "weights"
    if name.endswith(MODEL_SUFFIXES):
        return "model"
    raise NnlabError(
        f"Cannot tell how to save or load {path}: expected a name ending in .keras (whole model), "
        f".h5 (legacy whole model) or .weights.h5 (weights only)."
    )


def is_graph_model(model):
    """True for a Sequential or Functional model (a graph of layers), False for a keras.Model subclass."""
    return isinstance(model, keras.Sequential) or (type(model).__name__ == "Functional"
                                                   and type(model).__module__.startswith("keras."))


def save_model(model, path):
    """Save the whole model or only its weights, by the file name's ending; atomically (temp file + rename)."""
    path = Path(path)
    kind = _kind(path)
    if kind == "model" and path.suffix == ".h5" and not is_graph_model(model):
        # Keras writes such a file without complaint but cannot load it back (no layers to restore).
        raise NnlabError(f"Cannot save the subclassed model '{model.name}' ({type(model).__name__}) to {path}: "
                         "Keras' legacy .h5 format only restores Sequential and Functional models. "
                         "Save it as .keras (whole model) or .weights.h5, or build it with api='functional'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if kind == "weights":
            model.save_weights(str(tmp))
        else:
            model.save(str(tmp))
    return path


# A model file, or a run folder (its best model, else its final one): nnlab.core.runs.model_file, which
# imports no Keras (for `nnlab predict`'s fast path); the name is kept for the callers that load the model.
resolve_model_path = model_file


class _DropMessages(logging.Filter):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def filter(self, record):
        return self.text not in record.getMessage()


@contextlib.contextmanager
def _quiet(logger, text):
    """Hide log records containing ``text`` from ``logger`` for the duration only (other records pass)."""
    log_filter = _DropMessages(text)
    logging.getLogger(logger).addFilter(log_filter)
    try:
        yield
    finally:
        logging.getLogger(logger).removeFilter(log_filter)


def load_model(path, compile=True):
    """Load a whole model (``.keras`` or ``.h5``) or a run folder's best model, in safe mode.

    Models of every task load: each task's package registers its own layers and model classes
    with Keras when imported. Only the task named in the run folder's config.json is imported
    first, so a fashion model loads without the ticket package (whose served model needs
    TensorFlow); a class Keras still does not know (a file outside a run folder) makes it import
    every task package (``nnlab.core.task.import_tasks``) and try once more.
    """
    path = resolve_model_path(path)
    if _kind(path) == "weights":
        raise NnlabError(f"{path} holds weights only, not an architecture. Build the model first "
                         "(e.g. `build_model('dnn', dropout=0.3)`) and call load_weights(model, path), "
                         "or pass a .keras file.")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise NnlabError(f"Cannot load model {path}: it is not a .keras file (those are zip archives); it is "
                         "truncated or in another format. Save the model again, or pass another file.")
    import_run_task(path.parent)
    try:
        try:
            return _keras_load(path, compile)
        except (TypeError, ValueError) as error:
            if not _unknown_class(error):
                raise
        from nnlab.core.task import import_tasks

        import_tasks()
        return _keras_load(path, compile)
    except (ValueError, OSError) as error:  # not a model file, truncated, unsafe (Lambda)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NnlabError(f"Cannot load model {path}: {first_line}") from None
    except TypeError as error:  # Keras' words for a class it does not know; other TypeErrors are bugs
        if not _unknown_class(error):
            raise
        raise NnlabError(f"Cannot load model {path}: it uses a layer or model class that is not registered "
                         "with Keras here (custom code of the program that saved it); import that code "
                         "before loading, or save the model with built-in layers.") from None


def import_run_task(run_dir):
    """Import the package of the task named in ``run_dir/config.json`` (its Keras classes); None if none is named."""
    import json

    from nnlab.core.task import get_task

    try:
        name = json.loads((Path(run_dir) / "config.json").read_text()).get("task")
    except (OSError, ValueError, AttributeError):  # no run folder, or a config.json that is not a JSON object
        return None
    try:
        return get_task(name) if isinstance(name, str) else None
    except NnlabError:  # a task this nnlab does not know: load_model still tries every task package
        return None


def _keras_load(path, compile):
    # Legacy .h5 files make Keras log a harmless "compiled metrics" warning through absl.
    with _quiet("absl", "ompiled"):
        return keras.models.load_model(str(path), compile=compile, safe_mode=True)


def _unknown_class(error):
    """True when Keras failed on a layer or model class that is not registered (.keras: TypeError; .h5: ValueError)."""
    text = str(error)
    return any(words in text for words in ("could not be deserialized", "Could not locate", "Unknown layer"))


def _snake(name):
    """Class name -> Keras' h5 group name (same rule as Keras: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _model_shapes(model):
    """{'dense': [(784, 100), (100,)], 'dense_1': ...}: each layer with weights, named as Keras' h5 files do."""
    counts, shapes = defaultdict(int), {}
    for layer in _leaf_layers(model):
        if not layer.weights:
            continue
        base = _snake(type(layer).__name__)
        key = base if counts[base] == 0 else f"{base}_{counts[base]}"
        counts[base] += 1
        shapes[key] = [tuple(w.shape) for w in layer.weights]
    return shapes


def _leaf_layers(model):
    """Layers that hold their own weights, depth first (what Keras' weights files list)."""
    for layer in model.layers:
        if getattr(layer, "layers", None):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _file_shapes(path):
    import h5py

    shapes = defaultdict(list)

    def visit(name, obj):
        parts = name.split("/")
        if isinstance(obj, h5py.Dataset) and len(parts) >= 3 and parts[-2] == "vars" and parts[0] == "layers":
            shapes[parts[-3]].append((int(parts[-1]), tuple(obj.shape)))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return {key: [shape for _, shape in sorted(values)] for key, values in shapes.items()}


def describe_mismatch(model, path):
    """One readable sentence on how the weights file and the model differ, layer by layer."""
    try:
        in_file, in_model = _file_shapes(path), _model_shapes(model)
    except OSError as error:
        return f"{path} is not a readable weights file ({error})"
    problems = []
    for key in sorted(set(in_file) | set(in_model)):
        if key not in in_model:
            problems.append(f"the file has layer '{key}' {in_file[key]} that the model lacks")
        elif key not in in_file:
            problems.append(f"the model's layer '{key}' {in_model[key]} is missing from the file")
        elif in_file[key] != in_model[key]:
            problems.append(f"layer '{key}': the file has shapes {in_file[key]}, the model {in_model[key]}")
    return "; ".join(problems) or "the layer lists differ"


def load_weights(model, path):
    """Load ``.weights.h5`` into ``model``; a different architecture gives a layer-by-layer error."""
    path = Path(path)
    if not path.is_file():
        raise NnlabError(f"Weights file {path} does not exist.")
    if _kind(path) != "weights":
        raise NnlabError(f"{path} is not a weights file (expected a name ending in .weights.h5); "
                         "to load a whole model use load_model.")
    try:
        model.load_weights(str(path))
    except OSError as error:  # h5py: truncated, or not HDF5 at all
        raise NnlabError(f"Cannot read weights file {path}: {error}. It is truncated or not a Keras weights "
                         "file; save the weights again, or pass another file.") from None
    except ValueError:
        raise NnlabError(
            f"The weights in {path} do not fit model '{model.name}': {describe_mismatch(model, path)}. "
            "Build the model with the same preset and options as the one that saved them."
        ) from None
    return model
