"""Saying "no item" and "not sure": each photo's status, ``ok``, ``empty`` or ``unknown``, with its reason.

    nnlab calibrate runs/<name>      also fits the detector: ood.keras, and "ood" in calibration.json
    nnlab evaluate runs/<name> --ood     AUROC, OOD uploads rejected, real item photos rejected

    >>> from nnlab.fashion.ood import load_assessor
    >>> assessor = load_assessor("runs/cnn-fast")           # None for a run never calibrated
    >>> assessor.assess(x)                                  # x: (n, 28, 28) photo-path inputs
    [{'status': 'ok', 'reason': None, 'ood_score': 0.0012}, {'status': 'empty', ...}, ...]

Two tests, in this order:

``empty``: the photo path found nothing but backdrop: fewer than ``EMPTY_PIXELS`` (20 of 784)
pixels reach ``EMPTY_LEVEL`` (0.2). The fewest a Fashion-MNIST training image has is 9, the
0.01 % quantile 14, the 0.1 % quantile 39; blank photos, flat backdrops and faint noise give 0-10.

``unknown``: a detector says the input is not one of the ten kinds. It is the mean of three small
CNNs, on the input and its mirror image, of Keras' built-in layers (``ood.keras``; plain Keras
loads it), each trained, as outlier exposure does
(Hendrycks et al. 2019), to tell the run's training images from synthetic outliers
(``nnlab.fashion.outliers``: strokes, blobs, shapes, textures, fields, shuffled tiles of items).
Its threshold is set on the validation split's images made into photos (``photoset``) so that
at most ``TARGET_REJECTED`` (1.5 %) of those real item photos are not ``ok``; no upload that
is not an item is used for fitting. Compared on the validation photos against nnlab's
out-of-distribution set (``oodset``), with the cnn-fast run's own scores (threshold at 1.5 %
of real photos rejected): the top probability rejected 10 % of those uploads, a Mahalanobis
distance on the 128-unit layer 62 %, pixel-space PCA residuals 16-21 %, Mahalanobis and PCA
together 59-62 %, one detector 91-97 % (by its seed), three averaged 95 % (two draws; AUROC
0.996-0.997; blank uploads are ``empty`` first).

The classifier's probabilities stay in every answer (for transparency); ``class`` is only
named for ``ok`` items, and a bag's summary counts only those.
"""

import numpy as np

from nnlab.core.errors import NnlabError

DETECTOR_FILE = "ood.keras"
EMPTY_LEVEL = 0.2  # ink level a pixel must reach (0..1)
EMPTY_PIXELS = 20  # pixels at that level below which a photo holds no item
TARGET_REJECTED = 0.015  # real item photos (validation) that may be not ok
OUTLIERS_PER_IMAGE = 0.8  # synthetic outliers per training image (40,000 at most)
MAX_OUTLIERS = 20_000  # measured: 40,000 and 6 epochs rejected fewer uploads (0.93 vs 0.96)
EPOCHS = 4
MEMBERS = 3  # detectors averaged
TRAIN_PHOTOS = 2000  # training images also given as photos (15 ms each to make and read back)
PHOTO_WEIGHT = 3.0
PHOTOS = 1000  # validation (and test) images made into photos for the threshold (and the report)
STATUSES = ("ok", "empty", "unknown")


def ink_pixels(x):
    """(n,) pixels per image at ``EMPTY_LEVEL`` or more; ``x`` (n, 28, 28) in 0..1."""
    return (np.asarray(x).reshape(len(x), -1) >= EMPTY_LEVEL).sum(axis=1)


def is_empty(x):
    return ink_pixels(x) < EMPTY_PIXELS


# ---------------------------------------------------------------- the detector


def build_detector(name="ood_member"):
    """(n, 28, 28) in 0..1 -> (n, 1): the probability that an input is not a fashion item. 105,281 weights."""
    import keras

    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28)), L.Reshape((28, 28, 1)),
        L.Conv2D(16, 3, strides=2, padding="same", activation="relu"),  # -> 14x14x16
        L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # -> 7x7x32
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(1, activation="sigmoid"),
    ], name=name)


def ensemble(members):
    """One model: the mean score of ``members`` on each input and on its mirror image. (n, 28, 28) -> (n, 1).

    Built-in layers and ``keras.ops`` only, so plain Keras loads ``ood.keras`` in safe mode.
    """
    import keras

    x = keras.Input((28, 28), name="image")
    mirrored = keras.ops.flip(x, axis=2)  # an item seen in a mirror is an item
    scores = [member(view) for member in members for view in (x, mirrored)]
    return keras.Model(x, keras.layers.Average(name="score")(scores), name="ood_detector")


def fit_detector(x_train, seed=0, outliers=None, photos=None, epochs=EPOCHS, members=MEMBERS, verbose=0):
    """The detector trained on ``x_train`` (items, label 0) against synthetic outliers (label 1).

    ``photos``: how many of the training images also go in as photos read back by the photo path
    (``photoset``), weighing ``PHOTO_WEIGHT`` each, so that real item photos score as items do
    (default: ``TRAIN_PHOTOS`` or a quarter of the images). Every item also goes in mirrored.
    Items and outliers weigh the same in the loss whatever their sizes. ``outliers`` defaults to
    ``make_outliers`` of ``OUTLIERS_PER_IMAGE`` per training image. ``members`` detectors are
    trained from different seeds and averaged (:func:`ensemble`): one alone moved from 91 % to 97 %
    of nnlab's OOD uploads rejected with its seed; three averaged, 95 % both times measured.
    """
    import keras

    from nnlab.fashion.outliers import make_outliers
    from nnlab.fashion.photoset import through_photos

    x_train = np.asarray(x_train, np.float32).reshape(-1, 28, 28)
    if outliers is None:
        count = min(MAX_OUTLIERS, max(100, int(OUTLIERS_PER_IMAGE * len(x_train))))
        outliers = make_outliers(count, seed=seed, images=x_train)
    photos = min(TRAIN_PHOTOS, len(x_train) // 4) if photos is None else photos
    as_photos = through_photos(np.rint(x_train[len(x_train) - photos:] * 255).astype(np.uint8), seed=5) \
        if photos else np.zeros((0, 28, 28), np.float32)
    items = np.concatenate([x_train, as_photos])
    items = np.concatenate([items, items[:, :, ::-1]])  # (2 * (n + photos), 28, 28): and their mirror images
    item_weight = np.tile(np.r_[np.ones(len(x_train)), np.full(len(as_photos), PHOTO_WEIGHT)], 2)
    x = np.concatenate([items, outliers])
    y = np.r_[np.zeros(len(items)), np.ones(len(outliers))].astype("float32")
    weight = np.r_[item_weight, np.full(len(outliers), item_weight.sum() / len(outliers))].astype("float32")
    trained = []
    for member in range(members):
        keras.utils.set_random_seed(seed + member)
        detector = build_detector(f"ood_member_{member}")
        detector.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy")
        detector.fit(x, y, sample_weight=weight, batch_size=128, epochs=epochs, shuffle=True, verbose=verbose)
        trained.append(detector)
    return ensemble(trained)


# ---------------------------------------------------------------- statuses


class Assessor:
    """Statuses of photo-path inputs: ``score(x)`` gives the detector's (n,) scores; ``threshold`` splits them."""

    def __init__(self, score, threshold):
        self.score = score
        self.threshold = float(threshold)

    def statuses(self, x, scores=None):
        """``(status array of str, scores)`` of (n, 28, 28) inputs."""
        x = np.asarray(x, np.float32)
        scores = np.asarray(self.score(x) if scores is None else scores, np.float64).reshape(-1)
        status = np.where(is_empty(x), "empty", np.where(scores > self.threshold, "unknown", "ok"))
        return status, scores

    def assess(self, x, scores=None):
        """One ``{"status", "reason", "ood_score"}`` per input."""
        status, scores = self.statuses(x, scores)
        return [describe(s, v, self.threshold) for s, v in zip(status, scores)]


def describe(status, score, threshold):
    reason = {"ok": None,
              "empty": "no item found: the photo holds nothing but its backdrop",
              "unknown": f"not one of the ten kinds of item: out-of-distribution score {score:.3f} is over the "
                         f"threshold {threshold:.3f}"}[str(status)]
    return {"status": str(status), "reason": reason, "ood_score": round(float(score), 6)}


def answer(probabilities, status=None):
    """One item's answer, as the server and ``nnlab predict`` give it: its status (default ok), then its class,
    class index and top probability (None unless ok) and the ten probabilities by class name (6 places)."""
    from nnlab.core.task import describe
    from nnlab.fashion.data import CLASS_OUTPUT  # not nnlab.fashion.task: that imports Keras

    status = status or {"status": "ok", "reason": None}
    named = describe((CLASS_OUTPUT,), np.asarray(probabilities)[None])[0]  # the task's names for it
    ok = status["status"] == "ok"
    label, probabilities = named["class"], named["class_probabilities"]
    return {**status, "class": label if ok else None, "class_index": named["class_index"] if ok else None,
            "probability": round(probabilities[label], 6) if ok else None,
            "probabilities": {name: round(value, 6) for name, value in probabilities.items()}}


def threshold_for(scores, empty, target=TARGET_REJECTED):
    """The score above which inputs are ``unknown`` so that at most ``target`` of them are not ok in all."""
    scores, empty = np.asarray(scores, np.float64), np.asarray(empty, bool)
    budget = int(np.floor(target * len(scores))) - int(empty.sum())  # unknowns allowed among the non-empty
    ranked = np.sort(scores[~empty])[::-1]
    if budget <= 0 or not len(ranked):
        return float(ranked[0]) if len(ranked) else 1.0
    return float(ranked[min(budget, len(ranked) - 1)])


def auroc(inliers, outliers):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(inliers)), np.ones(len(outliers))], np.r_[inliers, outliers]))


def rejection(assessor, x, scores=None):
    """``{"samples", "empty", "unknown", "not_ok"}`` shares of inputs."""
    status, _ = assessor.statuses(x, scores)
    return {"samples": int(len(status)), **{name: float(np.mean(status == name)) for name in ("empty", "unknown")},
            "not_ok": float(np.mean(status != "ok"))}


def ood_uploads(n=200, seed=0):
    """nnlab's set of uploads that are not items, through the photo path: ``(x (n, 28, 28), kinds)``."""
    from nnlab.fashion.oodset import make_uploads
    from nnlab.fashion.photos import load_photo

    uploads = make_uploads(n, seed)
    return np.stack([load_photo(u.data, name=u.name) for u in uploads]), np.array([u.kind for u in uploads])


def measure(assessor, item_photos, uploads, kinds, photo_scores=None):
    """Real item photos vs uploads that are not items: AUROC of the score, shares not ok, by kind."""
    photo_scores = assessor.score(item_photos) if photo_scores is None else photo_scores
    upload_scores = assessor.score(uploads)
    status, _ = assessor.statuses(uploads, upload_scores)
    return {"auroc": auroc(photo_scores, upload_scores), "item_photos": rejection(assessor, item_photos, photo_scores),
            "uploads": {**rejection(assessor, uploads, upload_scores),
                        "by_kind": {kind: float(np.mean(status[kinds == kind] != "ok"))
                                    for kind in sorted(set(kinds))}}}


# ---------------------------------------------------------------- a run folder


def _keras_score(detector):
    return lambda x: np.asarray(detector.predict(np.asarray(x, np.float32).reshape(-1, 28, 28), batch_size=1000,
                                                 verbose=0)).reshape(-1)


def fit_run(run_dir, splits, seed=0, images=None, photos=PHOTOS, uploads=None, predict=None):
    """Fit the detector and its threshold for a fashion run; write ``ood.keras`` (and its exported copy).

    Args:
        images: training images the detector learns from (default: all of the split).
        photos: validation images made into photos to set the threshold (and test images for the report).
        uploads: uploads of nnlab's out-of-distribution set measured for the report (never fitted on);
            default: as many as ``photos``, at most 200.
        predict: ``x -> probabilities`` of the calibrated model: adds 5-item bag figures to the report.

    Returns what calibration.json keeps under ``"ood"``: method, threshold, and the shares not ok
    of the validation photos (fitted), the test photos and nnlab's uploads that are not items.
    """
    from pathlib import Path

    from nnlab.core.exported import export_beside
    from nnlab.core.saving import save_model
    from nnlab.fashion.photoset import through_photos

    if splits.x_val is None:
        raise NnlabError("the out-of-distribution threshold is set on the validation split, and this run has none; "
                         "train with a validation split (e.g. --validation seeds).")
    if images is not None and images < 100:
        raise NnlabError(f"--ood-images must be at least 100, got {images}.")
    if photos < 50:
        raise NnlabError(f"--ood-photos must be at least 50, got {photos}.")
    detector = fit_detector(splits.x_train[:images], seed=seed)
    score = _keras_score(detector)
    to_uint8 = lambda x: np.rint(np.asarray(x) * 255).astype(np.uint8)  # noqa: E731
    val_photos = through_photos(to_uint8(splits.x_val[:photos]), seed=1)
    val_scores = score(val_photos)
    assessor = Assessor(score, threshold_for(val_scores, is_empty(val_photos)))
    test_photos = through_photos(to_uint8(splits.x_test[:photos]), seed=2)
    test_status, test_scores = assessor.statuses(test_photos)
    outliers, kinds = ood_uploads(min(200, photos) if uploads is None else uploads, seed=0)
    path = Path(run_dir) / DETECTOR_FILE
    save_model(detector, path)
    exported, problem = export_beside(detector, path)
    return {"method": f"empty: fewer than {EMPTY_PIXELS} pixels at {EMPTY_LEVEL}; unknown: a CNN detector trained "
                      "against synthetic outliers (outlier exposure), threshold set on validation photos",
            "detector": DETECTOR_FILE, "threshold": assessor.threshold, "target_rejected": TARGET_REJECTED,
            "val_photos": rejection(assessor, val_photos, val_scores),
            "test_originals": rejection(assessor, splits.x_test[:photos]),
            "test": measure(assessor, test_photos, outliers, kinds, test_scores),
            **({"bags": _bags(predict, splits, test_photos, test_status == "ok")} if predict else {}),
            **({"exported": exported.name} if exported else {"export_error": problem} if problem else {})}


def _bags(predict, splits, test_photos, ok):
    """5-item bags of the test photos (only ``ok`` ones counted) and of their originals: Brier, count MAE."""
    from nnlab.fashion.bags import bag_scores

    n = len(test_photos)
    scores = bag_scores(predict, splits.x_test[:n], splits.y_test[:n], test_photos, ok)
    keep = ("bags", "size", "brier_at_least_one", "count_mae", "items_left_out")
    return {name: {key: table[key] for key in keep} for name, table in scores.items()}


def load_assessor(run_dir, keras_free=True):
    """The run's :class:`Assessor` (detector and threshold from calibration.json), or None when it has none.

    With ``keras_free`` the detector's exported copy is used when current (no Keras import).
    """
    from pathlib import Path

    from nnlab.core.calibration import read_calibration

    if run_dir is None or not Path(run_dir).is_dir():
        return None
    info = (read_calibration(run_dir) or {}).get("ood")
    path = Path(run_dir) / DETECTOR_FILE
    if not info or not path.is_file():
        return None
    if keras_free:
        from nnlab.core import exported

        if exported.enabled():
            try:
                fast = exported.load_exported(path)
                return Assessor(lambda x: np.asarray(fast(np.asarray(x, np.float32))).reshape(-1), info["threshold"])
            except exported.Unusable:
                pass
    from nnlab.core.saving import load_model

    return Assessor(_keras_score(load_model(path, compile=False)), info["threshold"])
