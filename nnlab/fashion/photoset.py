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

With ``habits="varied"`` (``make_photo(..., habits="varied")``; how the cnn-fast preset's
photo-style augmentation was chosen on the validation split), each photo also draws: a
light item on a dark backdrop (a third of them), a saturated item colour, a turn of up to
10 degrees, a soft drop shadow (light backdrops, a third), a transparent backdrop (RGBA PNG,
one in six), and the item at 4-10x on a canvas 1.2-2x its size.

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


def make_photo(image, index=0, seed=0, habits="studio"):
    """One (28, 28) uint8 Fashion-MNIST image (light item on black) -> a product-photo-like :class:`Photo`.

    ``habits``: "studio" (the default, described above) or "varied" (more backdrops, colours, turns).
    """
    from PIL import Image

    if habits == "varied":
        return _varied_photo(image, index, seed)
    if habits != "studio":
        raise ValueError(f"habits must be 'studio' or 'varied'. Received: habits={habits!r}")

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


def _varied_photo(image, index, seed):
    """``make_photo(habits="varied")``."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng((seed, index, 1))
    scale = rng.uniform(4, 10)
    ink = Image.fromarray(np.asarray(image, np.float32) / 255, "F").resize(
        (round(28 * scale), round(28 * scale)), Image.Resampling.LANCZOS)
    ink = ink.rotate(float(rng.uniform(-10, 10)), Image.Resampling.BILINEAR, expand=True)
    ink = np.clip(np.asarray(ink), 0, 1)
    side = max(ink.shape)
    height, width = (int(round(side * rng.uniform(1.2, 2.0))) for _ in range(2))
    top, left = (int(rng.integers(0, max(1, room) + 1)) for room in (height - ink.shape[0], width - ink.shape[1]))
    placed = np.zeros((height, width), np.float32)
    placed[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    dark = rng.random() < 1 / 3
    if dark:  # a light item on a dark backdrop
        background = np.clip(rng.uniform(5, 50) + rng.uniform(-8, 8, 3), 0, 255)
        colour = rng.uniform(170, 255, 3)
    else:
        background = np.clip(rng.uniform(190, 250) + rng.uniform(-20, 20, 3), 0, 255)
        colour = rng.uniform(0, 90, 3)
        if rng.random() < 0.5:  # a saturated colour
            colour[rng.integers(3)] = rng.uniform(150, 240)
    canvas = np.broadcast_to(background.astype(np.float32), (height, width, 3)).copy()
    if not dark and rng.random() < 1 / 3:  # a soft shadow, down and to a side
        shadow = Image.fromarray(np.uint8(np.clip(placed * 3, 0, 1) * 255), "L")
        dx, dy = (int(round(side * rng.uniform(a, b))) for a, b in ((-0.05, 0.05), (0.0, 0.06)))
        shadow = shadow.transform(shadow.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy))
        shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(side * 0.03)), np.float32) / 255
        canvas *= 1 - rng.uniform(0.1, 0.35) * shadow[..., None]
    canvas = canvas * (1 - placed[..., None]) + colour.astype(np.float32) * placed[..., None]
    canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * np.float32(rng.uniform(0, 5))
    pixels = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    if rng.random() < 1 / 6:  # a cut-out: transparent around the item
        alpha = np.uint8(np.clip(placed * 8, 0, 1) * 255)
        Image.fromarray(np.dstack([pixels, alpha]), "RGBA").save(buffer, "PNG", compress_level=1)
        return Photo(f"{index:04d}.png", buffer.getvalue(), index)
    kind, suffix = FORMATS[int(rng.integers(len(FORMATS)))]
    options = {"JPEG": {"quality": int(rng.integers(75, 96))},
               "WEBP": {"quality": int(rng.integers(80, 96)), "method": 2}, "PNG": {"compress_level": 1}}[kind]
    Image.fromarray(pixels, "RGB").save(buffer, format=kind, **options)
    return Photo(f"{index:04d}{suffix}", buffer.getvalue(), index)


def make_photos(images, seed=0, habits="studio"):
    """A :class:`Photo` for each (28, 28) uint8 image, in order."""
    return [make_photo(image, index, seed, habits) for index, image in enumerate(images)]


def through_photos(images, seed=0, advance=None, habits="studio"):
    """Each (28, 28) uint8 image made into a photo and read back by ``load_photo``: (N, 28, 28) float32.

    ``advance()`` is called after each photo (a progress bar's).
    """
    from nnlab.fashion.photos import load_photo

    out = np.zeros((len(images), 28, 28), np.float32)
    for index, image in enumerate(images):
        photo = make_photo(image, index, seed, habits)
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
