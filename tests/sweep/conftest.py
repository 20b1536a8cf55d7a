"""Fixtures for sweeps: the installed ``nnlab`` command, as users run it."""

import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def nnlab_command():
    return str(Path(sys.executable).with_name("nnlab"))
