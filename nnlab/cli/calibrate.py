"""``nnlab calibrate RUN``: temperature scaling of a run's class outputs, fitted on its validation split.

    nnlab calibrate runs/seeds-final     writes calibrated.keras, calibration.json and reliability.png
                                         into the run; `nnlab predict` and `nnlab evaluate` then use them
                                         (and calibrated.keras.jaxexport, its Keras-free copy for predict)

Also the tables of calibration figures that ``nnlab evaluate`` prints.
"""

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from nnlab.cli.common import DataDir, console

COLUMNS = (("accuracy", "accuracy", "{:.4f}"), ("nll", "NLL", "{:.4f}"), ("brier", "Brier", "{:.4f}"),
           ("ece", "ECE", "{:.2%}"))


def metrics_table(rows, title=None):
    """A table with one row per ``label -> {"accuracy", "nll", "brier", "ece"}``."""
    table = Table("", *(header for _, header, _ in COLUMNS), title=title, title_justify="left")
    for label, metrics in rows.items():
        table.add_row(label, *(fmt.format(metrics[key]) for key, _, fmt in COLUMNS))
    return table


def calibrate(run: Path = typer.Argument(..., help="A run folder made by `nnlab train` (path, or name in runs/)."),
              data_dir: Optional[Path] = DataDir):
    """Fit temperature scaling on the run's validation split; save the calibrated model in the run.

    Writes calibrated.keras (the run's model with its logits divided by T; plain Keras loads it),
    calibration.json (T; accuracy, NLL, Brier and ECE before and after, on val and test) and
    reliability.png (the test split's reliability diagram).
    """
    from nnlab.core.calibration import CALIBRATED_FILE, CALIBRATION_FILE, RELIABILITY_FILE, calibrate_run
    from nnlab.core.runs import find_run

    run_dir = find_run(run)
    overrides = {} if data_dir is None else {"data_dir": str(data_dir)}
    report = calibrate_run(run_dir, overrides=overrides)
    for name, entry in report["outputs"].items():
        rows = {f"{split} {when}": entry[split][when] for split in ("val", "test") for when in ("before", "after")}
        console.print(metrics_table(rows, title=f"{name}: T = {entry['temperature']:.4f} (fitted on val, "
                                                f"{entry['val']['samples']:,} samples)"))
    console.print(f"wrote {run_dir / CALIBRATED_FILE}, {CALIBRATION_FILE} and {RELIABILITY_FILE} "
                  f"(from {report['source_model']})")
    exported = report.get("exported") or {}
    if exported.get("file"):
        console.print(f"wrote {run_dir / exported['file']} (the same model without Keras: a fast `nnlab predict`)")
    elif exported.get("error"):
        console.print(f"[yellow]note:[/] no Keras-free copy for `nnlab predict`: {escape(exported['error'])}")
