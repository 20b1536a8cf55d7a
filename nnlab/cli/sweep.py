"""``nnlab sweep``: hyperparameter search (see :mod:`nnlab.sweep`)."""

from pathlib import Path
from typing import Optional

import typer

from nnlab.core.errors import NnlabError


def sweep(spec: Optional[Path] = typer.Argument(None, help="The sweep spec, YAML: task, base, space, metric, "
                                                           "trials, repeats, pruner (see the README)."),
          out: Optional[Path] = typer.Option(None, help="The sweep folder (default sweeps/<name>-<time>; the same "
                                                        "command continues an unfinished one)."),
          jobs: int = typer.Option(1, help="Trials at a time, each a process with its share of the cores."),
          status: Optional[Path] = typer.Option(None, "--status", help="Show the trials of this sweep folder "
                                                                       "(running or stopped) and exit."),
          executor: str = typer.Option("local", help="local: Optuna on this machine; ray: Ray Tune on a Ray "
                                                      "cluster (--address, RAY_ADDRESS, or a local Ray)."),
          address: Optional[str] = typer.Option(None, help="--executor ray: the cluster's HOST:PORT "
                                                             "(`ray start --head` prints it); default RAY_ADDRESS, "
                                                             "else a local Ray with this machine's cores.")):
    """Search hyperparameters: every trial an ordinary run folder; results.csv, best.yaml, report.html."""
    from nnlab.sweep import local

    if status is not None:
        local.status(status)
        return
    if spec is None:
        raise NnlabError("give a sweep spec: `nnlab sweep sweep.yaml` (or `--status SWEEP_DIR`).")
    if executor not in ("local", "ray"):
        raise NnlabError(f"--executor must be local or ray, got {executor!r}.")
    if executor == "ray":
        from nnlab.sweep import cluster

        cluster.run(spec, out=out, jobs=jobs, address=address)
        return
    if address is not None:
        raise NnlabError("--address joins a Ray cluster: give it with --executor ray.")
    local.run(spec, out=out, jobs=jobs)
