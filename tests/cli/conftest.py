"""Fixtures for the command line: ``run_cli`` calls ``nnlab.cli.main`` in this process."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnlab import cli

NNLAB = Path(sys.executable).with_name("nnlab")  # the console script installed next to this Python


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    """``run_cli(*args) -> (exit status, stdout, stderr)``, as ``nnlab ARGS`` run from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["nnlab", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main()
        out, err = capsys.readouterr()
        return exited.value.code or 0, out, err

    return run


@pytest.fixture(scope="session")
def nnlab_command():
    """The installed ``nnlab`` console script, to run as a user would (in a subprocess)."""
    return str(NNLAB)


@pytest.fixture
def png():
    """``png(path, value)`` writes a flat 28x28 gray PNG and returns its path."""

    def write(path, value=200):
        Image.fromarray(np.full((28, 28), value, np.uint8), "L").save(path)
        return path

    return write
