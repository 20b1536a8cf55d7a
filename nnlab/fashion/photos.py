"""Product photos -> Fashion-MNIST-like 28x28 model inputs, made the way the dataset itself was made.

    >>> from nnlab.fashion.photos import load_photo, load_photos
    >>> load_photo("bag.jpg").shape                     # float32 in 0..1, a light item on black
    (28, 28)
    >>> load_photo(uploaded_bytes, name="bag.jpg", max_pixels=20_000_000)   # bytes work too (a server)
    >>> load_photos(["bag.jpg", "shoe.png"]).shape      # stops at the first unreadable file
    (2, 28, 28)
    >>> for name, x in read_photos(paths): ...          # x: an array, or the PhotoError of that file

Accepted: PNG, JPEG, WebP, GIF (first frame), BMP and TIFF, in any mode (1, L, LA, P,
RGB, RGBA, CMYK, I;16, ...), with the EXIF orientation applied. The recipe of the
Fashion-MNIST paper (Xiao, Rasul and Vollgraf 2017, section 2), with what a product
photo that is not from Zalando's studio needs on top (marked +):

    +  alpha is read for what it holds: an alpha channel that is 255 everywhere (RGBA and LA
       PNGs as design tools export them) is no transparency; in a cut-out (a mostly
       transparent border) transparent pixels become background (white behind a dark item,
       black behind a light one); where only some pixels are transparent (rounded corners)
       they take the colour of the opaque border around them
    +  the background: a quadratic surface fitted to the picture's outer band (2 % of its short
       side), robust to the item where it reaches the edge (least trimmed squares), so an even
       backdrop, one lit from a side and a vignette are all background; pictures of at most
       56 pixels use their corners' colours (the median of a 5x5 patch, blended bilinearly);
       "light" if its luma is over 1/2
    +  each channel is scaled so that the background becomes white (a tinted or grey backdrop
       is an under-exposed white); on a dark background, so that it becomes black
    1. trim the borders whose pixels are within 5 % of the background colour (measured on a
       median-filtered copy of at most 112 pixels, or above the corners' noise if it is higher)
    6. negate (only on a light background: the item becomes light on black)
    7. 8-bit gray (ITU-R 601 luma, taken before steps 3-5, which it commutes with)
    +  pixels within 5 % of the background become 0, as every Fashion-MNIST background is
    +  an item photographed askew (up to 12 degrees) is turned back upright: Fashion-MNIST's
       items stand upright, and an upright item's box is the smallest
    +  stretch so the brightest item pixel is 255 (every Fashion-MNIST test image has a
       maximum of 254 or 255)
    3. resize the longest edge to 28 (Lanczos: the paper subsampled; on our photo set
       subsampling, box, bilinear and Lanczos scored within half a point)
    4. sharpen with a Gaussian of radius and sigma 1.0 (an unsharp mask of 100 %)
    5. extend the short edge to 28 with the item centred (an odd margin: the extra pixel
       before the item, as in the dataset)

A 28x28 image whose background is already dark (a Fashion-MNIST image) passes through
unchanged; a 28x28 image on a light background is only negated.

Measured with ``nnlab evaluate RUN --photos`` (photos of the first 1,000 test images, see
photoset.py), accuracy through photos vs the same 28x28 originals: seeds-final 0.865 vs
0.875, cnn 0.902 vs 0.924; the previous invert-and-pad loader scored 0.140 and 0.163 on
the same photos. With issue 16's changes (alpha, quadratic backdrop, turning back
upright): seeds-final 0.862 vs 0.879, cnn-fast (trained with PhotoStyle) 0.931 vs 0.944.
On photos of an independent generator (photoset_independent.py: 19 file kinds and modes,
varied backdrops, turns and shadows) see bench/photo_robustness.py.

CPU per photo, decoding included (bench/photo_path_cost.py, this shared 2-core machine): 21
ms for a shop photo of 300-1000 px (JPEG 17, PNG 28, WebP 17) against 40 ms with the plain
computation of the same steps, the recipe alone 9 against 28; the same class for every one
of 2 x 1,000 photos of both generators. Each step but one gives the plain computation's answer
exactly, at a fraction of its cost (tests/fashion/test_photo_shortcuts.py checks them against
it); the backdrop surface rounds only its per-column terms, which moves a few 28x28 inputs by
up to 5 levels of 255 (23 of 400 random pictures; no class changed on the photo sets). 3x3
medians are counted, not sorted, and run only where they can change the answer; the
backdrop surface is four float32 passes; the ink is clipped only in the item's box; the
turn is found from the silhouette's row ends. Decoding and the reduction to WORK_SIZE
(Lanczos) are now most of it.

Every problem with a file raises :class:`PhotoError` (an ``NnlabError``) that names the
file and the reason; its ``kind`` says which (for an HTTP status). A file whose header
claims more than ``max_pixels`` pixels (a decompression bomb) is refused before any pixel
is decoded.
"""

import io
import re
import warnings
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError

SIZE = 28  # Fashion-MNIST images are 28x28
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # JPEG includes phones' multi-picture MPO files
SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".gif", ".bmp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 40_000_000  # a 40-megapixel camera (7680x5120); 160 MB once decoded as RGBA
WORK_SIZE = 512  # longest edge a photo is reduced to before the recipe (measured: 256 lost 1 point)
WORK_FILTER = "LANCZOS"  # how it is reduced (a Pillow resampling filter)
TRIM_TOLERANCE = 0.05  # paper: "within 5 % of the maximum possible intensity"
INK_RANGE = 64.0  # levels: the least a channel's distance from its backdrop is measured against (see _ink)
BACKGROUND_CUT = 0.05  # ink below this (noise, JPEG ringing) is background
DESKEW_MAX = 12.0  # degrees: the largest turn of a photo taken askew that is undone
DESKEW_GAIN = 0.02  # ... and only when the turned-back box is this much smaller (upright items stay as they are)
BORDER = 0.02  # the backdrop is fitted to the picture's outer band, this share of its short side wide
SHARPEN = {"radius": 1.0, "percent": 100, "threshold": 0}  # ImageFilter.UnsharpMask: Gaussian sigma 1.0
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601-2, as Pillow's convert("L")


class PhotoError(NnlabError):
    """A file that cannot be made into a model input; the message names the file and the reason.

    ``kind`` is one of ``missing``, ``empty``, ``not_an_image``, ``too_many_pixels`` or
    ``corrupt`` (truncated or damaged), so a server can answer 404/400/415/413/422.
    """

    def __init__(self, name, kind, reason, message=None):
        super().__init__(message or f"{name} {reason}")
        self.name, self.kind, self.reason = str(name), kind, reason


# ---------------------------------------------------------------- reading a file


def _source(source, name):
    """(name for messages, bytes or path) of a path, bytes or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return name or "upload", bytes(source)
    if hasattr(source, "read"):
        return name or getattr(source, "name", None) or "upload", source.read()
    path = Path(source)
    if not path.exists():
        raise PhotoError(path, "missing", "does not exist.", f"Image {path} does not exist.")
    if path.is_dir():
        raise PhotoError(path, "not_an_image", "is a folder, not an image file.")
    return name or str(path), path


def open_photo(source, name=None, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode a photo (path, bytes or file object) into a Pillow image, first frame, upright.

    The image comes back as 8-bit L, LA, RGB or RGBA (16-bit gray scaled, not clipped),
    at most ``WORK_SIZE`` pixels on its longest edge (a JPEG is decoded at a reduced size).
    Raises :class:`PhotoError` for a missing, empty, non-image, over-``max_pixels`` or
    damaged file; ``max_pixels`` is checked from the header, before anything is decoded.
    """
    from PIL import Image, ImageOps

    name, data = _source(source, name)
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    if size == 0:
        raise PhotoError(name, "empty", "is empty (0 bytes).")
    try:
        # Pillow's own bomb check warns above Image.MAX_IMAGE_PIXELS; ours below is the one that counts.
        # (catch_warnings swaps a process-wide filter list: threads racing here can at worst show or
        # hide that warning; the result does not depend on it.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data, formats=FORMATS)
    except Image.DecompressionBombError as error:  # over twice Pillow's own limit: refused by Image.open
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        size = f"has {int(pixels.group(1)):,} pixels" if pixels else "has too many pixels"
        raise PhotoError(name, "too_many_pixels", f"{size}, over the limit of {max_pixels:,}: refused as a "
                                                  "possible decompression bomb; nothing was decoded.") from None
    except Exception as error:  # Pillow's plugins raise many kinds on malformed headers
        if type(error).__name__ == "UnidentifiedImageError":
            reason = f"is not a readable image (not {', '.join(FORMATS)})."
            raise PhotoError(name, "not_an_image", reason) from None
        raise PhotoError(name, "corrupt", f"is a damaged image ({type(error).__name__}: {error}).") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise PhotoError(name, "too_many_pixels",
                             f"is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,}: "
                             "refused as a possible decompression bomb (shrink a real photo first); "
                             "nothing was decoded.")
        try:
            image.draft(None, (WORK_SIZE, WORK_SIZE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale; others: no-op
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # a copy of the full-size picture when not in place
            return _reduce(image, detach=True)
        except Exception as error:  # truncated data, broken EXIF, a mode Pillow cannot convert, ...
            raise PhotoError(name, "corrupt", f"is a damaged or truncated image ({type(error).__name__}: "
                                              f"{error}).") from None


def _reduce(image, detach=False):
    """8-bit RGB, RGBA, L or LA, at most WORK_SIZE pixels on its longest edge.

    ``detach``: the result must outlive ``image``'s file (open_photo closes it), so a picture
    that needs no conversion is copied, after the reduction: a 512-pixel copy, not a full-size one.
    """
    from PIL import Image

    if image.mode.startswith(("I", "F")):  # I;16*, I, F: 16-bit (or wider) gray, scaled, not clipped
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or values.max() > 255:
            top = 65535.0
        else:  # 8-bit values in a wide mode; a float image in 0..1
            top = 1.0 if image.mode == "F" and values.max() <= 1 else 255.0
        gray = Image.fromarray(np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8), "L")
        transparent = image.info.get("transparency")
        if isinstance(transparent, int):  # a 16-bit PNG's tRNS: one gray value is transparent
            gray.putalpha(Image.fromarray(np.where(values == transparent, 0, 255).astype(np.uint8), "L"))
        image = gray
        detach = False
    elif image.has_transparency_data:
        if image.mode != "RGBA":  # convert() of an image already in that mode would copy it, full size
            image, detach = image.convert("RGBA"), False
    elif image.mode not in ("L", "RGB"):
        image, detach = image.convert("RGB"), False  # 1, P, CMYK, YCbCr, ...
    image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling[WORK_FILTER], reducing_gap=3.0)
    return image.copy() if detach else image


# ---------------------------------------------------------------- the recipe


def _levels(values):
    """(H, W) in 0..1 -> uint8 levels 0..255, rounded (``values`` is left as it is)."""
    return np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8)


def _patch_counts(mask):
    """(H, W) uint8: how many pixels of each one's 3x3 patch are in ``mask`` (H, W) bool, edges repeated.

    A 3x3 median (Pillow's MedianFilter, which repeats the edges too) reaches a level where
    at least 5 of the 9 pixels do: counting those is four passes of adds on bytes, not a sort
    per pixel, and gives the same answer at a fraction of the cost.
    """
    over = np.pad(mask, 1, mode="edge").view(np.uint8)  # (H+2, W+2)
    rows = over[:-2] + over[1:-1] + over[2:]  # (H, W+2): each column's 3 pixels
    return rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]


def _medians_at(levels, rows, cols):
    """(n,) uint8: the 3x3 medians of uint8 ``levels`` (H, W), edges repeated, at pixels ``rows``, ``cols`` (n,)."""
    height, width = levels.shape
    down, across = np.divmod(np.arange(9), 3)  # the patch, row-major
    patches = levels[np.clip(rows[:, None] + down - 1, 0, height - 1),
                     np.clip(cols[:, None] + across - 1, 0, width - 1)]  # (n, 9): edges repeated by clipping
    return np.partition(patches, 4, axis=1)[:, 4]


def _median3_over(values, tolerance=TRIM_TOLERANCE):
    """(H, W) bool: where the 3x3 median (Pillow's MedianFilter on 8-bit levels, edges repeated) of ``values``
    is over ``tolerance``: counted (see ``_patch_counts``), not filtered. The median keeps sensor and JPEG
    noise out."""
    level = int(tolerance * 255) + 1  # the least 8-bit level over the tolerance (13 of 255 for 5 %)
    # rint(x) >= level where x > level - 0.5 (12.5 rounds to 12, to even): no rounded copy needed.
    return _patch_counts(values * 255 > level - 0.5) >= 5


def _median3_max(values, seeds=64):
    """The largest 3x3 median of ``values`` (as ``_median3_over``), in 0..1: the brightest level that noise
    alone cannot make.

    The same answer without filtering every pixel: the medians around the ``seeds`` brightest
    pixels give a level the answer reaches at least; only pixels with 5 of their 9 at that
    level or over can have a median as high (one count of bytes), and only theirs are taken.
    """
    levels = _levels(values)  # (H, W)
    brightest = np.argpartition(levels.ravel(), -seeds)[-seeds:] if levels.size > seeds else np.arange(levels.size)
    floor = _medians_at(levels, *np.divmod(brightest, levels.shape[1])).max()
    # Every pixel whose median reaches the floor (at least the seed that gave it), and only those.
    top = _medians_at(levels, *np.nonzero(_patch_counts(levels >= floor) >= 5)).max()
    return float(np.float32(top) / np.float32(255))  # as a median filter's 8-bit level in float32


def _flatten(image):
    """(H, W, 3) RGB in 0..255 with transparent pixels made backdrop, and that backdrop (3,) or None.

    A picture without alpha (or with an opaque one) comes back as uint8 pixels (arithmetic casts
    them: no float copy); one with transparent pixels as float32.

    Alpha is read for what it holds, not for being there: design tools and shops save RGBA
    PNGs whose alpha is 255 everywhere, and those are plain RGB photos. A cut-out (the
    picture's border mostly transparent) goes on white behind a dark item, black behind a
    light one, and that colour is the backdrop; a photo with only some transparent pixels
    (rounded corners, a transparent frame) gets the colour of its own opaque border there,
    and its backdrop is then found as any photo's (None).
    """
    if "A" not in image.mode:
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB")), None
    alpha, colour = np.asarray(image.getchannel("A")), np.asarray(image.convert("RGB"))  # (H, W), (H, W, 3) uint8
    if alpha.min() == 255:  # an opaque alpha channel: no transparency at all
        return colour, None
    alpha = alpha.astype(np.float32) / 255
    ring = _ring(alpha.shape[0], alpha.shape[1])
    opaque = alpha[ring] >= 0.5
    if opaque.mean() >= 0.5:  # the border is mostly opaque: it shows the real backdrop
        backdrop = np.median(colour[ring][opaque].astype(np.float32), axis=0)
        return _blend(colour, alpha, backdrop), None
    weight = alpha.sum()
    tone = float((colour.astype(np.float32) @ _LUMA * alpha).sum() / weight) if weight else 0.0
    # A dark item goes on white, a light one on black: either way it stands out from its background.
    backdrop = np.full(3, 255.0 if tone < 127.5 else 0.0, np.float32)
    return _blend(colour, alpha, backdrop), backdrop


def _blend(colour, alpha, backdrop):
    """(H, W, 3) float32: ``colour * alpha + backdrop * (1 - alpha)``, a channel at a time.

    ``colour`` (H, W, 3) uint8, ``alpha`` (H, W) in 0..1, ``backdrop`` (3,). One channel at a
    time because numpy broadcasting alpha over a last axis of 3 is several times slower.
    """
    out, rest = np.empty(colour.shape, np.float32), 1 - alpha
    for k in range(3):
        np.multiply(colour[..., k], alpha, out=out[..., k])
        out[..., k] += backdrop[k] * rest
    return out


def _corners(values, patch=5):
    """The four corner patches (top-left, top-right, bottom-left, bottom-right), ``patch`` pixels a side at most."""
    p = max(1, min(patch, values.shape[0] // 4, values.shape[1] // 4))
    return values[:p, :p], values[:p, -p:], values[-p:, :p], values[-p:, -p:]


def _corner_grids(shape, patch=5):
    """``[(rows, cols)]``, each (p, p): the pixels of ``_corners`` of an array of ``shape`` (H, W), for indexing."""
    height, width = shape
    p = max(1, min(patch, height // 4, width // 4))
    tops, bottoms = np.arange(p), np.arange(height - p, height)
    lefts, rights = np.arange(p), np.arange(width - p, width)
    return [np.meshgrid(rows, cols, indexing="ij") for rows in (tops, bottoms) for cols in (lefts, rights)]


def _ring(height, width):
    """(H, W) bool: the picture's outer band, BORDER of its short side wide (at least one pixel)."""
    band = max(1, int(round(BORDER * min(height, width))))
    ring = np.ones((height, width), bool)
    ring[band:height - band, band:width - band] = False
    return ring


def _ring_points(height, width):
    """(rows, cols): the pixels of ``_ring(height, width)`` in np.nonzero's order, without a mask of every pixel."""
    band = max(1, int(round(BORDER * min(height, width))))
    if 2 * band >= min(height, width):  # the ring is the whole picture
        return np.nonzero(np.ones((height, width), bool))
    every, sides = np.arange(width), np.r_[0:band, width - band:width]
    middle = np.arange(band, height - band)
    rows = np.concatenate([np.repeat(np.arange(band), width), np.repeat(middle, 2 * band),
                           np.repeat(np.arange(height - band, height), width)])
    return rows, np.concatenate([np.tile(every, band), np.tile(sides, len(middle)), np.tile(every, band)])


def _band_mean(values):
    """(3,): the mean of an (H, W, 3) array over the ring (``_ring``), or ``values`` itself when it is (3,)."""
    if values.ndim == 1:
        return values
    height, width = values.shape[:2]
    band = max(1, int(round(BORDER * min(height, width))))
    if 2 * band >= min(height, width):  # the ring is the whole picture
        return values.reshape(-1, 3).mean(axis=0)
    # Four slices (top, bottom, the sides between them), not a boolean mask over every pixel.
    parts = (values[:band], values[height - band:], values[band:height - band, :band],
             values[band:height - band, width - band:])
    return sum(part.sum(axis=(0, 1), dtype=np.float64) for part in parts) / sum(part.size // 3 for part in parts)


def _corner_backdrop(rgb):
    """(H, W, 3): each corner's colour (a 5x5 patch's median), blended bilinearly; for small pictures.

    A corner far from the others' median is taken as covered by the item and given that median.
    """
    height, width = rgb.shape[:2]
    colours = np.array([np.median(q.reshape(-1, 3), axis=0) for q in _corners(rgb)], np.float32)
    typical = np.median(colours, axis=0)
    colours[np.abs(colours - typical).max(axis=1) > 0.1 * 255] = typical
    v = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    u = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    top_left, top_right, bottom_left, bottom_right = colours
    return (1 - v) * ((1 - u) * top_left + u * top_right) + v * ((1 - u) * bottom_left + u * bottom_right)


def _quadratic_terms(v, u):
    """(..., 6): the terms of a quadratic surface in the picture's coordinates v (down) and u (across), 0..1."""
    return np.stack(np.broadcast_arrays(np.ones_like(u * v), u, v, u * u, v * v, u * v), axis=-1)


def _backdrop(rgb):
    """(H, W, 3): the background, a quadratic surface fitted to the picture's border, robust to the item.

    A flat backdrop, one lit from a side (a linear gradient) and a vignette (brighter in the
    middle, as lens fall-off makes it; quadratic in the distance from the centre) are all
    such surfaces, and a border determines one. Where the item reaches the border, its pixels
    are outliers: each fit keeps the points nearest the previous one (least trimmed squares:
    60 % of them, then those within 3 median residuals), so up to about 40 % of the border
    may be item. A picture of at most 2x28 pixels a side (a dataset-like image, whose item
    spans it edge to edge) has too thin a border for that: its corners give the backdrop.
    """
    height, width = rgb.shape[:2]
    if max(height, width) <= 2 * SIZE:
        return _corner_backdrop(rgb)
    rows, cols = _ring_points(height, width)
    step = max(1, len(rows) // 2000)  # a couple of thousand points are plenty for 6 terms
    rows, cols = rows[::step], cols[::step]
    terms = _quadratic_terms(rows / max(height - 1, 1), cols / max(width - 1, 1))  # (P, 6)
    values = rgb[rows, cols].astype(np.float64)  # (P, 3)
    kept = np.ones(len(rows), bool)
    for trip in range(5):
        chosen = terms[kept]  # normal equations: a 6x6 solve (lstsq's SVD took 15 ms a photo)
        coefficients = np.linalg.solve(chosen.T @ chosen + 1e-9 * np.eye(6), chosen.T @ values[kept])  # (6, 3)
        if trip == 4:
            break  # the last fit's points are not trimmed again
        error = np.abs(terms @ coefficients - values)  # (P, 3)
        residual = np.maximum(np.maximum(error[:, 0], error[:, 1]), error[:, 2])  # error.max(axis=1), faster
        cut = np.quantile(residual, 0.6) if trip < 2 else max(3 * float(np.median(residual[kept])), 6.0)
        kept = residual <= cut
    return _surface(coefficients, height, width)


def _surface(coefficients, height, width):
    """(H, W, 3) float32 in 0..255: the quadratic surface of ``coefficients`` (6, 3) over an H x W picture.

    Made as ``across + v * (slope + v * curve)``: the terms in u alone (across), in v (c2
    and c4) and across both (c5 u v) gathered per column once, in float64, so the full-size
    surface is four float32 passes over (H, W x 3), none of them rounding it or broadcasting
    over a last axis of 3 (numpy's slow case), and no matrix product (OpenBLAS would spread
    it over threads that spin). Clipped only where it can leave 0..255.
    """
    v = np.linspace(0, 1, height)[:, None]  # (H, 1)
    u = np.linspace(0, 1, width)[:, None]  # (W, 1)
    c = coefficients
    # Rounded to 1/1000 of a level: a flat backdrop comes out exactly flat, not 254.99999 (the solve's rounding;
    # what the v terms add to it then is far below float32's step at 255).
    across = np.round(c[0] + c[1] * u + c[3] * u * u, 3).astype(np.float32).reshape(-1)  # (W*3,)
    slope = (c[2] + c[5] * u).astype(np.float32).reshape(-1)  # (W*3,): d/dv at v = 0
    curve = np.tile(c[4].astype(np.float32), width)  # (W*3,)
    v = v.astype(np.float32)
    surface = v * curve  # (H, W*3)
    surface += slope
    surface *= v
    surface += across
    surface = surface.reshape(height, width, 3)
    # The same surface is across + down(v) + v * cross(u), and v is in 0..1: its bounds without a pass over it.
    down, cross = c[2] * v + c[4] * v * v, c[5] * u  # (H, 3), (W, 3)
    low = across.reshape(width, 3).min(axis=0) + down.min(axis=0) + np.minimum(cross.min(axis=0), 0)
    high = across.reshape(width, 3).max(axis=0) + down.max(axis=0) + np.maximum(cross.max(axis=0), 0)
    if low.min() < -1e-3 or high.max() > 255 + 1e-3:  # beyond the rounding above
        np.clip(surface, 0, 255, out=surface)
    return surface


def _ink(rgb, backdrop, light):
    """(H, W, 3) float32: 0 at the background colour, 1 at black (light background) or white (dark one).

    Not yet clipped to 0..1 (the caller clips what it uses: the item's box, not the whole picture);
    ``backdrop`` is (H, W, 3) or one colour (3,).

    A channel's scale is at least ``INK_RANGE`` levels: a saturated backdrop (pure red on a dark picture,
    pure yellow's blue channel on a light one) leaves a channel only a few levels of room, and dividing
    by those few would blow the sensor noise up into "ink" (a plain red photo was no longer empty).
    """
    if light:  # also the negation of step 6
        ink, room = np.subtract(backdrop, rgb, dtype=np.float32), backdrop
    else:
        ink, room = np.subtract(rgb, backdrop, dtype=np.float32), 255 - backdrop
    if room.min() < INK_RANGE:
        room = np.maximum(room, INK_RANGE)
    ink /= room
    return ink


def _noise_floor(corners):
    """What the background's own noise reaches: mean + 6 standard deviations in the corner patches (median of 4)."""
    return float(np.median([q.mean() + 6 * q.std() for q in corners]))


def _item_box(ink):
    """(rows, cols) slices of the smallest box holding every pixel of ``ink`` (H, W) over the tolerance; or None.

    ``ink`` is clipped to 0..1 here.

    Measured on a copy averaged down to at most 4 pixels per output pixel (112 on the longest
    edge) and median-filtered: on a 400-pixel photo, one noisy pixel in 10,000 over 5 % would
    otherwise stretch the box to the whole picture. The box is exact to that averaging factor.
    On a photo noisier than that, the tolerance rises to the noise's reach in the corners.
    """
    from PIL import Image

    factor = max(1, max(ink.shape) // (4 * SIZE))
    small = np.asarray(Image.fromarray(_levels(ink), "L").reduce(factor))  # (h, w) uint8
    # The median-filtered copy is needed only in its corners (the noise) and over one level (counted).
    corners = [_medians_at(small, rows.ravel(), cols.ravel()).reshape(rows.shape).astype(np.float32) / 255
               for rows, cols in _corner_grids(small.shape)]
    tolerance = max(TRIM_TOLERANCE, _noise_floor(corners))
    over = np.arange(256, dtype=np.float32) / 255 > tolerance  # which 8-bit levels are over it (as float32 levels)
    if not over.any():
        return None
    content = _patch_counts(small >= np.argmax(over)) >= 5
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    if not len(rows):
        return None
    return (slice(rows[0] * factor, min((rows[-1] + 1) * factor, ink.shape[0])),
            slice(cols[0] * factor, min((cols[-1] + 1) * factor, ink.shape[1])))


def _tilt(gray):
    """The angle (degrees, counter-clockwise) an item (H, W) in 0..1 was turned by, or 0 when it looks upright.

    Fashion-MNIST's items stand upright, their sides along the picture's edges (a hem, a sole,
    a trouser leg), and an upright item's box is the smallest: the angle within
    ``DESKEW_MAX`` whose turning back gives the smallest box of the item's silhouette
    (measured on at most 96 pixels), when that box is at least ``DESKEW_GAIN`` smaller than
    the box as photographed.
    """
    from PIL import Image

    mask = Image.fromarray(_median3_over(gray).view(np.uint8) * np.uint8(255), "L")
    factor = max(1, max(mask.size) // 96)
    silhouette = np.asarray(mask.reduce(factor) if factor > 1 else mask) > 127  # (h, w)
    if np.count_nonzero(silhouette) < 2:
        return 0.0
    return _turn_to_smallest_box(*_row_ends(silhouette))


def _row_ends(silhouette):
    """(rows, cols): each row's first and last pixel of an (h, w) bool silhouette.

    They hold the silhouette's convex hull (a pixel between two others of its row is no corner
    of it), and a turned box's extremes lie on the hull: the box at every angle is the one of
    all the pixels, from a few hundred points instead of thousands.
    """
    rows = np.flatnonzero(silhouette.any(axis=1))
    first, last = silhouette[rows].argmax(axis=1), silhouette.shape[1] - 1 - silhouette[rows, ::-1].argmax(axis=1)
    return np.concatenate([rows, rows]), np.concatenate([first, last])


def _turn_to_smallest_box(rows, cols):
    """The angle (see ``_tilt``) whose turning back gives points ``rows``, ``cols`` (P,) the smallest box, or 0."""
    # Every angle at once: the silhouette's pixels turned back by each angle (clockwise by `angle`, as
    # Image.rotate(-angle) turns them; y points down), and the area of their box.
    angles = np.arange(-DESKEW_MAX, DESKEW_MAX + 0.25, 0.5)
    theta = np.deg2rad(angles)[:, None]  # (A, 1)
    x, y = cols[None, :].astype(np.float64), rows[None, :].astype(np.float64)  # (1, P)
    across = x * np.cos(theta) - y * np.sin(theta)  # (A, P)
    down = x * np.sin(theta) + y * np.cos(theta)
    areas = (np.ptp(across, axis=1) + 1) * (np.ptp(down, axis=1) + 1)
    best = int(np.argmin(areas))
    upright = areas[len(angles) // 2]  # angle 0
    return float(angles[best]) if areas[best] < (1 - DESKEW_GAIN) * upright else 0.0


def _upright(gray):
    """The item (H, W) turned back upright (see ``_tilt``) and trimmed again; unchanged when it stands upright."""
    from PIL import Image

    angle = _tilt(gray)
    if not angle:
        return gray
    turned = np.asarray(Image.fromarray(gray.astype(np.float32), "F").rotate(-angle, Image.Resampling.BICUBIC,
                                                                             expand=True), np.float32)
    content = _median3_over(turned)
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    if not len(rows):
        return gray
    return np.clip(turned[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 0, 1)


def _centred(gray):
    """Paste an (h, w) uint8 array with max(h, w) == 28 into the middle of a black 28x28 canvas."""
    canvas = np.zeros((SIZE, SIZE), np.uint8)
    h, w = gray.shape
    top, left = (SIZE - h + 1) // 2, (SIZE - w + 1) // 2  # an odd margin: one more pixel before, as the dataset
    canvas[top:top + h, left:left + w] = gray
    return canvas


def fashion_input(image):
    """A Pillow image -> (28, 28) uint8, a light item on black, as Fashion-MNIST's recipe makes it."""
    from PIL import Image, ImageFilter

    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = _reduce(image)  # as open_photo gives it: 16-bit scaled, palettes and CMYK converted
    rgb, constant = _flatten(image)
    backdrop = constant if constant is not None else _backdrop(rgb)  # (3,) or (H, W, 3)
    light = float(_band_mean(backdrop) @ _LUMA) > 127.5
    if rgb.shape[:2] == (SIZE, SIZE) and not light and image.mode in ("L", "RGB"):
        return np.asarray(image.convert("L"))  # already Fashion-MNIST-like: unchanged
    ink = _ink(rgb, backdrop, light)  # (H, W, 3), not yet clipped to 0..1
    if rgb.shape[:2] == (SIZE, SIZE):
        return _levels(np.clip(ink, 0, 1) @ _LUMA)  # negated only
    # 1. Trim the rows and columns whose pixels are all within 5 % of the background colour.
    crop = _item_box(np.maximum(np.maximum(ink[..., 0], ink[..., 1]), ink[..., 2]))  # ink.max(-1), 10x faster
    if crop is None:
        return np.zeros((SIZE, SIZE), np.uint8)  # a blank picture: no item
    gray = np.clip(ink[crop], 0, 1) @ _LUMA  # step 7's luma, taken early (it commutes with steps 1-5), in the box
    # Pixels within the tolerance are background: 0, as Fashion-MNIST's backgrounds are.
    gray = np.clip((gray - BACKGROUND_CUT) / (1 - BACKGROUND_CUT), 0, 1)
    gray = _upright(gray)
    # Stretch: the brightest item pixel (of a median-filtered copy: one noisy pixel does not count) -> 1.
    gray = np.clip(gray / max(_median3_max(gray), TRIM_TOLERANCE), 0, 1)
    # 3. Longest edge to 28, 4. sharpen, 5. centre.
    h, w = gray.shape
    scale = SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(gray.astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS))
    small = Image.fromarray(np.clip(np.rint(small * 255), 0, 255).astype(np.uint8), "L")
    return _centred(np.asarray(small.filter(ImageFilter.UnsharpMask(**SHARPEN))))


# ---------------------------------------------------------------- the API


def load_photo(source, name=None, max_pixels=DEFAULT_MAX_PIXELS):
    """One photo (path, bytes or binary file object) -> (28, 28) float32 in 0..1, like Fashion-MNIST's ``/ 255``.

    Args:
        source: a path, the file's bytes, or a binary file object.
        name: how messages name the file; defaults to the path (or "upload" for bytes).
        max_pixels: width x height above which the file is refused undecoded. Defaults to
            ``DEFAULT_MAX_PIXELS`` (40 million).

    Raises:
        PhotoError: the file is missing, empty, not an image, too large or damaged.
    """
    return fashion_input(open_photo(source, name, max_pixels)).astype(np.float32) / np.float32(255.0)


def read_photos(sources, max_pixels=DEFAULT_MAX_PIXELS):
    """Yield ``(name, array or PhotoError)`` for each source: one bad file does not stop the rest."""
    for source in sources:
        name = str(source) if isinstance(source, (str, Path)) else None
        try:
            yield name, load_photo(source, max_pixels=max_pixels)
        except PhotoError as error:
            yield name or error.name, error


def load_photos(sources, max_pixels=DEFAULT_MAX_PIXELS):
    """Several photos -> (N, 28, 28) float32; raises the first file's :class:`PhotoError`."""
    images = [load_photo(source, max_pixels=max_pixels) for source in sources]
    return np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.float32)


def find_photos(paths):
    """Files to read: each file as given, and the image files (by suffix) inside each folder, sorted."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            found.append(path)
    return found


# The names the previous version of this module had.
load_image, load_images = load_photo, load_photos
