"""Tiny ticket data and one tiny trained run, shared by tests/tickets and tests/serving.

The run is trained once per test session: both folders' fixtures call ``tiny_ticket_run``,
which reuses a finished run in the session's base temporary folder.
"""

from pathlib import Path

from nnlab.core.runs import read_run
from nnlab.tickets.synth import generate, write_tickets

N_TICKETS = 400
TINY = dict(vocabulary_size=300, num_tags=30, epochs=2, verbose=0, name="tiny")  # on top of the seeds preset


def ticket_file(root, name="tickets.csv", n=N_TICKETS, seed=0):
    path = Path(root) / name
    if not path.exists():
        write_tickets(generate(n, seed), path)
    return path


def tiny_config(root, **overrides):
    from nnlab.tickets.task import TASK

    return TASK.config("seeds", data=str(ticket_file(root)), runs_dir=str(Path(root) / "runs"),
                       **{**TINY, **overrides})


def tiny_ticket_run(root):
    """The run folder of the seeds preset on 400 synthetic tickets, 300 words, 30 tags, 2 epochs."""
    from nnlab.core.training import train

    run_dir = Path(root) / "runs" / "tiny"
    if read_run(run_dir)["status"] != "finished":
        train(tiny_config(root))
    return run_dir
