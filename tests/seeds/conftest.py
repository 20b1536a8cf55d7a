"""Fixtures for ``nnlab reproduce``: a quiet console, toy experiment tables, one tiny real report.

The toy tables swap nnlab's E1-E10 for one-layer runs on 300 samples, so that
sharing, resume and interrupt tests train in seconds.
"""

import io

import pytest
from rich.console import Console

import nnlab.core.training
import nnlab.seeds.experiments
from nnlab.seeds.experiments import Experiment, Figure, Plot, Run
from nnlab.seeds.reproduce import reproduce



def new_console():
    return Console(file=io.StringIO(), width=200)


def two_run_table(short, long):
    return (
        Experiment("E4", "short", "toy", runs=(Run("a", {"model": "logreg", **short}),),
                   figures=(Figure("train accuracy", "a.acc_last", 0.5, hypothesis="toy"),)),
        Experiment("E6", "long", "toy", runs=(Run("b", {"model": "logreg", **long}),),
                   figures=(Figure("val accuracy", "b.val_acc", None),),
                   plots=(Plot("toy.png", "toy curve", ("b",), kind="curves"),)),
    )


@pytest.fixture
def quiet():
    """``quiet()`` -> a console that keeps what reproduce prints (``console.file.getvalue()``)."""
    return new_console


@pytest.fixture
def use_table(monkeypatch):
    """``use_table(*experiments)``: the table nnlab reproduce runs (ids from E1-E10: the report sorts by them)."""

    def use(*table):
        monkeypatch.setattr(nnlab.seeds.experiments, "EXPERIMENTS", tuple(table))
        return table

    return use


@pytest.fixture
def two_runs():
    """``two_runs(short, long)``: a table where E4 asks for one logreg run with ``short`` settings, E6 with ``long``."""
    return two_run_table


@pytest.fixture
def toy_table(use_table):
    """E4: a one-epoch run; E6: the same settings for two epochs (so E4 trains two and E6 reads them)."""
    return use_table(*two_run_table({"epochs": 1}, {"epochs": 2}))


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory):
    """E1, E3 and E6-E10 of the real table on 600 samples per split, at most two epochs (two max_iter for E1).

    Capped at two epochs, E6's, E7's, E8's and E9's runs of the same model and optimizer are one run each.
    """
    out = tmp_path_factory.mktemp("reproduce")
    results = reproduce(only="E1,E3,E6,E7,E8,E9,E10", out=out, limit=600, max_epochs=2, verbose=0,
                        console=new_console())
    return out, results


@pytest.fixture
def training_files():
    """What nnlab.core.training.train leaves in a finished run folder."""
    return {"config.json", "history.csv", "history.json", "metrics.json", "curves.png", "best.keras", "final.keras",
            "final.weights.h5"}


@pytest.fixture
def calls(monkeypatch):
    """Counts the trainings reproduce starts and the runs it continues: ``calls == {"train": n, "resume": m}``."""
    counts = {"train": 0, "resume": 0}
    for name in counts:
        real = getattr(nnlab.core.training, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(nnlab.core.training, name, counted)
    return counts
