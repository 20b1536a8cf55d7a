"""``nnlab reproduce``: rerun the seeds' experiments E1-E10 and compare with their figures."""

from pathlib import Path
from typing import Optional

import typer

from nnlab.cli.common import DataDir


def reproduce(
    only: Optional[str] = typer.Option(None, help="Comma-separated experiments, e.g. E5,E9 (default: all)."),
    repeats: int = typer.Option(1, help="Seeds per experiment; reports mean ± std."),
    out: Path = typer.Option(Path("reports/reproduce"), help="Report folder."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N samples of each split (quick check)."),
    epochs: Optional[int] = typer.Option(None, help="Cap every experiment's epochs (quick check)."),
    jobs: int = typer.Option(1, help="Train independent runs this many at a time, each on its share of the "
                                     "cores: a process, or a Ray task with --executor ray (same results as one at "
                                     "a time)."),
    executor: str = typer.Option("local", help="local: runs as processes on this machine; ray: as Ray tasks on a "
                                                "Ray cluster (--address, RAY_ADDRESS, or a local Ray)."),
    address: Optional[str] = typer.Option(None, help="--executor ray: the cluster's HOST:PORT (`ray start --head` "
                                                       "prints it); default RAY_ADDRESS, else a local Ray."),
    resume: bool = typer.Option(False, help="Skip experiments already finished in --out."),
    overwrite: bool = typer.Option(False, help="Start over in --out even if it holds results made with other "
                                               "settings (its run folders with other settings are replaced)."),
    data_dir: Optional[Path] = DataDir,
):
    """Rerun the seeds' experiments E1-E10 and compare with the figures they report.

    Finished runs and reports in --out are never deleted without --overwrite; an
    interrupted run is continued where it stopped.
    """
    from nnlab.core.errors import Interrupted
    from nnlab.seeds.reproduce import reproduce as run_reproduce

    try:
        run_reproduce(only=only, repeats=repeats, out=out, limit=limit, max_epochs=epochs, resume=resume,
                      overwrite=overwrite, data_dir=data_dir, jobs=jobs,
                      executor=executor, address=address)
    except Interrupted:
        # reproduce printed how to resume the report; `nnlab train --resume RUN` would not rebuild it.
        raise KeyboardInterrupt from None
