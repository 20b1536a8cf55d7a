"""``nnlab calibrate RUN``: temperature scaling of a run's class outputs, fitted on its validation split.

    nnlab calibrate runs/seeds-final     writes calibrated.keras, calibration.json and reliability.png
                                         into the run; `nnlab predict` and `nnlab evaluate` then use them
                                         (and calibrated.keras.jaxexport, its Keras-free copy for predict)

"""

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from nnlab.cli.common import FIRST_SYSTEM, DataDir, console, run_values
from nnlab.cli.output import calibration_table


def calibrate(run: Path = typer.Argument(..., help="A run folder made by `nnlab train` (path, or name in runs/)."),
              ood_images: Optional[int] = typer.Option(None, "--ood-images", help="Fashion runs: training images "
                                                       "the \"not an item\" detector learns from (default all)."),
              ood_photos: int = typer.Option(1000, "--ood-photos", help="Fashion runs: validation images made into "
                                             "photos to set the detector's threshold."),
              data_dir: Optional[Path] = DataDir):
    """Fit temperature scaling on the run's validation split; save the calibrated model in the run.

    Writes calibrated.keras (the run's model with its logits divided by T; plain Keras loads it),
    calibration.json (T; accuracy, NLL, Brier and ECE before and after, on val and test) and
    reliability.png (the test split's reliability diagram). For a fashion run it also fits the
    "not an item" detector (ood.keras): photos whose status is not "ok" are left out of a bag.
    """
    from nnlab.core.calibration import CALIBRATED_FILE, CALIBRATION_FILE, RELIABILITY_FILE, calibrate_run
    from nnlab.core.runs import find_run

    run_dir = find_run(run)
    overrides = {} if data_dir is None else {"data_dir": str(data_dir)}
    if (run_values(run_dir) or {}).get("task") == FIRST_SYSTEM:  # also a folder older than "task" in config.json
        overrides["task"] = FIRST_SYSTEM
    report = calibrate_run(run_dir, overrides=overrides, extras=_extras(run_dir, ood_images, ood_photos))
    for name, entry in report["outputs"].items():
        rows = {f"{split} {when}": entry[split][when] for split in ("val", "test") for when in ("before", "after")}
        console.print(calibration_table(rows, title=f"{name}: T = {entry['temperature']:.4f} (fitted on val, "
                                                f"{entry['val']['samples']:,} samples)"))
    console.print(f"wrote {run_dir / CALIBRATED_FILE}, {CALIBRATION_FILE} and {RELIABILITY_FILE} "
                  f"(from {report['source_model']})")
    exported = report.get("exported") or {}
    if exported.get("file"):
        console.print(f"wrote {run_dir / exported['file']} (the same model without Keras: a fast `nnlab predict`)")
    elif exported.get("error"):
        console.print(f"[yellow]note:[/] no Keras-free copy for `nnlab predict`: {escape(exported['error'])}")
    if report.get("ood"):
        print_ood(report["ood"], run_dir)


def _extras(run_dir, images, photos):
    if (run_values(run_dir) or {}).get("task") != FIRST_SYSTEM:
        return None
    return {"images": images, "photos": photos}


def print_ood(ood, run_dir):
    """The detector's threshold and how many item photos and uploads that are not items it leaves out."""
    test = ood["test"]
    console.print(f"wrote {run_dir / ood['detector']} (\"not an item\": threshold {ood['threshold']:.4f}, set so that "
                  f"{ood['val_photos']['not_ok']:.1%} of {ood['val_photos']['samples']:,} validation photos are not ok)")
    console.print(f"test: {test['item_photos']['not_ok']:.1%} of {test['item_photos']['samples']:,} item photos and "
                  f"{test['uploads']['not_ok']:.1%} of {test['uploads']['samples']:,} uploads that are not items are "
                  f"not ok (AUROC {test['auroc']:.4f}; `nnlab evaluate {run_dir} --ood` for more)")
    bags = ood.get("bags")
    if bags:
        console.print(f"lucky bags ({bags['photos']['bags']:,} of {bags['photos']['size']} test photos): Brier of "
                      f"'at least one' {bags['photos']['brier_at_least_one']:.4f}, expected-count MAE "
                      f"{bags['photos']['count_mae']:.4f} (28x28 originals: {bags['originals']['brier_at_least_one']:.4f}, "
                      f"{bags['originals']['count_mae']:.4f})")
