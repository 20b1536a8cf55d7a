"""What the command groups share: the console, the --data-dir option, finding a run's task and settings, Ctrl-C.

Output files and tables: :mod:`nnlab.cli.output`.
"""

import functools
from pathlib import Path

import typer
from rich.console import Console

from nnlab.core.errors import NnlabError

console = Console()
DataDir = typer.Option(None, "--data-dir", help="Folder with the four IDX files (.gz or raw).")


# Run folders written before runs named their task (config.json without "task") are the fashion
# classifier's, the only system then. The command line says so; the core has no default system.
FIRST_SYSTEM = "fashion"


def run_values(run_dir):
    """A run folder's config.json as a dict (None if it has none), its task named even in the oldest folders."""
    from nnlab.core.runs import read_run

    values = read_run(run_dir)["config"]
    return None if values is None else {"task": FIRST_SYSTEM, **values}


def run_task(run, runs_dir="runs"):
    """``(run_dir, task, values)`` of a run named on the command line (a folder, or a name in ``runs_dir``).

    ``task``: the run's task with its variant (e.g. a ticket run's extra head), as its settings say;
    ``values``: its config.json. A folder without a config.json gives ``(run_dir, None, None)``.
    """
    from nnlab.core.runs import find_run
    from nnlab.core.task import task_for

    run_dir = find_run(run, runs_dir)
    values = run_values(run_dir)
    return run_dir, (None if values is None else task_for(values)), values


def run_settings(run, runs_dir="runs"):
    """``(run_dir, task, config)``: :func:`run_task` with the settings as the task's validated config."""
    run_dir, task, values = run_task(run, runs_dir)
    return run_dir, task, (None if values is None else task.config_from_dict(values))


def drop_none(values):
    """Nested settings without the options the user did not give."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            value = drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out


class Stopped(Exception):
    """Carries a KeyboardInterrupt past Typer, which would turn it into a bare exit 130 and drop its message."""

    def __init__(self, interrupt):
        super().__init__(str(interrupt))
        self.interrupt = interrupt


def stoppable(command):
    """Wrap a command so that Ctrl-C inside it reaches ``nnlab.cli.main`` as it was raised."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as interrupt:
            raise Stopped(interrupt) from None

    return wrapper
