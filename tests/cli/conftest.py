"""Fixtures for the command line (``run_cli``, shared with tests/tickets, is in tests/conftest.py)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

NNLAB = Path(sys.executable).with_name("nnlab")  # the console script installed next to this Python


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
