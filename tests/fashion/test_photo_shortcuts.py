"""nnlab.fashion.photos' shortcuts (the photo path at half its CPU), each against the plain computation it stands for.

The recipe filters with 3x3 medians, fits a surface and turns a silhouette; these compute the
same answers another way (counting, four passes, a silhouette's row ends). Hypothesis draws
pictures; the plain computation (Pillow's MedianFilter, every pixel, the formula) is the oracle.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter

from nnlab.fashion import photos


@st.composite
def pictures(draw, low=1, high=48):
    """(H, W) float32 in 0..1: noise, an item (a plateau with noise and spikes), or levels near the tolerance."""
    height, width = draw(st.integers(low, high)), draw(st.integers(low, high))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "item", "levels"]))
    if kind == "noise":
        values = rng.random((height, width))
    elif kind == "item":
        values = rng.normal(0, rng.uniform(0, 0.05), (height, width))
        top, left = rng.integers(0, height), rng.integers(0, width)
        values[top:top + rng.integers(1, height + 1), left:left + rng.integers(1, width + 1)] += rng.uniform(0.1, 1)
        values[rng.random((height, width)) < 0.01] = 1.0  # hot pixels: noise a median must not keep
    else:  # 12 and 13 of 255 lie either side of the 5 % tolerance
        values = rng.choice(np.array([0, 12, 13, 200, 255]) / 255, (height, width))
    return np.clip(values, 0, 1).astype(np.float32)


def pillow_median(values):
    """uint8 (H, W): the plain 3x3 median, Pillow's filter on the 8-bit levels."""
    levels = np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(levels, "L").filter(ImageFilter.MedianFilter(3)))


@settings(max_examples=150, deadline=None)
@given(pictures())
def test_counted_medians_are_pillows(values):
    median = pillow_median(values) / np.float32(255)  # float32 levels, as the recipe had them
    np.testing.assert_array_equal(photos._median3_over(values), median > photos.TRIM_TOLERANCE)
    assert photos._median3_max(values) == float(median.max())


def plain_item_box(ink):
    """The item box from the whole median-filtered copy, as photos._item_box measured it before its shortcut."""
    factor = max(1, max(ink.shape) // (4 * photos.SIZE))
    levels = np.rint(np.clip(ink, 0, 1) * 255).astype(np.uint8)
    small = Image.fromarray(levels, "L").reduce(factor).filter(ImageFilter.MedianFilter(3))
    small = np.asarray(small, np.float32) / 255
    floor = float(np.median([q.mean() + 6 * q.std() for q in photos._corners(small)]))
    content = small > max(photos.TRIM_TOLERANCE, floor)
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    if not len(rows):
        return None
    return (slice(rows[0] * factor, min((rows[-1] + 1) * factor, ink.shape[0])),
            slice(cols[0] * factor, min((cols[-1] + 1) * factor, ink.shape[1])))


@settings(max_examples=60, deadline=None)
@given(pictures(low=8, high=400))
def test_the_item_box_is_the_one_of_the_whole_filtered_copy(ink):
    assert photos._item_box(ink) == plain_item_box(ink)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 160), st.integers(1, 160), st.integers(0, 2**32 - 1))
def test_the_ring_without_a_mask(height, width, seed):
    ring = photos._ring(height, width)
    for got, expected in zip(photos._ring_points(height, width), np.nonzero(ring)):
        np.testing.assert_array_equal(got, expected)
    values = np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype(np.float32)
    np.testing.assert_allclose(photos._band_mean(values), values[ring].mean(axis=0), rtol=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-300, 300), min_size=18, max_size=18), st.integers(2, 90), st.integers(2, 90))
def test_the_surface_is_the_quadratic(coefficients, height, width):
    c = np.array(coefficients).reshape(6, 3)
    v, u = np.linspace(0, 1, height)[:, None, None], np.linspace(0, 1, width)[None, :, None]
    expected = np.clip(c[0] + c[1] * u + c[2] * v + c[3] * u * u + c[4] * v * v + c[5] * u * v, 0, 255)
    surface = photos._surface(c, height, width)
    assert surface.shape == (height, width, 3) and surface.dtype == np.float32
    np.testing.assert_allclose(surface, expected, atol=0.01)


def test_a_flat_backdrop_is_exactly_flat():
    # What a least-squares fit of an even white backdrop gives: 255 but for the solve's rounding.
    c = np.array([[254.99999] * 3] + [[1e-9, -2e-9, 3e-10]] * 5)
    assert (photos._surface(c, 300, 400) == 255.0).all()


@settings(max_examples=80, deadline=None)
@given(st.integers(4, 96), st.integers(4, 96), st.floats(-15, 15), st.integers(0, 2**32 - 1))
def test_the_row_ends_turn_as_every_pixel(height, width, angle, seed):
    rng = np.random.default_rng(seed)
    block = Image.new("L", (width, height))
    right, bottom = max(width // 4 + 1, 3 * width // 4), max(height // 5 + 1, 4 * height // 5)
    block.paste(255, (width // 4, height // 5, right, bottom))
    silhouette = np.asarray(block.rotate(angle, Image.Resampling.BICUBIC)) > 127
    silhouette |= rng.random((height, width)) < 0.002  # stray pixels
    if np.count_nonzero(silhouette) < 2:
        return
    rows, cols = np.nonzero(silhouette)
    assert photos._turn_to_smallest_box(*photos._row_ends(silhouette)) == photos._turn_to_smallest_box(rows, cols)
