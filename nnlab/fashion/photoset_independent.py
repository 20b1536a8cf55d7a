"""A second photo generator, written apart from photoset.py, used only to check the photo path.

    python -m nnlab.fashion.photoset_independent photos/ --n 30   # 30 shop photos of the test split + labels.csv

    >>> from nnlab.fashion.photoset_independent import draw_habits, render
    >>> habits = draw_habits(np.random.default_rng(0))      # Habits(kind="png-rgba-opaque", backdrop="gradient", ...)
    >>> data, name = render(x_test[0], habits)               # the encoded file and a file name with its suffix

Why a second one: ``photoset.py`` (nnlab's own photos, and what the training augmentation
renders) fixes its habits (a light tinted backdrop, a dark item, 170-340 px, RGB JPEG/PNG/
WebP). A claim about "photos as shops upload them" tuned on that generator says little, so
this one shares no code with it and varies what it fixes. Each photo draws, independently:

- the file kind and mode (``KINDS``): baseline, progressive, CMYK and EXIF-rotated JPEG at
  quality 70-95; PNG in RGB, RGBA with an opaque alpha, RGBA and LA with a transparent
  backdrop, L, palette, palette with a transparent backdrop, 16-bit gray and 16-bit RGB;
  lossy and lossless WebP; TIFF (RGB, CMYK, 16-bit gray); BMP;
- the frame: 300-1000 px on its longest edge, aspect 2:3 to 3:2;
- the item's share of the frame (35-95 % of the fitting side), its place, a rotation of
  up to 8 degrees either way (bicubic, as a photo taken slightly askew);
- the backdrop: light, dark, tinted, a gradient (linear at any angle, or a vignette), or
  transparent; the item's colour (dark, saturated or, on dark backdrops, light) and how
  its shading maps to it (a gamma of 0.7-1.4, as under other lighting);
- on light backdrops, sometimes a soft drop shadow; sensor noise of 0-5 levels; exposure
  0.9-1.1.

Deterministic: photo ``index`` of a set depends only on ``(seed, index)`` and its image.
"""

import dataclasses
import io
import struct
import zlib

import numpy as np

KINDS = ("jpeg", "jpeg-progressive", "jpeg-cmyk", "jpeg-exif-rotated", "png-rgb", "png-rgba-opaque",
         "png-rgba-transparent", "png-la-transparent", "png-l", "png-palette", "png-palette-transparent",
         "png-16bit-gray", "png-16bit-rgb", "webp", "webp-lossless", "tiff-rgb", "tiff-cmyk", "tiff-16bit-gray",
         "bmp")
BACKDROPS = ("light", "dark", "tinted", "gradient", "vignette", "transparent")
TRANSPARENT_KINDS = ("png-rgba-transparent", "png-la-transparent", "png-palette-transparent")
GRAY_KINDS = ("png-l", "png-la-transparent", "png-16bit-gray", "tiff-16bit-gray")
SUFFIX = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif", "bmp": ".bmp"}


@dataclasses.dataclass(frozen=True)
class Habits:
    """How one photo is taken and saved (every number in the units its comment gives)."""

    kind: str = "png-rgb"  # one of KINDS
    backdrop: str = "light"  # one of BACKDROPS (transparent only with a kind that has alpha)
    backdrop_rgb: tuple = (245, 245, 245)  # 0..255; a gradient's or vignette's brighter end
    backdrop_far_rgb: tuple = (215, 215, 215)  # 0..255; a gradient's other end, a vignette's rim
    gradient_angle: float = 0.0  # degrees
    item_rgb: tuple = (20, 20, 20)  # 0..255: the colour of the item's solid parts
    gamma: float = 1.0  # shading -> colour: ink ** gamma
    long_edge: int = 600  # pixels, the frame's longest edge
    aspect: float = 1.0  # width / height
    fill: float = 0.7  # the item's longest edge over the frame's fitting side
    place: tuple = (0.5, 0.5)  # where the item's centre sits, as a share of the free room (0..1)
    angle: float = 0.0  # degrees, counter-clockwise
    shadow: float = 0.0  # 0: none; else the shadow's opacity (0..1)
    shadow_offset: tuple = (0.03, 0.04)  # share of the item's size, right and down
    noise: float = 0.0  # standard deviation, 0..255 levels
    exposure: float = 1.0  # multiplies every channel
    quality: int = 90  # JPEG and lossy WebP
    orientation: int = 6  # EXIF orientation of jpeg-exif-rotated (3, 6 or 8)


def draw_habits(rng):
    """Random :class:`Habits` from a numpy Generator: every kind and backdrop equally likely."""
    kind = KINDS[rng.integers(len(KINDS))]
    backdrop = "transparent" if kind in TRANSPARENT_KINDS else BACKDROPS[rng.integers(len(BACKDROPS) - 1)]
    dark = backdrop == "dark" or (backdrop == "transparent" and rng.random() < 0.3)
    if dark:
        near = tuple(rng.uniform(0, 45, 3) if rng.random() < 0.5 else np.full(3, rng.uniform(0, 40)))
    elif backdrop == "tinted":
        near = tuple(rng.uniform(170, 250, 3))
    else:
        near = tuple(np.clip(rng.uniform(215, 255) + rng.uniform(-8, 8, 3), 0, 255))
    far = tuple(np.clip(np.array(near) * rng.uniform(0.72, 0.92), 0, 255)) if not dark else near
    if dark:  # a light item: white, cream, pastel
        item = tuple(rng.uniform(180, 255, 3))
    elif rng.random() < 0.5:  # a dark item: black, navy, brown, charcoal
        item = tuple(rng.uniform(0, 70, 3))
    else:  # a saturated colour: one or two strong channels
        item = np.array(rng.uniform(0, 60, 3))
        item[rng.integers(3)] = rng.uniform(140, 230)
        item = tuple(item)
    return Habits(
        kind=kind, backdrop=backdrop, backdrop_rgb=near, backdrop_far_rgb=far,
        gradient_angle=float(rng.uniform(0, 360)), item_rgb=item, gamma=float(np.exp(rng.uniform(-0.35, 0.35))),
        long_edge=int(rng.integers(300, 1001)), aspect=float(np.exp(rng.uniform(np.log(2 / 3), np.log(3 / 2)))),
        fill=float(rng.uniform(0.35, 0.95)), place=(float(rng.random()), float(rng.random())),
        angle=float(rng.uniform(-8, 8)),
        shadow=float(rng.uniform(0.15, 0.4)) if not dark and backdrop != "transparent" and rng.random() < 0.4 else 0.0,
        shadow_offset=(float(rng.uniform(-0.04, 0.04)), float(rng.uniform(0.01, 0.05))),
        noise=float(rng.uniform(0, 5)) if rng.random() < 0.7 else 0.0, exposure=float(rng.uniform(0.9, 1.1)),
        quality=int(rng.integers(70, 96)), orientation=int(rng.choice([3, 6, 8])))


# ---------------------------------------------------------------- drawing


def _shading(image, habits, width, height):
    """(H, W) float32 in 0..1: the item's shading placed, scaled and rotated in the frame, and its box."""
    from PIL import Image

    item = Image.fromarray(np.asarray(image, np.uint8), "L")
    box = item.getbbox() or (0, 0, 28, 28)
    item = item.crop(box)  # the item itself, without the dataset's margins
    side = habits.fill * min(width / item.width, height / item.height)  # longest item edge fits the frame
    size = (max(1, round(item.width * side)), max(1, round(item.height * side)))
    item = item.resize(size, Image.Resampling.BICUBIC)
    item = item.rotate(habits.angle, Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    free_x, free_y = max(0, width - item.width), max(0, height - item.height)
    left, top = round(habits.place[0] * free_x), round(habits.place[1] * free_y)
    canvas = Image.new("L", (width, height), 0)
    canvas.paste(item, (left, top))
    return np.asarray(canvas, np.float32) / 255, (left, top, item.width, item.height)


def _backdrop(habits, width, height):
    """(H, W, 3) float32 in 0..255."""
    near, far = np.float32(habits.backdrop_rgb), np.float32(habits.backdrop_far_rgb)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if habits.backdrop == "gradient":
        theta = np.deg2rad(habits.gradient_angle)
        t = (x / width - 0.5) * np.cos(theta) + (y / height - 0.5) * np.sin(theta)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif habits.backdrop == "vignette":
        t = np.hypot(x / width - 0.5, y / height - 0.5) / np.hypot(0.5, 0.5)
        t = t ** 2
    else:
        t = np.zeros((height, width), np.float32)
    return near + t[..., None] * (far - near)


def draw(image, habits):
    """A (28, 28) uint8 Fashion-MNIST image -> (H, W, 3) float32 pixels 0..255 and (H, W) alpha 0..1."""
    from PIL import Image, ImageFilter

    height = round(habits.long_edge / max(habits.aspect, 1.0))
    width = round(height * habits.aspect)
    ink, (left, top, w, h) = _shading(image, habits, width, height)
    pixels = _backdrop(habits, width, height)
    if habits.shadow:
        dx, dy = round(habits.shadow_offset[0] * w), round(habits.shadow_offset[1] * h)
        mask = Image.fromarray(np.uint8(np.clip(ink * 4, 0, 1) * 255), "L")  # the item's silhouette
        mask = mask.transform(mask.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy))
        mask = mask.filter(ImageFilter.GaussianBlur(max(2.0, 0.03 * max(w, h))))
        pixels = pixels * (1 - habits.shadow * np.asarray(mask, np.float32)[..., None] / 255)
    cover = ink ** np.float32(habits.gamma)  # (H, W) how much of the item's colour each pixel takes
    alpha = np.clip(ink * 3, 0, 1) if habits.backdrop == "transparent" else np.ones_like(ink)
    if habits.backdrop == "transparent":  # colour where the item is: its shade over the item's colour
        pixels = np.broadcast_to(np.float32(habits.backdrop_rgb), pixels.shape).copy()
    pixels = pixels * (1 - cover[..., None]) + np.float32(habits.item_rgb) * cover[..., None]
    pixels = pixels * np.float32(habits.exposure)
    if habits.noise:
        rng = np.random.default_rng(int(habits.long_edge * 1000 + habits.quality))
        pixels = pixels + rng.normal(0, habits.noise, pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255), alpha


# ---------------------------------------------------------------- saving


def _png_16bit(values, color_type):
    """A 16-bit PNG (Pillow writes 16-bit gray but not 16-bit RGB): values (H, W) or (H, W, 3) uint16."""
    height, width = values.shape[:2]
    rows = values.astype(">u2").reshape(height, -1).view(np.uint8).reshape(height, -1)
    body = zlib.compress(b"".join(b"\x00" + row.tobytes() for row in rows), 6)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def encode(pixels, alpha, habits):
    """Pixels (H, W, 3) 0..255 and alpha (H, W) 0..1 -> the file's bytes, in ``habits.kind``."""
    from PIL import Image

    rgb8 = np.rint(pixels).astype(np.uint8)
    gray8 = np.rint(pixels @ np.float32([0.2126, 0.7152, 0.0722])).clip(0, 255).astype(np.uint8)  # Rec. 709
    a8 = np.rint(alpha * 255).astype(np.uint8)
    kind, out = habits.kind, io.BytesIO()
    if kind == "png-16bit-gray":
        return _png_16bit(np.rint(pixels @ np.float32([0.2126, 0.7152, 0.0722]) * 257).astype(np.uint16), 0)
    if kind == "png-16bit-rgb":
        return _png_16bit(np.rint(pixels * 257).astype(np.uint16), 2)
    image = Image.fromarray(rgb8, "RGB")
    if kind == "jpeg":
        image.save(out, "JPEG", quality=habits.quality)
    elif kind == "jpeg-progressive":
        image.save(out, "JPEG", quality=habits.quality, progressive=True, optimize=True)
    elif kind == "jpeg-cmyk":
        image.convert("CMYK").save(out, "JPEG", quality=habits.quality)
    elif kind == "jpeg-exif-rotated":
        # Stored as the camera's sensor saw it; the Orientation tag says how to turn it upright.
        undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        exif = Image.Exif()
        exif[0x0112] = habits.orientation
        image.transpose(undo[habits.orientation]).save(out, "JPEG", quality=habits.quality, exif=exif)
    elif kind == "png-rgb":
        image.save(out, "PNG")
    elif kind in ("png-rgba-opaque", "png-rgba-transparent"):
        Image.fromarray(np.dstack([rgb8, a8]), "RGBA").save(out, "PNG")
    elif kind == "png-la-transparent":
        Image.fromarray(np.dstack([gray8, a8]), "LA").save(out, "PNG")
    elif kind == "png-l":
        Image.fromarray(gray8, "L").save(out, "PNG")
    elif kind == "png-palette":
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, "PNG")
    elif kind == "png-palette-transparent":
        # 255 colours for the opaque pixels and index 255 for the transparent ones (GIF-style cut-outs).
        paletted = image.quantize(255, method=Image.Quantize.MEDIANCUT)
        indices = np.asarray(paletted).copy()
        indices[a8 < 128] = 255
        result = Image.fromarray(indices, "P")
        palette = paletted.getpalette()[:255 * 3] + [0, 0, 0]
        result.putpalette(palette + [0] * (768 - len(palette)))
        result.save(out, "PNG", transparency=255)
    elif kind == "webp":
        image.save(out, "WEBP", quality=habits.quality, method=4)
    elif kind == "webp-lossless":
        image.save(out, "WEBP", lossless=True, method=1)
    elif kind == "tiff-rgb":
        image.save(out, "TIFF", compression="tiff_lzw")
    elif kind == "tiff-cmyk":
        image.convert("CMYK").save(out, "TIFF")
    elif kind == "tiff-16bit-gray":
        values = np.rint(pixels @ np.float32([0.2126, 0.7152, 0.0722]) * 257).astype(np.uint16)
        Image.fromarray(values).save(out, "TIFF")  # uint16 -> I;16
    elif kind == "bmp":
        image.save(out, "BMP")
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}. Received: kind={kind!r}")
    return out.getvalue()


def render(image, habits):
    """A (28, 28) uint8 Fashion-MNIST image -> (the encoded file's bytes, a file name with the kind's suffix)."""
    pixels, alpha = draw(image, habits)
    return encode(pixels, alpha, habits), "photo" + SUFFIX[habits.kind.split("-")[0]]


def make_set(images, seed=0):
    """``[(name, bytes, habits)]``, one shop photo per (28, 28) uint8 image; photo i depends on (seed, i) only."""
    photos = []
    for index, image in enumerate(images):
        habits = draw_habits(np.random.default_rng((seed, index, 16)))
        data, name = render(image, habits)
        photos.append((f"{index:04d}-{habits.kind}{name[5:]}", data, habits))
    return photos


def main(argv=None):
    import argparse
    import csv
    from pathlib import Path

    from nnlab.fashion.data import CLASS_NAMES, load_fashion_mnist

    parser = argparse.ArgumentParser(prog="python -m nnlab.fashion.photoset_independent",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the photos and labels.csv into")
    parser.add_argument("--n", type=int, default=30, help="photos: the first N test images (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _, (x_test, y_test) = load_fashion_mnist()
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "class_index", "class", "kind", "backdrop"])
        for (name, data, habits), label in zip(make_set(x_test[:args.n], args.seed), y_test[:args.n]):
            (args.out / name).write_bytes(data)
            writer.writerow([name, int(label), CLASS_NAMES[label], habits.kind, habits.backdrop])
    print(f"wrote {args.n} photos and labels.csv to {args.out}")


if __name__ == "__main__":
    main()
