"""A photo-like evaluation set made from Fashion-MNIST images: product photos whose labels are known.

    python -m nnlab.fashion.photoset photos/ --n 30     # writes 30 photos of the test split + labels.csv

    >>> from nnlab.fashion.photoset import make_photo, make_photos
    >>> photos = make_photos(x_test[:100], seed=0)      # [Photo(name="0000.jpg", data=b"...", index=0), ...]
    >>> load_photo(photos[0].data, name=photos[0].name).shape
    (28, 28)
    >>> through_photos(x_test[:100]).shape             # made into photos and read back: the model's input
    (100, 28, 28)

Each photo is what a shop's product photo looks like, made from one 28x28 image:

- upscaled 6-12x (Lanczos): 170-340 pixels a side;
- dark on light: the item is drawn in a random dark colour on a light, tinted background
  with a lighting gradient of up to 2 % each way;
- off-centre on a canvas 1.3-2x the item's size;
- Gaussian noise (sigma 2-6 of 255) on every channel;
- saved as JPEG (quality 80-95), PNG or WebP (quality 85-95), in turn (fast encoder settings).

Deterministic: photo ``index`` depends only on ``(seed, index)`` and its 28x28 image, so the
first 100 photos of a set of 1,000 are the photos of a set of 100.
"""

import dataclasses
import io

import numpy as np

FORMATS = (("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"))


@dataclasses.dataclass(frozen=True)
class Photo:
    name: str  # e.g. "0007.webp": the index and the format, never the class
    data: bytes  # the encoded file
    index: int  # position of the source image in the array given


def make_photo(image, index=0, seed=0):
    """One (28, 28) uint8 Fashion-MNIST image (light item on black) -> a product-photo-like :class:`Photo`."""
    from PIL import Image

    rng = np.random.default_rng((seed, index))
    ink = np.asarray(image, np.float32) / 255  # (28, 28): 1 where the item is solid
    side = int(round(28 * rng.uniform(6, 12)))
    big = Image.fromarray(ink, "F").resize((side, side), Image.Resampling.LANCZOS)
    ink = np.clip(np.asarray(big), 0, 1)[..., None]  # (side, side, 1)

    height, width = (int(round(side * rng.uniform(1.3, 2.0))) for _ in range(2))
    top = int(rng.integers(int(0.1 * (height - side)), int(0.9 * (height - side)) + 1))
    left = int(rng.integers(int(0.1 * (width - side)), int(0.9 * (width - side)) + 1))

    background = np.clip(rng.uniform(200, 250) + rng.uniform(-15, 15, 3), 0, 255)  # light, tinted
    colour = rng.uniform(0, 100, 3)  # a dark item
    canvas = np.broadcast_to(background, (height, width, 3)).astype(np.float32)
    item = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = item * (1 - ink) + colour * ink
    # Light falls off across the picture: up to 2 % brighter on one side, 2 % darker on the other.
    ramp = np.linspace(-1, 1, height, dtype=np.float32)[:, None, None] * np.float32(rng.uniform(-0.02, 0.02))
    ramp = ramp + np.linspace(-1, 1, width, dtype=np.float32)[None, :, None] * np.float32(rng.uniform(-0.02, 0.02))
    noise = rng.standard_normal(canvas.shape, dtype=np.float32) * np.float32(rng.uniform(2, 6))
    canvas = canvas * (1 + ramp) + noise
    pixels = Image.fromarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), "RGB")

    kind, suffix = FORMATS[index % len(FORMATS)]
    # Fast encoder settings (PNG compress_level 1, WebP method 2): the pixels are what matter here.
    options = {"JPEG": {"quality": int(rng.integers(80, 96))},
               "WEBP": {"quality": int(rng.integers(85, 96)), "method": 2}, "PNG": {"compress_level": 1}}[kind]
    buffer = io.BytesIO()
    pixels.save(buffer, format=kind, **options)
    return Photo(f"{index:04d}{suffix}", buffer.getvalue(), index)


def make_photos(images, seed=0):
    """A :class:`Photo` for each (28, 28) uint8 image, in order."""
    return [make_photo(image, index, seed) for index, image in enumerate(images)]


def through_photos(images, seed=0, advance=None):
    """Each (28, 28) uint8 image made into a photo and read back by ``load_photo``: (N, 28, 28) float32.

    ``advance()`` is called after each photo (a progress bar's).
    """
    from nnlab.fashion.photos import load_photo

    out = np.zeros((len(images), 28, 28), np.float32)
    for index, image in enumerate(images):
        photo = make_photo(image, index, seed)
        out[index] = load_photo(photo.data, name=photo.name)
        if advance is not None:
            advance()
    return out


def test_split_photos(n=1000, seed=0, data_dir=None):
    """The first ``n`` test images as photos, with their labels and 28x28 originals: ``(photos, y, x)``."""
    from nnlab.fashion.data import load_fashion_mnist

    _, (x_test, y_test) = load_fashion_mnist(data_dir)
    return make_photos(x_test[:n], seed), y_test[:n], x_test[:n]


# ---------------------------------------------------------------- bad files, to try the error paths


def _png_chunk(kind, data):
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(width=30000, height=30000):
    """A real, complete 1-bit PNG of ``width`` x ``height`` white pixels: ~110 KB for 900 million pixels."""
    import struct
    import zlib

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte "none", then 8 pixels a byte
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grayscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body)
            + _png_chunk(b"IEND", b""))


def bad_files(image=None):
    """``{file name: bytes}`` of files no photo path can read: empty, truncated JPEG, text, decompression bomb."""
    photo = make_photo(np.zeros((28, 28), np.uint8) if image is None else image, index=0)  # a JPEG
    return {"empty.png": b"", "truncated.jpg": photo.data[: len(photo.data) // 2],
            "notes.png": b"not an image, despite its name\n", "bomb.png": decompression_bomb()}


def main(argv=None):
    import argparse
    import csv
    import io
    from pathlib import Path

    from nnlab.core.runs import atomic_path, write_text
    from nnlab.fashion.data import CLASS_NAMES

    parser = argparse.ArgumentParser(prog="python -m nnlab.fashion.photoset", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the photos and labels.csv into")
    parser.add_argument("--n", type=int, default=30, help="photos: the first N test images (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    photos, labels, _ = test_split_photos(args.n, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["file", "class_index", "class"])
    for photo, label in zip(photos, labels):
        with atomic_path(args.out / photo.name) as tmp:
            tmp.write_bytes(photo.data)
        writer.writerow([photo.name, int(label), CLASS_NAMES[label]])
    write_text(args.out / "labels.csv", rows.getvalue())  # last: its presence says the folder is complete
    print(f"wrote {len(photos)} photos and labels.csv to {args.out}")


if __name__ == "__main__":
    main()
