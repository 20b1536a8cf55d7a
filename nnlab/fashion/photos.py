"""Product photos -> Fashion-MNIST-like model inputs.

    >>> from nnlab.fashion.photos import load_images
    >>> x = load_images(["bag.jpg", "shoe.png"])       # (2, 28, 28) float32 in 0..1
"""

from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.fashion.data import IMAGE_SHAPE


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
