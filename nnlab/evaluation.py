"""Evaluation stage: accuracy and loss, class probabilities, and images from files.

    >>> from nnlab.evaluation import evaluate, predict_proba, load_images
    >>> evaluate(model, splits.x_val, splits.y_val)           # {'loss': ..., 'accuracy': ...}
    >>> probs = predict_proba(model, load_images(["bag.jpg"]))  # (1, 10), rows sum to 1

``evaluate`` works on any model, compiled or not (the seeds note that ``evaluate``
needs ``compile``; we compile with the seeds' loss when a loaded model was not).
Inputs are reshaped to what the model expects, so models trained by the seeds on
flattened (N, 784) pixels and nnlab's (N, 28, 28) models take the same arrays.
"""

from pathlib import Path

import numpy as np

from nnlab.data import IMAGE_SHAPE
from nnlab.errors import NnlabError


def fit_input(model, x):
    """Reshape images to the model's input shape, e.g. (N, 28, 28) -> (N, 784) for the seeds' E2 model."""
    try:
        shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
    except (AttributeError, ValueError):
        shape = None  # subclassed models have no symbolic input
    if shape is None or None in shape or tuple(x.shape[1:]) == shape:
        return x
    if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
        raise NnlabError(f"model '{model.name}' expects inputs of shape {shape}, "
                         f"got images of shape {tuple(x.shape[1:])}.")
    return x.reshape((len(x), *shape))


def ensure_compiled(model):
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def evaluate(model, x, y, batch_size=1000):
    """``model.evaluate`` as a dict ``{'loss': float, 'accuracy': float}``."""
    ensure_compiled(model)
    results = model.evaluate(fit_input(model, x), y, batch_size=batch_size, verbose=0, return_dict=True)
    results = {key: float(value) for key, value in results.items()}
    if "compile_metrics" in results:  # loaded models may report their metrics under this key
        results["accuracy"] = results.pop("compile_metrics")
    return results


def predict_proba(model, x, batch_size=1000):
    """Class probabilities, shape (N, 10)."""
    return np.asarray(model.predict(fit_input(model, x), batch_size=batch_size, verbose=0))


def argmax_accuracy(model, x, y, batch_size=1000):
    """Accuracy from ``predict`` + ``np.argmax(axis=-1)``, as the seeds compute it."""
    return float(np.mean(np.argmax(predict_proba(model, x, batch_size), axis=-1) == y))


def load_image(path):
    """One photo -> (28, 28) float32 in 0..1, light item on a dark background like Fashion-MNIST.

    Product photos usually show a dark item on a light background, so an image
    whose border is mostly light is inverted. The item is fitted into the frame
    with its aspect ratio kept.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            gray = ImageOps.exif_transpose(image).convert("L")
    except FileNotFoundError:
        raise NnlabError(f"Image {path} does not exist.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise NnlabError(f"{path} is not a readable image ({error}); use a PNG or JPEG file.") from None
    pixels = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127:
        gray = ImageOps.invert(gray)
    gray = ImageOps.pad(gray, IMAGE_SHAPE, color=0, method=Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.float32) / 255.0


def load_images(paths):
    """Several photos -> (N, 28, 28) float32."""
    return np.stack([load_image(Path(p)) for p in paths])
