"""Ticket triage as a task of the core: two inputs of text, one of tags; priority and department out.

    >>> from nnlab.tickets.task import TASK
    >>> from nnlab.core.training import train
    >>> result = train(TASK.config("seeds", data="tickets.csv"))

Outputs: ``priority`` (sigmoid, mean squared error, MAE) and ``department`` (softmax,
categorical cross-entropy, accuracy), so Keras logs ``priority_loss``,
``val_department_accuracy``, ... A run made by ``nnlab tickets add-head`` has a third
class output, named by its setting ``head``: ``TASK.variant(settings)`` is the task with it
(older nnlab saved such runs as the task ``tickets_<head>``; they still load).
"""

import dataclasses
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.task import Output, Splits, Task
from nnlab.tickets.config import PRESETS, TicketsConfig
from nnlab.tickets.models import MODELS
from nnlab.tickets.preprocessing import Preprocessing, read_preprocessing
from nnlab.tickets.synth import DEPARTMENTS


def class_output(name, labels):
    return Output(name, "categorical_crossentropy", ("accuracy",), labels=tuple(labels))


PRIORITY = Output("priority", "mean_squared_error", ("mae",))  # the seeds' loss; a config may pick another


@dataclasses.dataclass
class TicketSource:
    """What a run's data came from: the tickets, the split, the vocabularies, the skipped rows."""

    path: str
    tickets: object  # nnlab.tickets.data.Tickets (all good rows, after --limit)
    indices: dict  # split name -> index array into tickets
    vectorizer: object  # nnlab.tickets.features.Vectorizer
    labels: dict  # output -> labels
    skipped: list  # BadRow
    columns: dict = dataclasses.field(default_factory=dict)  # ours -> the file's column names
    priority_levels: tuple | None = None  # named priority levels, lowest first


def training_tickets(config):
    """``(tickets, labels)``: a run's good tickets (after ``--limit``) and the labels of every class output.

    A class output whose labels ``config`` does not fix takes the sorted labels of these
    tickets. The last file read is kept (``load_data`` and ``build_model`` both ask), so
    the file is read once per run unless it changes.
    """
    path = Path(config.data)
    try:
        stat = path.stat()
    except OSError:
        stat = None  # read_tickets says what is wrong with it
    key = (str(path.resolve()), stat and stat.st_mtime_ns, stat and stat.st_size, config.columns,
           config.priority_levels, config.departments, config.head, config.head_labels, config.skip_bad, config.limit)
    if stat is None or _LAST_READ.get("key") != key:
        _LAST_READ.clear()
        _LAST_READ.update(key=key, value=_read_training(config))
    return _LAST_READ["value"]


_LAST_READ = {}  # key -> (tickets, labels) of the last training file read


def _read_training(config):
    from nnlab.tickets.data import read_tickets

    fixed = config.label_sets()
    tickets = read_tickets(config.data, require=("priority", *fixed), skip_bad=config.skip_bad,
                           label_sets={name: names for name, names in fixed.items() if names},
                           columns=config.column_map(), priority_levels=config.levels())
    if config.limit is not None and config.limit < len(tickets):
        skipped = tickets.skipped
        tickets = tickets.take(np.arange(config.limit))
        tickets.skipped = skipped
    labels = {}
    for name, names in fixed.items():
        if names is None:
            names = sorted(set(tickets.labels[name]))
            if len(names) < 2:
                raise NnlabError(f"{config.data}: every ticket's {name} is {names[0]!r}; a classifier needs two or "
                                 f"more {name} labels in the training file.")
        labels[name] = list(names)
    return tickets, labels


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

    name = "tickets"

    def __init__(self, head=None, labels=None):
        labels = labels or {}
        self.head = head
        outputs = [PRIORITY, class_output("department", labels.get("department", DEPARTMENTS))]
        if head is not None:
            outputs.append(class_output(head, labels.get(head, ())))
        self.outputs = tuple(outputs)

    def with_labels(self, labels):
        """The same task with the run's label names (for naming predictions)."""
        return TicketTask(self.head, labels)

    def with_head(self, head):
        """The task of a run with the extra class output ``head`` (None: the two-output task)."""
        return self if head == self.head else TicketTask(head)

    def variant(self, settings):
        """The task with the extra output that ``settings`` (config or config.json dict) name in ``head``."""
        head = settings.get("head") if isinstance(settings, dict) else getattr(settings, "head", None)
        return self.with_head(head)

    def reads_name(self, name):
        # Before variants were settings, add-head runs saved the task "tickets_<head>" (head: in "head").
        return name == self.name or (isinstance(name, str) and name.startswith(self.name + "_"))

    def upgrade_settings(self, values):
        if values.get("task") != self.name and self.reads_name(values.get("task")):
            values = {**values, "task": self.name}
        return values

    # ------------------------------------------------------------ data

    def load_data(self, config, preprocessing=None):
        """The run's splits as multi-hot arrays, read by ``preprocessing`` (a finished run's :class:`Preprocessing`)
        or, for a new run, by vocabularies adapted on the training split (an add-head run: its base run's)."""
        from nnlab.tickets.data import split_indices

        tickets, labels = training_tickets(config)
        skipped = tickets.skipped
        train, val, test = split_indices(len(tickets), config.val_split, config.test_split, config.split_seed)
        if preprocessing is None and config.base_run:  # an add-head run reads tickets as its base model was trained to
            preprocessing = self.preprocessing(config.base_run)
        if preprocessing is None:
            preprocessing = self.fit_preprocessing(config, tickets.take(train))
        vectorizer = preprocessing.vectorizer
        parts = {}
        for name, index in (("train", train), ("val", val), ("test", test)):
            if len(index) == 0:
                parts[name] = (None, None)
                continue
            subset = tickets.take(index)
            parts[name] = (vectorizer.transform(subset), self.targets(subset, labels))
        source = TicketSource(config.data, tickets, {"train": train, "val": val, "test": test}, vectorizer,
                              labels, list(skipped), config.column_map(), config.levels())
        return Splits(*parts["train"], *parts["val"], *parts["test"], source=source)

    def fit_preprocessing(self, config, train):
        """The vocabularies of the training tickets ``train`` and the labels of every class output."""
        from nnlab.tickets.features import Vectorizer

        vectorizer = Vectorizer.adapt(train, config.vocabulary_size, config.num_tags)
        return Preprocessing(vectorizer, training_tickets(config)[1])

    def preprocessing(self, run_dir):
        """The vocabularies and labels a finished run saved (vectorizer.json)."""
        return read_preprocessing(run_dir)

    def targets(self, tickets, labels):
        """``{"priority": (n, 1), "department": one-hot (n, D), ...}`` of tickets read with targets."""
        y = {"priority": tickets.priority.reshape(-1, 1)}
        for name, names in labels.items():
            y[name] = one_hot(tickets.labels[name], names)
        return y

    # ------------------------------------------------------------ models

    def expand_model(self, values):
        """``model: functional`` (with the run's sizes) -> its spec, so ``model.hidden=[...]`` changes it."""
        from nnlab.tickets.models import spec_for

        defaults = self.config_class.model_fields
        sizes = {key: values.get(key, defaults[key].default) for key in ("vocabulary_size", "num_tags", "hidden_units")}
        spec = spec_for(values["model"], **sizes)
        return {**values, "model": spec.model_dump(mode="json"), "hidden_units": None}

    def fold_model(self, values):
        """A model given as settings: its sizes are the vectorizer's too; a spec's hidden layers replace hidden_units."""
        model = values.get("model")
        if isinstance(model, dict):
            values = {**values, "hidden_units": None}
            for key in ("vocabulary_size", "num_tags"):
                if key in model:
                    values[key] = model[key]
                elif key in values:
                    values["model"] = {**values["model"], key: values[key]}
        return values

    def build_model(self, config):
        from nnlab.core.saving import load_model
        from nnlab.tickets.models import add_head, build_model

        labels = training_tickets(config)[1]
        if config.head is None:
            return build_model(config.model, config.vocabulary_size, config.num_tags, len(labels["department"]),
                               config.hidden_units)
        base = load_model(Path(config.base_run) / "final.keras", compile=False)
        return add_head(base, config.head, len(labels[config.head]), finetune=config.finetune)

    def losses(self, config=None):
        """The declared losses, with the run's ``priority_loss`` (the seeds' MSE, or absolute error for triage)."""
        losses = super().losses(config)
        if config is not None and getattr(config, "priority_loss", None):
            losses["priority"] = config.priority_loss
        return losses

    def default_monitor(self, config):
        return "val_loss" if config.has_validation() else "loss"

    # ------------------------------------------------------------ run folder

    def write_extras(self, run_dir, model, splits, metrics):
        """served.keras, vectorizer.json, model.png, confusion_matrix.png; returns their metrics.json entries."""
        from nnlab.tickets.report import write_report

        return write_report(self, run_dir, model, splits)


def head_labels(path, column, labels, classes, skip_bad=False, columns=None):
    """The labels of a new head: ``labels`` ("a,b,c") or the sorted labels found in ``column``; ``classes`` many."""
    from nnlab.tickets.config import label_list
    from nnlab.tickets.data import read_tickets

    found = sorted(set(read_tickets(path, require=(column,), skip_bad=skip_bad, columns=columns).labels[column]))
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


TASK = TicketTask()
