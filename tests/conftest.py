"""Shared fixtures: the real data loaded once, one tiny trained run, synthetic IDX files.

The real Fashion-MNIST must be installed (``make run`` installs Debian's
``dataset-fashion-mnist``). Tests that train use the first few hundred samples
of each split for one to three epochs; ``-m "not slow"`` skips the longer ones.
"""

import nnlab  # noqa: F401  picks the JAX backend before anything imports keras

import pytest

import importlib.util
import os
import sys

from helpers import SMALL, TINY_RUN, CheckpointWatcher
from nnlab import cli
from nnlab.core.training import train
from nnlab.fashion.data import load_splits, locate
from nnlab.fashion.task import TASK


def pytest_collection_modifyitems(items):
    """Tests on the session's Ray run in one test process (``make test``'s ``--dist loadgroup``): one local
    Ray for them all, not one per test process. (A test that starts its own nodes joins the group itself.)"""
    for item in items:
        if "ray_address" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Never let a test start Keras' internet download."""
    monkeypatch.setenv("NNLAB_OFFLINE", "1")


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def fashion():
    """``(((x_train, y_train), (x_test, y_test)), DataSource)`` of the installed real data."""
    return locate()


@pytest.fixture(scope="session")
def splits():
    """The seeds' full 48,000 / 12,000 / 10,000 split, scaled."""
    return load_splits()


@pytest.fixture(scope="session")
def small_splits():
    """First 600 samples of each split of the seeds' pipeline (a few seconds per epoch)."""
    return load_splits(limit=SMALL)


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """A folder whose ``runs/`` holds the session's tiny run (cwd for CLI tests on runs)."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def tiny_run(runs_root, small_splits):
    """The seeds' final pipeline (dropout 0.3, Adam, checkpoint, early stopping) for 3 epochs on 600 samples.

    ``tiny_run.checkpoint_changed`` says, per epoch, whether best.keras was written.
    """
    config = TASK.config("seeds-final", runs_dir=str(runs_root / "runs"), **TINY_RUN)
    watcher = CheckpointWatcher(runs_root / "runs" / "tiny" / "best.keras")
    result = train(config, splits=small_splits, extra_callbacks=[watcher])
    result.checkpoint_changed = watcher.changed()
    return result


@pytest.fixture(scope="session")
def calibrated_tiny(tiny_run, small_splits, tmp_path_factory):
    """The session's tiny run, copied and calibrated once (temperature and "not an item" detector): a folder
    that tests copy before they change it (calibrating takes tens of seconds; most tests need only its result)."""
    from serving.fashion_fixtures import calibrated_run

    return calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """No real data anywhere: empty HOME and Debian folder, no NNLAB_DATA_DIR, cache in tmp_path."""
    import nnlab.fashion.data

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NNLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("NNLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(nnlab.fashion.data, "DEBIAN_DIR", tmp_path / "debian")
    return tmp_path


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


# ---------------------------------------------------------------- tickets (tests/tickets and tests/serving)


@pytest.fixture(scope="session")
def ticket_root(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "tickets"


@pytest.fixture(scope="session")
def tickets_csv(ticket_root):
    from tickets.fixtures import ticket_file

    ticket_root.mkdir(exist_ok=True)
    return ticket_file(ticket_root)


@pytest.fixture(scope="session")
def ticket_run(ticket_root, tickets_csv):
    from tickets.fixtures import tiny_ticket_run

    return tiny_ticket_run(ticket_root)


# ---------------------------------------------------------------- Ray (tests/sweep/test_cluster.py, tests/fashion/test_batch_predict.py)


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory):
    """One local Ray (a head node with 2 CPUs) for the whole test run: its HOST:PORT. Stopped at the end.

    Ray is not imported here: it reads the token's settings when first imported, and tests that
    join the cluster in this process (tests/seeds/test_reproduce.py) need them set first.
    """
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed")
    from ray_nodes import free_port, start_node, stop_node, token_environment, wait_for_cpus

    saved = {key: os.environ.get(key) for key in token_environment()}
    os.environ.update(token_environment())  # the nodes and the tests' nnlab commands
    port = free_port()
    head = start_node(2, head_port=port, log=tmp_path_factory.mktemp("ray") / "head.log")
    try:
        wait_for_cpus(f"127.0.0.1:{port}", 2)
        yield f"127.0.0.1:{port}"
    finally:
        stop_node(head)
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
