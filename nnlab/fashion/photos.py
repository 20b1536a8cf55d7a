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

    +  transparent pixels become background (white behind a dark item, black behind a light one)
    +  the background: each corner's colour (the median of a 5x5 patch, so that noise does not
       move it; a corner far from the others is taken as covered), blended bilinearly across the
       picture, which also follows a backdrop lit from one side; "light" if its luma is over 1/2
    +  each channel is scaled so that the background becomes white (a tinted or grey backdrop
       is an under-exposed white); on a dark background, so that it becomes black
    1. trim the borders whose pixels are within 5 % of the background colour (measured on a
       median-filtered copy of at most 112 pixels, or above the corners' noise if it is higher)
    6. negate (only on a light background: the item becomes light on black)
    7. 8-bit gray (ITU-R 601 luma, taken before steps 3-5, which it commutes with)
    +  pixels within 5 % of the background become 0, as every Fashion-MNIST background is
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
the same photos. About 15 ms a photo (decoding included) on one CPU core.

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
TRIM_TOLERANCE = 0.05  # paper: "within 5 % of the maximum possible intensity"
BACKGROUND_CUT = 0.05  # ink below this (noise, JPEG ringing) is background
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
    image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image.copy() if detach else image


# ---------------------------------------------------------------- the recipe


def _median3(values):
    """3x3 median of an (H, W) array in 0..1 (Pillow's MedianFilter on 8 bits): sensor and JPEG noise out."""
    from PIL import Image, ImageFilter

    image = Image.fromarray(np.clip(np.rint(values * 255), 0, 255).astype(np.uint8), "L")
    return np.asarray(image.filter(ImageFilter.MedianFilter(3)), np.float32) / 255


def _flatten(image):
    """(H, W, 3) float32 RGB in 0..255 with transparent pixels made background, and that backdrop or None."""
    rgb = np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"), np.float32)
    if rgb.shape[-1] == 3:
        return rgb, None
    alpha, colour = rgb[..., 3:] / 255, rgb[..., :3]
    weight = alpha.sum()
    tone = float((colour @ _LUMA * alpha[..., 0]).sum() / weight) if weight else 0.0
    # A dark item goes on white, a light one on black: either way it stands out from its background.
    backdrop = 255.0 if tone < 127.5 else 0.0
    return colour * alpha + backdrop * (1 - alpha), np.full((4, 3), backdrop, np.float32)


def _corners(values, patch=5):
    """The four corner patches (top-left, top-right, bottom-left, bottom-right), ``patch`` pixels a side at most."""
    p = max(1, min(patch, values.shape[0] // 4, values.shape[1] // 4))
    return values[:p, :p], values[:p, -p:], values[-p:, :p], values[-p:, -p:]


def _corner_colours(rgb):
    """(4, 3): the median colour of each corner patch."""
    colours = np.array([np.median(q.reshape(-1, 3), axis=0) for q in _corners(rgb)], np.float32)
    # A corner that the item covers is not background: one far from the others' median is replaced by it.
    typical = np.median(colours, axis=0)
    colours[np.abs(colours - typical).max(axis=1) > 0.1 * 255] = typical
    return colours


def _backdrop(colours, height, width):
    """(H, W, 3): the four corner colours blended bilinearly (an even backdrop, or one lit from a side)."""
    v = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    u = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    top_left, top_right, bottom_left, bottom_right = colours
    return (1 - v) * ((1 - u) * top_left + u * top_right) + v * ((1 - u) * bottom_left + u * bottom_right)


def _ink(rgb, backdrop, light):
    """(H, W, 3) in 0..1: 0 at the background colour, 1 at black (light background) or white (dark one)."""
    if light:  # also the negation of step 6
        return np.clip(1 - rgb / np.maximum(backdrop, 1.0), 0, 1)
    return np.clip((rgb - backdrop) / np.maximum(255 - backdrop, 1.0), 0, 1)


def _noise_floor(values):
    """What the background's own noise reaches: mean + 6 standard deviations in the corner patches (median of 4)."""
    return float(np.median([q.mean() + 6 * q.std() for q in _corners(values)]))


def _item_box(ink):
    """(rows, cols) slices of the smallest box holding every pixel of ``ink`` (H, W) over the tolerance; or None.

    Measured on a copy averaged down to at most 4 pixels per output pixel (112 on the longest
    edge) and median-filtered: on a 400-pixel photo, one noisy pixel in 10,000 over 5 % would
    otherwise stretch the box to the whole picture. The box is exact to that averaging factor.
    On a photo noisier than that, the tolerance rises to the noise's reach in the corners.
    """
    from PIL import Image, ImageFilter

    factor = max(1, max(ink.shape) // (4 * SIZE))
    small = Image.fromarray(np.clip(np.rint(ink * 255), 0, 255).astype(np.uint8), "L").reduce(factor)
    small = np.asarray(small.filter(ImageFilter.MedianFilter(3)), np.float32) / 255
    content = small > max(TRIM_TOLERANCE, _noise_floor(small))
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    if not len(rows):
        return None
    return (slice(rows[0] * factor, min((rows[-1] + 1) * factor, ink.shape[0])),
            slice(cols[0] * factor, min((cols[-1] + 1) * factor, ink.shape[1])))


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
    rgb, corners = _flatten(image)
    if corners is None:
        corners = _corner_colours(rgb)
    light = float(corners.mean(axis=0) @ _LUMA) > 127.5
    if rgb.shape[:2] == (SIZE, SIZE) and not light and image.mode in ("L", "RGB"):
        return np.asarray(image.convert("L"))  # already Fashion-MNIST-like: unchanged
    ink = _ink(rgb, _backdrop(corners, *rgb.shape[:2]), light)  # (H, W, 3)
    gray = ink @ _LUMA  # step 7's luma, taken early: it commutes with steps 1-5
    if rgb.shape[:2] == (SIZE, SIZE):
        return np.clip(np.rint(gray * 255), 0, 255).astype(np.uint8)  # negated only
    # 1. Trim the rows and columns whose pixels are all within 5 % of the background colour.
    crop = _item_box(np.maximum(np.maximum(ink[..., 0], ink[..., 1]), ink[..., 2]))  # ink.max(-1), 10x faster
    if crop is None:
        return np.zeros((SIZE, SIZE), np.uint8)  # a blank picture: no item
    # Pixels within the tolerance are background: 0, as Fashion-MNIST's backgrounds are.
    gray = np.clip((gray[crop] - BACKGROUND_CUT) / (1 - BACKGROUND_CUT), 0, 1)
    # Stretch: the brightest item pixel (of a median-filtered copy: one noisy pixel does not count) -> 1.
    gray = np.clip(gray / max(float(_median3(gray).max()), TRIM_TOLERANCE), 0, 1)
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
