"""Triage raw tickets with a run's served model: named predictions, and their flat CSV columns.

    >>> from nnlab.tickets.triage import load_served, triage
    >>> served = load_served("runs/seeds-20250101-120000")
    >>> triage(served, [{"title": "Charged twice", "body": "Refund please", "tags": ["billing"]}])
    [{'priority': 0.41, 'department': 'billing', 'department_probabilities': {'billing': 0.93, ...}}]

One row per ticket: ``priority`` (the score, 0..1), ``priority_level`` (the nearest of
the run's named levels, for a run trained with ``--priority-levels``), then for every
class output (``department``, and ``difficulty`` for a model made by ``add-head``) the
label and the probability of each label. The HTTP endpoint returns the same rows;
``nnlab tickets predict`` writes them (nnlab/cli/predict.py, with nnlab/cli/output.py).
"""

from pathlib import Path

from nnlab.core.errors import NnlabError

SERVED_FILE = "served.keras"


def load_served(path):
    """The served model of a run folder (its served.keras) or a served ``.keras`` file."""
    from nnlab.core.saving import load_model
    from nnlab.tickets.models import TicketTriage

    path = Path(path)
    file = path / SERVED_FILE if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise NnlabError(f"{path} has no {SERVED_FILE}; pass a finished run folder of `nnlab tickets train`.")
    model = load_model(file, compile=False)
    if not isinstance(model, TicketTriage):
        raise NnlabError(f"{file} is a {type(model).__name__}, not a served ticket model; pass a run folder or "
                         f"its {SERVED_FILE}.")
    return model


def task_of(served):
    """The ticket task with the served model's outputs and label names."""
    from nnlab.tickets.task import TASK

    extra = [name for name in served.outputs_order if name not in ("priority", "department")]
    return TASK.with_head(extra[0] if extra else None).with_labels(served.labels)


def describe(served, outputs):
    """Model outputs (list in output order) -> one dict per ticket, as the endpoint returns them."""
    from nnlab.tickets.data import nearest_level

    levels = getattr(served, "priority_levels", ())  # () for a served model saved before levels existed
    out = []
    for row in task_of(served).describe(outputs):
        named = {}
        for key, value in row.items():
            if key.endswith("_index"):
                continue
            named[key] = value
            if key == "priority" and levels:
                named["priority_level"] = nearest_level(value, levels)
        out.append(named)
    return out


def triage(served, tickets, batch_size=256, progress=None):
    """Named predictions for raw tickets (a list of dicts, or :class:`~nnlab.tickets.data.Tickets`).

    ``progress(n)`` is called after each batch with the number of tickets done in it.
    """
    records = tickets.records() if hasattr(tickets, "records") else list(tickets)
    rows = []
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        rows.extend(describe(served, served.predict(batch, batch_size=batch_size)))
        if progress is not None:
            progress(len(batch))
    return rows


def flat_row(row):
    """A prediction as flat CSV columns: ``department_p_billing``, ... for the probabilities."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            stem = key[:-len("_probabilities")] if key.endswith("_probabilities") else key
            out.update({f"{stem}_p_{label}": round(p, 6) for label, p in value.items()})
        else:
            out[key] = round(value, 6) if isinstance(value, float) else value
    return out
