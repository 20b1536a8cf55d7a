"""Real image files for schemathesis: the strategy for the binary fields of /v1/predict and /v1/bag.

    schemathesis run http://127.0.0.1:8000/openapi.json --checks all   # from the repository root

The schema says each uploaded file is an image (``encoding.files.contentType``: PNG, JPEG,
WebP, GIF, BMP, TIFF). Left to itself, schemathesis fills a ``format: binary`` field with
random bytes, which no server can read as a picture, so its "schema-valid request accepted"
check would only measure that. This strategy draws real files of the declared types instead
(Pillow: format, mode, size from 1x1 to 64x48, noise or one flat colour), so the check asks
the real question: is every image the schema allows answered with 200? It replaces the
strategy of every ``format: binary`` string, which in nnlab's API are the uploads alone.
(Registered per media type, schemathesis 4.32 would send the array's parts without a file
name, and a part without one is a text field to every multipart parser.)
``schemathesis.toml`` at the repository root loads this file for the command line;
tests/serving/test_openapi.py passes it too.
"""

import io

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image

# Pillow format -> (media type, modes it writes); the media types are those the schema declares
FORMATS = {
    "PNG": ("image/png", ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")),
    "JPEG": ("image/jpeg", ("L", "RGB", "CMYK")),
    "WEBP": ("image/webp", ("RGB", "RGBA")),
    "GIF": ("image/gif", ("L", "P")),
    "BMP": ("image/bmp", ("1", "L", "P", "RGB")),
    "TIFF": ("image/tiff", ("1", "L", "RGB", "RGBA", "CMYK")),
}


@st.composite
def image_file(draw, kind):
    """Bytes of one image file in Pillow format ``kind``."""
    mode = draw(st.sampled_from(FORMATS[kind][1]))
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 48))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    if draw(st.booleans()):  # one flat colour: a blank photo is an upload too
        pixels[:] = pixels[0, 0]
    image = Image.fromarray(pixels, "RGBA").convert("RGB" if mode in ("P", "1", "I;16", "CMYK") else mode)
    if mode == "P":
        image = image.quantize(draw(st.integers(2, 256)))
    elif mode in ("1", "I;16", "CMYK"):
        image = image.convert("L" if mode == "I;16" else mode)
        if mode == "I;16":
            image = Image.fromarray(np.asarray(image, np.uint16) * 257)
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


IMAGE_FILES = st.one_of([image_file(kind) for kind in FORMATS])
schemathesis.openapi.format("binary", IMAGE_FILES)


# Hypothesis draws no string longer than 8,192 characters (a larger min_size "can never generate a value"), so a
# negative test of a longer maxLength -- the ticket body's 50,000 -- stops the run with an error instead of a
# request. Such a limit is left out of the copy schemathesis works from (the served schema keeps it, and
# tests/serving/test_tickets.py checks it); every other constraint is tested as served.
HYPOTHESIS_MAX_LENGTH = 8_192


def _drop_long_max_lengths(node):
    if isinstance(node, dict):
        if isinstance(node.get("maxLength"), int) and node["maxLength"] >= HYPOTHESIS_MAX_LENGTH:
            del node["maxLength"]
        for value in node.values():
            _drop_long_max_lengths(value)
    elif isinstance(node, list):
        for value in node:
            _drop_long_max_lengths(value)


@schemathesis.hook
def before_load_schema(context, raw_schema):
    _drop_long_max_lengths(raw_schema)
