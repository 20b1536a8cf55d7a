"""``nnlab report RUN [RUN_B]``: what a run's model learned, as a page that opens offline.

    nnlab report runs/<run>                  -> runs/<run>/report/index.html (+ report.json, pictures)
    nnlab report runs/<run> --split val
    nnlab report runs/<a> runs/<b>           a's report, and a against b on the same test items
"""

from pathlib import Path
from typing import Optional

import typer

from nnlab.cli.common import console


def report(run: Path = typer.Argument(..., help="A finished run folder (or its name under --runs-dir)."),
           run_b: Optional[Path] = typer.Argument(None, help="A second run of the same task, compared with the "
                                                             "first on the same items."),
           split: str = typer.Option("test", help="test or val."),
           limit: Optional[int] = typer.Option(None, help="Only the first N items of the split."),
           runs_dir: Path = typer.Option(Path("runs"), help="Where run names are looked up.")):
    """Per-class report, confusion matrix, most confidently wrong items, calibration, learning curves and
    what the model learned, for the model `nnlab predict` uses (calibrated when present); with RUN_B, the
    accuracy difference with a bootstrap 95 % interval and McNemar's exact test. Writes RUN/report/."""
    from nnlab.core.report import write_report
    from nnlab.core.runs import find_run

    index = write_report(find_run(run, runs_dir), None if run_b is None else find_run(run_b, runs_dir),
                         split=split, limit=limit)
    console.print(f"report: [bold]{index}[/]")
