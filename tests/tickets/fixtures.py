"""Tiny ticket data and two tiny trained runs, shared by tests/tickets and tests/serving.

Each run is trained once per test session: the fixtures call ``tiny_ticket_run`` (nnlab's
own columns, the seeds preset) or ``export_ticket_run`` (a helpdesk export read through
--columns and --priority-levels, the triage preset), which reuse a finished run in the
session's base temporary folder.
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


# ---------------------------------------------------------------- a helpdesk's export, in its own columns

EXPORT_COLUMNS = "title=Subject,body=Description,tags=Tags,priority=Priority,department=Group"
EXPORT_LEVELS = "Low,Normal,High,Urgent"
EXPORT_GROUPS = {"billing": "Billing & Payments", "technical": "Tech Support", "account": "Accounts & Access",
                 "shipping": "Orders & Delivery"}


def export_file(root, name="export.csv", n=N_TICKETS, seed=3):
    """Synthetic tickets as a helpdesk exports them: other column names and departments, HTML bodies with a
    greeting and a signature, tags "a, b", priority as Low..Urgent, and columns nnlab ignores."""
    import csv

    path = Path(root) / name
    if path.exists():
        return path
    levels = EXPORT_LEVELS.split(",")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Ticket ID", "Subject", "Description", "Tags", "Priority", "Group", "Status"])
        for i, row in enumerate(generate(n, seed)):
            body = f"<p>Hello team,</p><p>{row['body'].replace('&', '&amp;')}</p><p>Thanks,<br><b>Zoë</b> &amp; co</p>"
            level = levels[min(int(row["priority"] * len(levels)), len(levels) - 1)]
            writer.writerow([f"T-{i}", row["title"], body, ", ".join(row["tags"]), level,
                             EXPORT_GROUPS[row["department"]], "Open"])
    return path


def export_ticket_run(root):
    """The run folder of the triage preset on the export above, read through --columns and --priority-levels."""
    from nnlab.core.training import train
    from nnlab.tickets.task import TASK

    run_dir = Path(root) / "runs" / "export"
    if read_run(run_dir)["status"] != "finished":
        train(TASK.config("triage", data=str(export_file(root)), runs_dir=str(Path(root) / "runs"),
                          columns=EXPORT_COLUMNS, priority_levels=EXPORT_LEVELS,
                          **{**TINY, "name": "export", "epochs": 3}))
    return run_dir
