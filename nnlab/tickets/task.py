"""Ticket triage as a task of the core: two inputs of text, one of tags; priority and department out.

    >>> from nnlab.tickets.task import TASK
    >>> from nnlab.core.training import train
    >>> result = train(TASK.config("seeds", data="tickets.csv"))

Outputs: ``priority`` (sigmoid, mean squared error, MAE) and ``department`` (softmax,
categorical cross-entropy, accuracy), so Keras logs ``priority_loss``,
``val_department_accuracy``, ... A run made by ``nnlab tickets add-head`` has a third
class output; its task is ``tickets_<head>`` (see :func:`task_with_head`), registered
with the core when first asked for.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.task import Output, Splits, Task, register_task
from nnlab.tickets.config import PRESETS, TicketsConfig
from nnlab.tickets.models import MODELS
from nnlab.tickets.synth import DEPARTMENTS

VECTORIZER_FILE = "vectorizer.json"  # in every run folder: the word and tag vocabularies and the labels


def class_output(name, labels):
    return Output(name, "categorical_crossentropy", ("accuracy",), labels=tuple(labels))


PRIORITY = Output("priority", "mean_squared_error", ("mae",))


@dataclasses.dataclass
class TicketSource:
    """What a run's data came from: the tickets, the split, the vocabularies, the skipped rows."""

    path: str
    tickets: object  # nnlab.tickets.data.Tickets (all good rows, after --limit)
    indices: dict  # split name -> index array into tickets
    vectorizer: object  # nnlab.tickets.features.Vectorizer
    labels: dict  # output -> labels
    skipped: list  # BadRow


def one_hot(labels, names):
    """Labels -> (n, len(names)) float32 one-hot rows, as categorical cross-entropy wants."""
    index = {name: i for i, name in enumerate(names)}
    out = np.zeros((len(labels), len(names)), dtype="float32")
    out[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return out


class TicketTask(Task):
    """The ticket system; ``head`` adds one class output (an add-head run)."""

    config_class = TicketsConfig
    presets = PRESETS
    models = MODELS

    def __init__(self, head=None, labels=None):
        labels = labels or {}
        self.head = head
        self.name = "tickets" if head is None else f"tickets_{head}"
        outputs = [PRIORITY, class_output("department", labels.get("department", DEPARTMENTS))]
        if head is not None:
            outputs.append(class_output(head, labels.get(head, ())))
        self.outputs = tuple(outputs)

    def with_labels(self, labels):
        """The same task with the run's label names (for naming predictions)."""
        return TicketTask(self.head, labels)

    # ------------------------------------------------------------ data

    def load_data(self, config, vectorizer=None):
        """The run's splits as multi-hot arrays; ``vectorizer`` (e.g. a finished run's) replaces adapting one."""
        from nnlab.tickets.data import read_tickets, split_indices
        from nnlab.tickets.features import Vectorizer

        labels = config.label_sets()
        tickets = read_tickets(config.data, require=("priority", *labels), label_sets=labels,
                               skip_bad=config.skip_bad)
        skipped = tickets.skipped
        if config.limit is not None and config.limit < len(tickets):
            tickets = tickets.take(np.arange(config.limit))
        train, val, test = split_indices(len(tickets), config.val_split, config.test_split, config.split_seed)
        if vectorizer is None and config.base_run:  # an add-head run reads tickets as its base model was trained to
            vectorizer = read_vectorizer(config.base_run)[0]
        if vectorizer is None:
            vectorizer = Vectorizer.adapt(tickets.take(train), config.vocabulary_size, config.num_tags)
        parts = {}
        for name, index in (("train", train), ("val", val), ("test", test)):
            if len(index) == 0:
                parts[name] = (None, None)
                continue
            subset = tickets.take(index)
            parts[name] = (vectorizer.transform(subset), self.targets(subset, labels))
        source = TicketSource(config.data, tickets, {"train": train, "val": val, "test": test}, vectorizer,
                              labels, list(skipped))
        return Splits(*parts["train"], *parts["val"], *parts["test"], source=source)

    def targets(self, tickets, labels):
        """``{"priority": (n, 1), "department": one-hot (n, D), ...}`` of tickets read with targets."""
        y = {"priority": tickets.priority.reshape(-1, 1)}
        for name, names in labels.items():
            y[name] = one_hot(tickets.labels[name], names)
        return y

    # ------------------------------------------------------------ models

    def build_model(self, config):
        from nnlab.core.saving import load_model
        from nnlab.tickets.models import add_head, build_model

        if config.head is None:
            return build_model(config.model, config.vocabulary_size, config.num_tags,
                               len(config.label_sets()["department"]), config.hidden_units)
        base = load_model(Path(config.base_run) / "final.keras", compile=False)
        return add_head(base, config.head, len(config.label_sets()[config.head]), finetune=config.finetune)

    def default_monitor(self, config):
        return "val_loss" if config.has_validation() else "loss"

    # ------------------------------------------------------------ run folder

    def write_extras(self, run_dir, model, splits, metrics):
        from nnlab.tickets.report import write_report

        write_report(self, run_dir, model, splits, metrics)


def read_vectorizer(run_dir):
    """``(Vectorizer, labels)`` saved in a run folder's vectorizer.json."""
    from nnlab.tickets.features import Vectorizer

    path = Path(run_dir) / VECTORIZER_FILE
    try:
        values = json.loads(path.read_text())
        return Vectorizer.from_dict(values["vectorizer"]), values["labels"]
    except FileNotFoundError:
        raise NnlabError(f"{run_dir} has no {VECTORIZER_FILE}: it is not a finished ticket run "
                         "(made by `nnlab tickets train`).") from None
    except (ValueError, KeyError, TypeError) as error:
        raise NnlabError(f"{path} is unreadable ({error}); train the run again.") from None


def head_labels(path, column, labels, classes, skip_bad=False):
    """The labels of a new head: ``labels`` ("a,b,c") or the sorted labels found in ``column``; ``classes`` many."""
    from nnlab.tickets.config import label_list
    from nnlab.tickets.data import read_tickets

    found = sorted(set(read_tickets(path, require=(column,), skip_bad=skip_bad).labels[column]))
    if labels is not None:
        wanted = label_list(labels, "--labels")
        unknown = sorted(set(found) - set(wanted))
        if unknown:
            raise NnlabError(f"{path} has {column} labels that --labels lacks: {', '.join(unknown)}.")
        found = wanted
    if len(found) != classes:
        raise NnlabError(f"--classes {classes}, but the {column} labels are {len(found)}: {', '.join(found)}; "
                         f"use --classes {len(found)} or give --labels.")
    return found


def task_with_head(head):
    """The task of a run with the extra output ``head``, registered with the core as ``tickets_<head>``."""
    return register_task(TicketTask(head))


def task_for_config(values):
    """The task a run config (dict from config.json) belongs to; registers add-head variants."""
    head = values.get("head")
    return TASK if head is None else task_with_head(head)


TASK = TicketTask()
register_task(TicketTask("difficulty"))  # the seeds' third head: `nnlab train --resume` finds its runs too
