"""Synthetic "not an item" images for training the out-of-distribution detector (outlier exposure).

    >>> from nnlab.fashion.outliers import make_outliers
    >>> x = make_outliers(1000, seed=0)        # (1000, 28, 28) float32 in 0..1, as the photo path gives them
    >>> x.shape, float(x.max()) <= 1.0
    ((1000, 28, 28), True)

Outlier exposure (Hendrycks, Mazeika and Dietterich 2019, "Deep anomaly detection with outlier
exposure") teaches a model what the inputs it must refuse look like from an auxiliary set of
outliers, which need not be the ones met later. Ours are drawn from generic families, on a
56x56 light-on-dark canvas, then brought to 28x28 by the photo path's own trim / stretch /
resize / centre (``nnlab.fashion.photos.fashion_input``), so they are in the form every upload
reaches the model:

    strokes     1-6 random quadratic curves and line segments, 1-4 pixels wide (writing-like)
    writing     1-8 rows of glyph-like marks (short strokes, arcs, dots) in a column, as text, receipts
                and screenshots look from afar; no font is used
    blobs       thresholded smooth random fields (irregular shapes with holes)
    primitives  discs, rings, polygons of 3-8 corners, crosses
    textures    full-frame noise, stripes, checkerboards, dot grids at random scales
    fields      smooth full-frame random fields and gradients
    jigsaw      a Fashion-MNIST training image cut in 4x4 or 7x7 tiles, shuffled (item texture,
                no item shape); only when ``images`` are given

They share no code or choice with the evaluation set of ``nnlab.fashion.oodset`` (other
drawing, other sizes, no fonts, no photos), so that set measures the detector honestly.
"""

import numpy as np

CANVAS = 56  # drawn at twice the model's size, then through the photo path
FAMILIES = ("strokes", "writing", "blobs", "primitives", "textures", "fields", "jigsaw")


def _grid(size=CANVAS):
    v, u = np.mgrid[0:size, 0:size].astype(np.float32)
    return u, v


def _smooth_field(rng, size, cells):
    """A smooth random field in 0..1: ``cells`` x ``cells`` noise, bicubically upscaled."""
    from PIL import Image

    small = rng.uniform(0, 255, (cells, cells)).astype(np.uint8)
    return np.asarray(Image.fromarray(small, "L").resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255


def _strokes(rng):
    from PIL import Image, ImageDraw

    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 7))):
        width = int(rng.integers(1, 5))
        shade = int(rng.integers(120, 256))
        p0, p1, p2 = rng.uniform(4, CANVAS - 4, (3, 2))
        if rng.random() < 0.5:
            t = np.linspace(0, 1, 24)[:, None]
            points = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2  # a quadratic Bezier curve
            draw.line([tuple(p) for p in points], fill=shade, width=width, joint="curve")
        else:
            draw.line([tuple(p0), tuple(p1)], fill=shade, width=width)
    return np.asarray(image, np.float32) / 255


def _writing(rng):
    from PIL import Image, ImageDraw

    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    rows = int(rng.integers(1, 9))
    height = rng.uniform(2, max(3, 40 / rows))  # glyph height in pixels
    left, top = rng.uniform(0, 12), rng.uniform(0, 10)
    shade = int(rng.integers(140, 256))
    for row in range(rows):
        y = top + row * height * rng.uniform(1.3, 2.0)
        x = left + rng.uniform(0, 6)
        end = CANVAS - rng.uniform(0, 20)
        while x < end and y + height < CANVAS:
            width = height * rng.uniform(0.3, 0.9)
            kind = rng.integers(3)
            if kind == 0:
                draw.line((x, y + height * rng.random(), x + width, y + height * rng.random()), fill=shade, width=1)
            elif kind == 1:
                draw.arc((x, y, x + width, y + height), rng.uniform(0, 180), rng.uniform(180, 360), fill=shade)
            else:
                draw.rectangle((x, y + height * 0.3, x + width * 0.8, y + height), outline=shade)
            x += width * rng.uniform(1.1, 1.6) + (height * rng.uniform(0.8, 1.5) if rng.random() < 0.2 else 0)
    return np.asarray(image, np.float32) / 255


def _blobs(rng):
    field = _smooth_field(rng, CANVAS, int(rng.integers(3, 9)))
    level = np.quantile(field, rng.uniform(0.5, 0.9))
    inside = field > level
    return inside * rng.uniform(0.4, 1.0) * (0.7 + 0.3 * _smooth_field(rng, CANVAS, 6))


def _primitives(rng):
    from PIL import Image, ImageDraw

    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 3))):
        shade = int(rng.integers(100, 256))
        cx, cy = rng.uniform(12, CANVAS - 12, 2)
        r = rng.uniform(6, 22)
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse((cx - r, cy - r * rng.uniform(0.5, 1), cx + r, cy + r), fill=shade)
        elif kind == 1:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=shade, width=int(rng.integers(2, 7)))
        elif kind == 2:
            corners = int(rng.integers(3, 9))
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
            radii = r * rng.uniform(0.4, 1.0, corners)
            draw.polygon([(cx + a * np.cos(b), cy + a * np.sin(b)) for a, b in zip(radii, angles)], fill=shade)
        else:
            w = rng.uniform(2, 6)
            draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=shade)
            draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=shade)
    return np.asarray(image, np.float32) / 255


def _textures(rng):
    u, v = _grid()
    period = rng.uniform(3, 20)
    kind = rng.integers(4)
    if kind == 0:
        return rng.uniform(0, 1, (CANVAS, CANVAS)).astype(np.float32) ** rng.uniform(0.5, 3)
    if kind == 1:
        angle = rng.uniform(0, np.pi)
        return (np.sin((u * np.cos(angle) + v * np.sin(angle)) * 2 * np.pi / period) > 0).astype(np.float32)
    if kind == 2:
        return (((u // period) + (v // period)) % 2).astype(np.float32)
    return (np.hypot(u % period - period / 2, v % period - period / 2) < period / 3).astype(np.float32)


def _fields(rng):
    if rng.random() < 0.5:
        return _smooth_field(rng, CANVAS, int(rng.integers(2, 6)))
    u, v = _grid()
    angle = rng.uniform(0, 2 * np.pi)
    ramp = u * np.cos(angle) + v * np.sin(angle)
    return (ramp - ramp.min()) / (ramp.max() - ramp.min())


def _jigsaw(rng, image):
    tiles = int(rng.choice([4, 7]))
    step = 28 // tiles
    pieces = [image[r:r + step, c:c + step] for r in range(0, 28, step) for c in range(0, 28, step)]
    order = rng.permutation(len(pieces))
    rows = [np.concatenate([pieces[order[r * tiles + c]] for c in range(tiles)], 1) for r in range(tiles)]
    return np.kron(np.concatenate(rows, 0), np.ones((2, 2), np.float32))  # (56, 56)


def make_outlier(rng, images=None):
    """One (28, 28) float32 outlier, through the photo path's trim, stretch, resize and centring."""
    from PIL import Image

    from nnlab.fashion.photos import fashion_input

    families = FAMILIES if images is not None and len(images) else FAMILIES[:-1]
    family = families[int(rng.integers(len(families)))]
    if family == "jigsaw":
        canvas = _jigsaw(rng, np.asarray(images[int(rng.integers(len(images)))], np.float32).reshape(28, 28))
    else:
        canvas = {"strokes": _strokes, "writing": _writing, "blobs": _blobs, "primitives": _primitives,
                  "textures": _textures, "fields": _fields}[family](rng)
    pixels = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
    return fashion_input(Image.fromarray(pixels, "L")).astype(np.float32) / 255


def make_outliers(n, seed=0, images=None):
    """``n`` outliers, (n, 28, 28) float32 in 0..1; ``images`` (28x28, 0..1) enable the jigsaw family."""
    rng = np.random.default_rng((seed, 11))
    return np.stack([make_outlier(rng, images) for _ in range(n)]) if n else np.zeros((0, 28, 28), np.float32)
