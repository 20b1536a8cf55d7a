"""nnlab.fashion.photos, the recipe: synthetic product photos with known answers, in every mode and format.

The reference photo is a black 40x80 rectangle (the item) on a white 200x150 canvas, off
centre. Fashion-MNIST's recipe must turn it into a white 14x28 block (the item's aspect,
longest edge 28), centred on black: columns 7..20, every row.
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from nnlab.fashion import photos
from nnlab.fashion.photos import PhotoError, fashion_input, load_photo
from nnlab.fashion.photoset import decompression_bomb

W, H = 150, 200  # canvas
TOP, LEFT, ITEM_H, ITEM_W = 30, 20, 80, 40  # the item, off centre


def item_mask(height=H, width=W):
    mask = np.zeros((height, width), bool)
    mask[TOP:TOP + ITEM_H, LEFT:LEFT + ITEM_W] = True
    return mask


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def rgb_photo(item=(0, 0, 0), background=(255, 255, 255)):
    pixels = np.empty((H, W, 3), np.uint8)
    pixels[:] = background
    pixels[item_mask()] = item
    return Image.fromarray(pixels, "RGB")


def check_block(x, atol=0.0):
    """x: (28, 28) float32 in 0..1 holding the reference item: a white 14x28 block centred on black."""
    assert x.shape == (28, 28) and x.dtype == np.float32
    expected = np.zeros((28, 28), np.float32)
    expected[:, 7:21] = 1.0
    # The unsharp mask may overshoot by a little at the block's edges only: compare the inside and the outside.
    np.testing.assert_allclose(x[1:-1, 8:20], 1.0, atol=atol + 1e-6)
    np.testing.assert_allclose(x[:, :6], 0.0, atol=atol + 1e-6)
    np.testing.assert_allclose(x[:, 22:], 0.0, atol=atol + 1e-6)
    assert np.abs(x - expected).mean() < 0.02 + atol


def test_dark_item_on_white_becomes_a_light_item_on_black_trimmed_resized_centred():
    check_block(load_photo(encode(rgb_photo(), "PNG")))


def test_a_light_item_on_black_is_not_inverted():
    check_block(load_photo(encode(rgb_photo(item=(255, 255, 255), background=(0, 0, 0)), "PNG")))


def test_tinted_background_and_coloured_item_give_the_same_block():
    # A beige backdrop is an under-exposed white; a dark blue item's darkest pixel becomes 255.
    check_block(load_photo(encode(rgb_photo(item=(20, 30, 90), background=(235, 222, 200)), "PNG")), atol=0.01)


def test_noise_and_a_lighting_gradient_do_not_move_the_trim():
    rng = np.random.default_rng(0)
    pixels = np.asarray(rgb_photo(background=(240, 240, 240)), np.float32)
    pixels *= 1 + 0.02 * np.linspace(-1, 1, W)[None, :, None]  # lit from the right
    pixels += rng.normal(0, 6, pixels.shape)
    x = load_photo(encode(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), "PNG"))
    check_block(x, atol=0.1)


def test_a_blank_picture_gives_an_empty_input():
    assert not load_photo(encode(Image.new("RGB", (50, 40), (250, 250, 250)), "PNG")).any()


# ---------------------------------------------------------------- every mode


def as_mode(mode):
    """The reference photo in ``mode``; in modes with alpha the background is transparent *black*."""
    mask = item_mask()
    if mode in ("RGBA", "LA", "PA"):
        pixels = np.zeros((H, W, 4), np.uint8)  # transparent black everywhere...
        pixels[mask] = (0, 0, 0, 255)  # ...but the item, opaque black
        image = Image.fromarray(pixels, "RGBA")
        return image.convert("LA") if mode == "LA" else image
    if mode == "I;16":
        return Image.fromarray(np.where(mask, 0, 65535).astype(np.uint16))  # uint16 -> I;16
    if mode == "CMYK":
        pixels = np.zeros((H, W, 4), np.uint8)
        pixels[mask, 3] = 255  # K = black
        return Image.fromarray(pixels, "CMYK")
    return rgb_photo().convert(mode)  # 1, L, P, RGB


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"])
def test_every_mode_gives_the_same_block(mode):
    image = as_mode(mode)
    assert image.mode == mode
    fmt = "TIFF" if mode in ("CMYK",) else "PNG"
    check_block(load_photo(encode(image, fmt)))


def test_a_palette_image_with_a_transparent_index():
    image = rgb_photo().convert("P")
    white = image.getpixel((0, 0))
    check_block(load_photo(encode(image, "PNG", transparency=white)))


def test_a_light_item_on_a_transparent_background_goes_on_black():
    pixels = np.zeros((H, W, 4), np.uint8)
    pixels[..., :3] = 255  # transparent *white* this time
    pixels[item_mask()] = (250, 250, 250, 255)
    check_block(load_photo(encode(Image.fromarray(pixels, "RGBA"), "PNG")), atol=0.01)


def test_sixteen_bit_gray_is_scaled_not_clipped():
    # 16-bit values 0..65535 converted as Pillow's convert("L") does would clip everything over 255 to white.
    pixels = np.where(item_mask(), 20000, 60000).astype(np.uint16)
    image = Image.fromarray(pixels)
    assert image.mode == "I;16"
    check_block(load_photo(encode(image, "PNG")))


# ---------------------------------------------------------------- every format


@pytest.mark.parametrize("fmt, options, atol", [
    ("PNG", {}, 0), ("BMP", {}, 0), ("TIFF", {}, 0), ("GIF", {}, 0),
    ("JPEG", {"quality": 90}, 0.06), ("WEBP", {"quality": 90}, 0.06), ("WEBP", {"lossless": True}, 0),
])
def test_every_format(fmt, options, atol):
    check_block(load_photo(encode(rgb_photo(), fmt, **options)), atol=atol)


def test_gif_uses_the_first_frame():
    first, second = rgb_photo(), Image.new("RGB", (W, H), (0, 0, 0))
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.n_frames == 2
    check_block(load_photo(data))


def test_exif_orientation_is_applied():
    # Stored sideways (the item 80 wide, 40 tall) with Orientation 6: shown rotated 90 degrees clockwise.
    sideways = rgb_photo().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(sideways, "JPEG", quality=95, exif=exif)
    check_block(load_photo(data), atol=0.06)
    plain = load_photo(encode(sideways, "JPEG", quality=95))
    assert plain[7:21, :].mean() > 0.9 and plain[:6].max() < 0.1  # without the tag: a wide block


# ---------------------------------------------------------------- 28x28 inputs


def test_a_fashion_mnist_image_passes_unchanged(fashion):
    (_, _), (x_test, _) = fashion[0]
    for image in x_test[:5]:
        np.testing.assert_array_equal(load_photo(encode(Image.fromarray(image, "L"), "PNG")), image / np.float32(255))
        # Its negative (a dark item on white) is only negated back, exactly.
        np.testing.assert_array_equal(fashion_input(Image.fromarray(255 - image, "L")), image)


# ---------------------------------------------------------------- decompression bombs


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded."""
    from PIL import ImageFile

    def load(self):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_30000_by_30000_png_is_refused_before_decoding(no_decoding):
    data = decompression_bomb(30000, 30000)  # 900 million pixels in ~110 KB, a complete PNG
    assert len(data) < 1_000_000
    message = (r"bomb\.png has 900,000,000 pixels, over the limit of 40,000,000: refused as a possible "
               r"decompression bomb; nothing was decoded\.")
    with pytest.raises(PhotoError, match=message) as error:
        load_photo(data, name="bomb.png")
    assert error.value.kind == "too_many_pixels"


def test_the_pixel_limit_is_a_parameter(no_decoding):
    data = decompression_bomb(300, 200)
    with pytest.raises(PhotoError, match=r"small\.png is 300x200 = 60,000 pixels, over the limit of 50,000: refused as") as error:
        load_photo(data, name="small.png", max_pixels=50_000)
    assert error.value.kind == "too_many_pixels"


def test_under_the_limit_a_big_image_loads():
    assert photos.DEFAULT_MAX_PIXELS >= 7680 * 5120  # a 40-megapixel camera
    assert load_photo(decompression_bomb(300, 200), max_pixels=60_000).shape == (28, 28)


# ---------------------------------------------------------------- alpha read for what it holds (issue 16)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_an_opaque_alpha_channel_is_no_transparency(mode):
    # What design tools export: alpha 255 everywhere. It used to be taken as a cut-out and emptied the input.
    image = rgb_photo(item=(20, 20, 20), background=(240, 240, 240)).convert(mode)
    assert np.asarray(image)[..., -1].min() == 255
    check_block(load_photo(encode(image, "PNG")), atol=0.01)


def test_transparent_rounded_corners_keep_the_opaque_backdrop():
    # A photo whose corners alone are transparent (rounded corners): the real, opaque backdrop is grey-beige.
    pixels = np.dstack([np.asarray(rgb_photo(item=(20, 20, 20), background=(225, 215, 200))),
                        np.full((H, W), 255, np.uint8)])
    for rows, cols in ((slice(0, 6), slice(0, 6)), (slice(0, 6), slice(-6, None)), (slice(-6, None), slice(0, 6)),
                       (slice(-6, None), slice(-6, None))):
        pixels[rows, cols] = (0, 0, 0, 0)  # transparent black, as most tools store it
    check_block(load_photo(encode(Image.fromarray(pixels, "RGBA"), "PNG")), atol=0.02)


def test_a_half_transparent_edge_blends_into_the_backdrop():
    # A cut-out with a soft edge: alpha ramps from 0 to 255 over 4 pixels around the item.
    pixels = np.zeros((H, W, 4), np.uint8)
    pixels[item_mask()] = (0, 0, 0, 255)
    soft = Image.fromarray(pixels[..., 3]).filter(ImageFilter.BoxBlur(2))
    pixels[..., 3] = np.maximum(pixels[..., 3], np.asarray(soft))
    x = load_photo(encode(Image.fromarray(pixels, "RGBA"), "PNG"))
    assert x[:, 9:19].mean() > 0.95 and x[:, :4].max() < 0.05 and x[:, 24:].max() < 0.05


def test_a_vignette_and_a_strong_gradient_are_backdrop():
    # Lens fall-off: corners 25 % darker than the middle; then a backdrop lit from one corner.
    v, u = np.mgrid[0:H, 0:W] / np.array([H - 1, W - 1])[:, None, None]
    for light in (1 - 0.5 * ((u - 0.5) ** 2 + (v - 0.5) ** 2), 1 - 0.3 * (u + v) / 2):
        pixels = np.asarray(rgb_photo(item=(20, 20, 20), background=(250, 250, 250)), np.float32) * light[..., None]
        check_block(load_photo(encode(Image.fromarray(np.uint8(np.rint(pixels))), "PNG")), atol=0.1)


@pytest.mark.parametrize("angle", [-9.0, -4.0, 6.0, 11.0])
def test_an_item_photographed_askew_is_turned_back_upright(angle):
    # The reference block turned by `angle`: turned back, it is the block again (not a smaller, turned one).
    image = rgb_photo().rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    x = load_photo(encode(image, "PNG"))
    assert x[2:-2, 9:19].mean() > 0.9  # the block's inside, where a turned block would leave dark corners
    assert x[:, :5].max() < 0.35 and x[:, 23:].max() < 0.35


def test_an_upright_item_is_not_turned(fashion):
    (_, _), (x_test, _) = fashion[0]
    for image in x_test[:20]:  # the dataset's items, each 6x larger, dark on white: already upright
        big = Image.fromarray(255 - image, "L").resize((168, 168), Image.Resampling.LANCZOS)
        gray = 1 - np.asarray(big, np.float32) / 255
        assert photos._tilt(gray) == 0.0
