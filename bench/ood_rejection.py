"""Claim: the served default answers "ok" for <= 2 % of real item photos and for < 5 % of uploads that are not items.

    python bench/ood_rejection.py                          # the run `nnlab serve` picks (calibrated)
    python bench/ood_rejection.py --run runs/<name> --uploads 300

Two sets of uploads that are not items, measured through the photo path with the run's own
statuses (``nnlab.fashion.ood``: ``empty``, then the detector that ``nnlab calibrate`` fitted):

- nnlab's evaluation set (``nnlab.fashion.oodset``: blank, noise, gradients, patterns, text,
  symbols, handwritten digits, scikit-learn's two photos, shapes);
- an independent corpus written here, sharing no code or choice with that set nor with the
  detector's training outliers: the photographs and scans that scikit-image ships (astronaut,
  cat, coffee, coins, moon, rocket, horse silhouette, printed page, text, bricks, grass, gravel,
  motorcycle, cells, ...) as random crops, rotated, grey or colour, re-encoded as JPEG, PNG,
  WebP, BMP or TIFF at 200-900 pixels; receipts and labels in the system's TrueType fonts
  (DejaVu / Liberation when installed); RGBA stickers with transparent backdrops.

Real item photos: the test split's images made into photos twice, by ``photoset`` (which
the threshold's validation photos also come from) and by ``photoset_independent`` (another
generator: other file kinds and modes, backdrops, lighting, rotations, 300-1000 pixels). The baseline is the classifier's own top probability with
its threshold set the same way (1.5 % of validation photos), as a shop would first try.
"""

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnlab  # noqa: E402,F401  picks the Keras backend
from record import save_result  # noqa: E402

SKIMAGE_IMAGES = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
                  "horse", "hubble_deep_field", "logo", "moon", "motorcycle_left", "page", "rocket", "text",
                  "retina", "immunohistochemistry", "colorwheel")
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")


def _skimage(name):
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.dtype != np.uint8:
        image = np.clip(image / max(float(image.max()), 1e-9) * 255, 0, 255).astype(np.uint8)
    return image


def _encode(image, rng):
    fmt = FORMATS[int(rng.integers(len(FORMATS)))]
    if fmt in ("JPEG", "BMP") and image.mode == "RGBA":
        fmt = "PNG"
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": int(rng.integers(60, 96))} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue(), fmt.lower()


def _photo_upload(rng, names):
    from PIL import Image

    image = _skimage(names[int(rng.integers(len(names)))])
    h, w = image.shape[:2]
    ch, cw = int(rng.integers(h // 3, h + 1)), int(rng.integers(w // 3, w + 1))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = Image.fromarray(image[top:top + ch, left:left + cw])
    crop = crop.convert("L" if rng.random() < 0.3 else "RGB").rotate(float(rng.uniform(-20, 20)), expand=True,
                                                                       fillcolor=0)
    side = int(rng.integers(200, 900))
    crop.thumbnail((side, side))
    return crop


def _receipt(rng, fonts):
    from PIL import Image, ImageDraw, ImageFont

    w, h = int(rng.integers(220, 700)), int(rng.integers(200, 800))
    paper = tuple(int(v) for v in rng.integers(215, 256, 3))
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], int(rng.integers(12, 40)))
    y = int(rng.integers(5, 40))
    while y < h - 20:
        text = " ".join(str(rng.choice(["TOTAL", "EUR", "Qty", "SKU", "#", "VAT", "Cash", "Card", "Thanks!"]))
                        for _ in range(int(rng.integers(1, 4)))) + f" {rng.integers(1, 999)}.{rng.integers(10, 99)}"
        draw.text((int(rng.integers(5, 40)), y), text, fill=tuple(int(v) for v in rng.integers(0, 90, 3)), font=font)
        y += int(font.size * rng.uniform(1.2, 2.2))
    return image


def _sticker(rng):
    from PIL import Image, ImageDraw

    side = int(rng.integers(200, 600))
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,)
    for _ in range(int(rng.integers(1, 5))):
        x0, y0 = rng.uniform(0, side * 0.6, 2)
        x1, y1 = x0 + rng.uniform(side * 0.1, side * 0.4), y0 + rng.uniform(side * 0.1, side * 0.4)
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x0, y0, x1, y1), fill=colour)
    return image


def independent_uploads(n, seed=0):
    """``[(name, bytes, kind)]``: uploads that are not items, made without nnlab's OOD code."""
    rng = np.random.default_rng((seed, 2024))
    fonts = [f for f in FONTS if Path(f).is_file()]
    import skimage.data

    names = [name for name in SKIMAGE_IMAGES if hasattr(skimage.data, name)]
    kinds = ("photo", "photo", "receipt", "sticker") if fonts else ("photo", "photo", "sticker")
    out = []
    for index in range(n):
        kind = kinds[index % len(kinds)]
        image = {"photo": lambda: _photo_upload(rng, names), "receipt": lambda: _receipt(rng, fonts),
                 "sticker": lambda: _sticker(rng)}[kind]()
        data, suffix = _encode(image, rng)
        out.append((f"{index:04d}-{kind}.{suffix}", data, kind))
    return out


def item_photos(x_test, n):
    """``{generator: (n, 28, 28) photo-path inputs}`` of the first ``n`` test images."""
    from nnlab.fashion.photos import load_photo
    from nnlab.fashion.photoset import through_photos
    from nnlab.fashion.photoset_independent import make_set

    originals = np.rint(x_test[:n] * 255).astype(np.uint8)
    return {"photoset": through_photos(originals, seed=7),
            "photoset_independent": np.stack([load_photo(data, name=name) for name, data, _ in make_set(originals, 7)])}


def main(argv=None):
    from nnlab.cli.serve import best_fashion_run
    from nnlab.core.calibration import read_calibration, served_model_path
    from nnlab.core.evaluation import predict
    from nnlab.core.saving import load_model
    from nnlab.fashion.data import load_splits
    from nnlab.fashion.ood import auroc, load_assessor, ood_uploads, threshold_for
    from nnlab.fashion.photos import load_photo
    from nnlab.fashion.photoset import through_photos
    from nnlab.fashion.task import TASK

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a calibrated fashion run (default: what `nnlab serve` picks)")
    parser.add_argument("--uploads", type=int, default=270)
    parser.add_argument("--photos", type=int, default=1000)
    args = parser.parse_args(argv)
    run = Path(args.run) if args.run else Path(best_fashion_run("runs").path)
    assessor = load_assessor(run, keras_free=False)
    if assessor is None:
        raise SystemExit(f"{run} has no detector: run `nnlab calibrate {run}` first")
    started = time.perf_counter()
    splits = load_splits()
    model = load_model(served_model_path(run)[0])
    top = lambda x: 1 - predict(model, x, TASK).max(axis=1)  # noqa: E731  the baseline's score
    val_photos = through_photos(np.rint(splits.x_val[:args.photos] * 255).astype(np.uint8), seed=1)
    from nnlab.fashion.ood import Assessor, is_empty

    baseline = Assessor(top, threshold_for(top(val_photos), is_empty(val_photos)))

    items = item_photos(splits.x_test, args.photos)
    nnlab_set, nnlab_kinds = ood_uploads(args.uploads, seed=11)
    other = independent_uploads(args.uploads, seed=0)
    other_x = np.stack([load_photo(data, name=name) for name, data, _ in other])
    other_kinds = np.array([kind for *_, kind in other])
    rows = {}
    for label, judge in (("detector", assessor), ("top probability", baseline)):
        row = {}
        for name, x in items.items():
            row[f"items via {name}"] = float(np.mean(judge.statuses(x)[0] != "ok"))
        for name, x, kinds in (("nnlab oodset", nnlab_set, nnlab_kinds), ("independent", other_x, other_kinds)):
            status = judge.statuses(x)[0]
            row[name] = float(np.mean(status != "ok"))
            row[f"{name} by kind"] = {k: float(np.mean(status[kinds == k] != "ok")) for k in sorted(set(kinds))}
        row["auroc (independent vs photoset items)"] = auroc(judge.score(items["photoset"]), judge.score(other_x))
        rows[label] = row
    seconds = time.perf_counter() - started
    d = rows["detector"]
    items_rejected = max(v for k, v in d.items() if k.startswith("items via"))
    uploads_rejected = min(d["nnlab oodset"], d["independent"])
    for label, row in rows.items():
        print(f"{label}:")
        for key, value in row.items():
            print(f"  {key}: {value if isinstance(value, dict) else f'{value:.3f}'}")
    calibration = read_calibration(run) or {}
    save_result(
        "ood_rejection",
        claim="<= 2 % of real item photos and >= 95 % of uploads that are not items are not answered ok",
        figure=(uploads_rejected, "share of uploads that are not items not ok (worse of two sets)"),
        baseline=(min(rows["top probability"]["nnlab oodset"], rows["top probability"]["independent"]),
                  "the same with the top probability's threshold"),
        met=items_rejected <= 0.02 and uploads_rejected >= 0.95,
        summary=f"{run.name}: not ok: item photos {items_rejected:.1%} (worse generator), uploads {d['nnlab oodset']:.1%}"
                f" (nnlab set) / {d['independent']:.1%} (independent); top probability: "
                f"{rows['top probability']['nnlab oodset']:.1%} / {rows['top probability']['independent']:.1%}",
        settings={"run": str(run), "uploads": args.uploads, "photos": args.photos,
                  "threshold": assessor.threshold, "seconds": round(seconds, 1)},
        details={"rows": rows, "calibration_ood": calibration.get("ood")})


if __name__ == "__main__":
    main()
