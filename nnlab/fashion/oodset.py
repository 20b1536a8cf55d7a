"""Uploads that are not fashion items: the evaluation set of ``nnlab evaluate --ood``.

    python -m nnlab.fashion.oodset ood/ --n 200       # writes 200 files + kinds.csv

    >>> from nnlab.fashion.oodset import make_uploads, KINDS
    >>> uploads = make_uploads(200, seed=0)         # [Upload(name="0000-blank.png", data=b"...", kind="blank"), ...]
    >>> sorted({u.kind for u in uploads}) == sorted(KINDS)
    True

What a shop's customers and staff send that is not one of the ten kinds, as photo files
(JPEG, PNG, WebP in turn) of 160-480 pixels a side:

    blank       an empty backdrop: white, grey, tinted, dark, with noise and a lighting gradient
    noise       sensor-like noise (Gaussian, salt-and-pepper, coloured blotches)
    gradient    linear and radial colour gradients
    pattern     checkerboards, stripes, dots, grids
    text        a few lines of printed words (Pillow's built-in font) on a light or dark page
    symbols     one large printed character or symbol (@, #, %, arrows, letters)
    digits      handwritten digits (scikit-learn's ``load_digits``), upscaled and thickened
    photo       crops of the two everyday photos scikit-learn ships (``load_sample_images``)
    shape       other objects: filled circles, stars, triangles, rings on a plain backdrop

It is an evaluation set: ``nnlab calibrate`` never fits anything on it (the out-of-distribution
threshold is set from real item photos only), so its figures measure rejection honestly.
Deterministic: upload ``index`` depends only on ``(seed, index)``.
"""

import dataclasses
import io
import math

import numpy as np

KINDS = ("blank", "noise", "gradient", "pattern", "text", "symbols", "digits", "photo", "shape")
FORMATS = (("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"))
WORDS = ("order", "refund", "size", "delivery", "thank", "you", "sale", "new", "collection", "price", "shipping",
         "return", "summer", "winter", "total", "invoice", "customer", "number", "receipt", "lucky", "bag")
SYMBOLS = "@#%&$?!*+=<>ABKMQRWXZ0123456789"


@dataclasses.dataclass(frozen=True)
class Upload:
    name: str  # e.g. "0007-text.webp"
    data: bytes  # the encoded file
    kind: str  # one of KINDS


def _backdrop(rng, height, width):
    """(H, W, 3) float32: a plain, tinted or dark backdrop with a faint lighting gradient."""
    base = rng.choice([rng.uniform(200, 255), rng.uniform(90, 180), rng.uniform(0, 60)])
    colour = np.clip(base + rng.uniform(-25, 25, 3), 0, 255)
    ramp = np.linspace(-1, 1, height)[:, None] * rng.uniform(-12, 12) + np.linspace(-1, 1, width)[None] * \
        rng.uniform(-12, 12)
    return (colour[None, None] + ramp[..., None]).astype(np.float32)


def _blank(rng, h, w):
    return _backdrop(rng, h, w) + rng.normal(0, rng.uniform(0, 4), (h, w, 3))


def _noise(rng, h, w):
    style = rng.integers(3)
    if style == 0:  # Gaussian noise around a grey level
        return rng.uniform(60, 200) + rng.normal(0, rng.uniform(20, 70), (h, w, 3))
    if style == 1:  # salt and pepper on a backdrop
        canvas = _backdrop(rng, h, w)
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.4)
        canvas[mask] = rng.choice([0.0, 255.0], size=(int(mask.sum()), 1))
        return canvas
    from PIL import Image  # coloured blotches: low-resolution noise, upscaled

    small = rng.uniform(0, 255, (int(rng.integers(3, 12)), int(rng.integers(3, 12)), 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(small, "RGB").resize((w, h), Image.Resampling.BICUBIC), np.float32)


def _gradient(rng, h, w):
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:  # linear, any direction
        angle = rng.uniform(0, 2 * math.pi)
        t = (u * math.cos(angle) + v * math.sin(angle))
    else:  # radial, from a random centre
        t = np.hypot(u - rng.uniform(0, w), v - rng.uniform(0, h))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    return a * (1 - t[..., None]) + b * t[..., None]


def _pattern(rng, h, w):
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(8, 60)
    style = rng.integers(4)
    if style == 0:
        on = ((u // period) + (v // period)) % 2 == 0  # checkerboard
    elif style == 1:
        angle = rng.uniform(0, math.pi)
        on = ((u * math.cos(angle) + v * math.sin(angle)) // (period / 2)) % 2 == 0  # stripes
    elif style == 2:
        on = np.hypot((u % period) - period / 2, (v % period) - period / 2) < period * rng.uniform(0.15, 0.4)  # dots
    else:
        on = ((u % period) < period * 0.15) | ((v % period) < period * 0.15)  # a grid
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    return np.where(on[..., None], a, b)


def _draw(rng, h, w, paint):
    """A backdrop with ink drawn by ``paint(draw, rng, h, w, font_size)`` in a contrasting colour."""
    from PIL import Image, ImageDraw

    canvas = _backdrop(rng, h, w)
    light = canvas.mean() > 127
    ink = rng.uniform(0, 70, 3) if light else rng.uniform(185, 255, 3)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    paint(ImageDraw.Draw(image), rng, h, w, tuple(int(c) for c in ink))
    return np.asarray(image, np.float32) + rng.normal(0, 2, (h, w, 3))


def _font(size):
    from PIL import ImageFont

    return ImageFont.load_default(size=max(8, int(size)))  # Pillow's own scalable font: no system fonts needed


def _text(rng, h, w):
    def paint(draw, rng, h, w, ink):
        size = rng.uniform(0.06, 0.14) * h
        lines = int(rng.integers(1, 5))
        top = rng.uniform(0.05, 0.5) * h
        for line in range(lines):
            words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
            draw.text((rng.uniform(0.02, 0.3) * w, top + line * size * 1.3), words, fill=ink, font=_font(size))
    return _draw(rng, h, w, paint)


def _symbols(rng, h, w):
    def paint(draw, rng, h, w, ink):
        size = rng.uniform(0.4, 0.8) * min(h, w)
        draw.text((w / 2, h / 2), str(rng.choice(list(SYMBOLS))), fill=ink, font=_font(size), anchor="mm")
    return _draw(rng, h, w, paint)


def _digits(rng, h, w, _cache={}):
    from PIL import Image, ImageFilter

    if "digits" not in _cache:
        from sklearn.datasets import load_digits

        _cache["digits"] = load_digits().images  # (1797, 8, 8), 0..16
    digit = _cache["digits"][int(rng.integers(len(_cache["digits"])))] / 16.0
    side = int(min(h, w) * rng.uniform(0.4, 0.8))
    ink = Image.fromarray((digit * 255).astype(np.uint8), "L").resize((side, side), Image.Resampling.BICUBIC)
    ink = ink.filter(ImageFilter.GaussianBlur(side / 40))
    ink = np.asarray(ink, np.float32)[..., None] / 255
    canvas = _backdrop(rng, h, w)
    colour = rng.uniform(0, 70, 3) if canvas.mean() > 127 else rng.uniform(185, 255, 3)
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    patch = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = patch * (1 - ink) + colour * ink
    return canvas


def _photo(rng, h, w, _cache={}):
    if "photos" not in _cache:
        from sklearn.datasets import load_sample_images

        _cache["photos"] = load_sample_images().images  # china.jpg, flower.jpg: (427, 640, 3)
    from PIL import Image

    image = _cache["photos"][int(rng.integers(len(_cache["photos"])))]
    ch, cw = int(rng.integers(100, image.shape[0])), int(rng.integers(100, image.shape[1]))
    top, left = int(rng.integers(0, image.shape[0] - ch + 1)), int(rng.integers(0, image.shape[1] - cw + 1))
    crop = Image.fromarray(image[top:top + ch, left:left + cw]).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(crop, np.float32)


def _shape(rng, h, w):
    def paint(draw, rng, h, w, ink):
        r = rng.uniform(0.15, 0.4) * min(h, w)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        style = rng.integers(4)
        if style == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ink)
        elif style == 1:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=max(2, int(r / 4)))
        else:
            corners = 3 if style == 2 else 5
            step = math.pi / corners
            start = rng.uniform(0, 2 * math.pi)
            radius = [r, r] if style == 2 else [r, r * 0.45]  # a triangle, or a five-pointed star
            points = [(cx + radius[i % 2] * math.cos(start + i * step * (2 if style == 2 else 1)),
                       cy + radius[i % 2] * math.sin(start + i * step * (2 if style == 2 else 1)))
                      for i in range(corners if style == 2 else 2 * corners)]
            draw.polygon(points, fill=ink)
    return _draw(rng, h, w, paint)


MAKERS = dict(zip(KINDS, (_blank, _noise, _gradient, _pattern, _text, _symbols, _digits, _photo, _shape)))


def make_upload(index, seed=0):
    """Upload ``index`` of the set: its kind is ``KINDS[index % len(KINDS)]``."""
    from PIL import Image

    rng = np.random.default_rng((seed, index, 7))
    kind = KINDS[index % len(KINDS)]
    height, width = (int(rng.integers(160, 481)) for _ in range(2))
    pixels = np.clip(np.rint(MAKERS[kind](rng, height, width)), 0, 255).astype(np.uint8)
    fmt, suffix = FORMATS[(index // len(KINDS)) % len(FORMATS)]
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format=fmt, **({"quality": 90} if fmt != "PNG" else {}))
    return Upload(f"{index:04d}-{kind}{suffix}", buffer.getvalue(), kind)


def make_uploads(n=200, seed=0):
    """``n`` uploads, the kinds in turn."""
    return [make_upload(index, seed) for index in range(n)]


def main(argv=None):
    """``python -m nnlab.fashion.oodset FOLDER [--n N] [--seed S]``: write the files and kinds.csv."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,kind"]
    for upload in make_uploads(args.n, args.seed):
        (args.folder / upload.name).write_bytes(upload.data)
        rows.append(f"{upload.name},{upload.kind}")
    (args.folder / "kinds.csv").write_text("\n".join(rows) + "\n")
    print(f"wrote {args.n} uploads that are not fashion items to {args.folder}")


if __name__ == "__main__":
    main()
