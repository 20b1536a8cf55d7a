"""The "not an item" statuses (nnlab.fashion.ood), the outliers it trains on and the set it is measured on."""

import io

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from PIL import Image

from nnlab.fashion import ood
from nnlab.fashion.oodset import KINDS, make_upload, make_uploads
from nnlab.fashion.outliers import make_outliers
from nnlab.fashion.photos import load_photo


def test_no_training_image_is_empty(small_splits):
    assert not ood.is_empty(small_splits.x_train).any()
    assert not ood.is_empty(small_splits.x_test).any()


@settings(max_examples=25, deadline=None)
@given(st.tuples(*[st.integers(0, 255)] * 3), st.floats(0, 3), st.integers(40, 400), st.integers(40, 400),
       st.sampled_from(["PNG", "JPEG", "WEBP", "BMP"]), st.integers(0, 2**31))
@example((221, 0, 0), 3.0, 40, 40, "PNG", 0)  # CI found it: a saturated channel's few levels of room blew noise up
@example((38, 212, 167), 2.11, 170, 165, "WEBP", 0)  # the same on a light backdrop (its red channel)
def test_a_plain_backdrop_is_empty(colour, noise, width, height, kind, seed):
    rng = np.random.default_rng(seed)
    pixels = np.asarray(colour, np.float32) + rng.normal(0, noise, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB").save(buffer, format=kind)
    assert ood.is_empty(load_photo(buffer.getvalue(), name=f"blank.{kind.lower()}")[None])[0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=300), st.data())
def test_the_threshold_keeps_within_the_target(scores, data):
    empty = data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores)))
    target = data.draw(st.floats(0.0, 0.2))
    threshold = ood.threshold_for(scores, empty, target)
    not_ok = np.asarray(empty) | (np.asarray(scores) > threshold)
    assert not_ok.sum() <= max(int(np.floor(target * len(scores))), int(np.sum(empty)))


def test_statuses_empty_first_then_unknown():
    assessor = ood.Assessor(lambda x: np.array([0.9, 0.9, 0.01]), threshold=0.5)
    item = np.zeros((28, 28), np.float32)
    item[5:20, 8:20] = 0.8
    answers = assessor.assess(np.stack([np.zeros((28, 28), np.float32), item, item]))
    assert [a["status"] for a in answers] == ["empty", "unknown", "ok"]
    assert answers[0]["reason"].startswith("no item found") and "0.900 is over the threshold 0.500" in answers[1]["reason"]
    assert answers[2]["reason"] is None


def test_outliers_are_model_inputs_and_repeatable(small_splits):
    x = make_outliers(60, seed=3, images=small_splits.x_train)
    assert x.shape == (60, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x, make_outliers(60, seed=3, images=small_splits.x_train))


def test_the_ood_set_has_every_kind_and_decodes():
    uploads = make_uploads(len(KINDS) * 2, seed=5)
    assert [u.kind for u in uploads] == list(KINDS) * 2
    assert make_upload(4, seed=5) == uploads[4]
    for upload in uploads:
        assert load_photo(upload.data, name=upload.name).shape == (28, 28)


def test_a_small_detector_tells_items_from_outliers(small_splits):
    """Trained on 600 images: still far apart on test images vs unseen outliers, and vs nnlab's OOD set."""
    detector = ood.fit_detector(small_splits.x_train, seed=0, epochs=8, members=1)
    score = lambda x: detector.predict(x, verbose=0).reshape(-1)  # noqa: E731
    items = score(small_splits.x_test)
    assert ood.auroc(items, score(make_outliers(300, seed=99))) > 0.95
    uploads, kinds = ood.ood_uploads(45, seed=1)
    keep = kinds != "blank"  # blank uploads are "empty" before the detector is asked
    assert ood.auroc(items, score(uploads[keep])) > 0.75
