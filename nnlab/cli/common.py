"""What the command groups share: the console, the --data-dir option, output-file checks, Ctrl-C."""

import functools
from pathlib import Path

import typer
from rich.console import Console

from nnlab.core.errors import NnlabError

console = Console()
DataDir = typer.Option(None, "--data-dir", help="Folder with the four IDX files (.gz or raw).")


def check_png(out):
    """Refuse an output path that is not a .png in an existing folder, before any work is done."""
    if Path(out).suffix.lower() != ".png":
        raise NnlabError(f"output file must end in .png, got {out}.")
    if not Path(out).resolve().parent.is_dir():
        raise NnlabError(f"folder {Path(out).parent} does not exist; create it first.")


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
