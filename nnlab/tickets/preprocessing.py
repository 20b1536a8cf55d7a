"""A ticket run's fitted preprocessing: the word and tag vocabularies and the labels, and their file.

    vectorizer.json   {"vectorizer": {...}, "labels": {"department": [...], ...},
                       "columns": {...}, "priority_levels": [...]}  (in every finished ticket run folder)

The ticket task learns it from the training split (``TicketTask.fit_preprocessing``), saves
it with the run (``TicketTask.write_extras``) and reads it back (``TicketTask.preprocessing``)
so that ``nnlab tickets evaluate`` reads tickets exactly as the run's model was trained to.

    >>> from nnlab.tickets.preprocessing import read_preprocessing
    >>> state = read_preprocessing("runs/triage-20250101-120000")
    >>> x = state.vectorizer.transform(tickets); state.labels["department"][:2]
    ['billing', 'hardware']
"""

import dataclasses
import json
from pathlib import Path

from nnlab.core.errors import NnlabError
from nnlab.core.runs import write_json

VECTORIZER_FILE = "vectorizer.json"  # in every run folder: the vocabularies, the labels, columns and levels


@dataclasses.dataclass
class Preprocessing:
    """Fitted state: ``vectorizer`` (nnlab.tickets.features.Vectorizer), ``labels`` (output -> label names)."""

    vectorizer: object
    labels: dict


def write_preprocessing(run_dir, state, columns, priority_levels):
    """Save ``state`` with the file's column names and the priority levels; returns the file's path."""
    path = Path(run_dir) / VECTORIZER_FILE
    write_json(path, {"vectorizer": state.vectorizer.to_dict(), "labels": state.labels,
                      "columns": columns, "priority_levels": list(priority_levels or [])})
    return path


def read_preprocessing(run_dir):
    """The :class:`Preprocessing` saved in a run folder's vectorizer.json (columns and levels: in config.json)."""
    from nnlab.tickets.features import Vectorizer

    path = Path(run_dir) / VECTORIZER_FILE
    try:
        values = json.loads(path.read_text())
        return Preprocessing(Vectorizer.from_dict(values["vectorizer"]), values["labels"])
    except FileNotFoundError:
        raise NnlabError(f"{run_dir} has no {VECTORIZER_FILE}: it is not a finished ticket run "
                         "(made by `nnlab tickets train`).") from None
    except (ValueError, KeyError, TypeError) as error:
        raise NnlabError(f"{path} is unreadable ({error}); train the run again.") from None
