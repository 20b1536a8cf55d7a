"""The ticket-triage run config and its presets.

:class:`TicketsConfig` adds to the core's settings what only this system has: the
ticket file and how to read it (its column names, its priority levels), the department
labels (learned from the file unless fixed), the seeds' sizes (10,000 words, 100 tags,
Dense(64)), the splits, and for ``add-head`` runs the base run and the new head.

    >>> from nnlab.tickets.task import TASK
    >>> config = TASK.config("seeds", data="tickets.csv")
    >>> config.early_stopping.monitor, config.early_stopping.patience, config.checkpoint.monitor
    ('val_department_accuracy', 2, 'val_loss')
    >>> TASK.config("triage", data="tickets.csv").early_stopping.monitor     # nnlab tickets train's default
    'val_loss'
"""

import dataclasses
from pathlib import Path

from nnlab.core.config import RunConfig, at_least, choice
from nnlab.core.errors import NnlabError
from nnlab.tickets.data import parse_columns, parse_levels


PRIORITY_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber")  # Keras' names


def label_list(text, flag="--departments"):
    """``"billing,technical"`` -> ``["billing", "technical"]``; refuses empty and repeated labels."""
    labels = [label.strip() for label in text.split(",")]
    if len(labels) < 2 or not all(labels) or len(set(labels)) != len(labels):
        raise NnlabError(f"{flag} must be two or more different comma-separated labels, got {text!r}.")
    return labels


@dataclasses.dataclass
class TicketsConfig(RunConfig):
    task: str = "tickets"
    model: str = "functional"  # functional: the seeds' graph; subclass: its keras.Model twin
    data: str = ""  # the ticket file, .csv or .jsonl
    skip_bad: bool = False  # train on the good rows of a file with bad ones
    departments: str = ""  # "": learned from the training file (sorted); "a,b,c": fixed, in this order
    columns: str = ""  # the file's names of our columns: "title=Subject,body=Description,..." ("": ours)
    priority_levels: str = ""  # "Low,Normal,High,Urgent": named levels, lowest first (scores 0..1); "": numbers
    vocabulary_size: int = 10_000  # words, multi-hot (the first slot counts unknown words)
    num_tags: int = 100  # tags, multi-hot (the first slot counts unknown tags)
    hidden_units: int = 64  # the shared Dense layer
    priority_loss: str = "mean_squared_error"  # the seeds'; mean_absolute_error aims at the median (MAE's optimum)
    val_split: float = 0.15  # fraction of the tickets for validation (0: none)
    test_split: float = 0.15  # fraction held out for the test figures
    split_seed: int = 42  # the shuffle of the split; fixed, so runs with other seeds see the same split
    limit: int | None = None  # use only the first N tickets of the file
    epochs: int = 10  # the seeds' callback example: 10 epochs, early stopping decides
    # add-head runs: the base run's trained model gets one more softmax head
    base_run: str | None = None  # the base run folder (absolute path)
    head: str | None = None  # the new head's name, a label column of the data (e.g. difficulty)
    head_labels: str = ""  # its labels, comma-separated, in output order
    finetune: bool = False  # train every layer, not only the new head

    def has_validation(self):
        return self.val_split > 0

    def label_sets(self):
        """``{"department": [...] or None, head: [...]}``: the fixed labels of every class output (None: learned)."""
        sets = {"department": label_list(self.departments) if self.departments else None}
        if self.head:
            sets[self.head] = label_list(self.head_labels, "--labels")
        return sets

    def column_map(self):
        """``{ours: theirs}`` from ``columns``."""
        return parse_columns(self.columns)

    def levels(self):
        """The priority levels, lowest first, or None (priorities are numbers in 0..1)."""
        return parse_levels(self.priority_levels) if self.priority_levels else None

    def validate(self):
        super().validate()
        if not self.data:
            raise NnlabError("no ticket file given: pass DATA (a .csv or .jsonl file); "
                             "`nnlab tickets make-data --out tickets.csv` writes a synthetic one.")
        if Path(self.data).suffix.lower() not in (".csv", ".jsonl"):
            raise NnlabError(f"the ticket file must end in .csv or .jsonl, got {self.data!r}.")
        at_least("--vocabulary-size", self.vocabulary_size, 2)
        at_least("--num-tags", self.num_tags, 2)
        at_least("--hidden-units", self.hidden_units, 1)
        choice("--priority-loss", self.priority_loss, PRIORITY_LOSSES)
        if self.limit is not None:
            at_least("--limit", self.limit, 10)
        for flag, value in (("--val-split", self.val_split), ("--test-split", self.test_split)):
            if not 0 <= value < 0.5:
                raise NnlabError(f"{flag} must be a fraction in [0, 0.5), got {value}.")
        if not self.test_split > 0:
            raise NnlabError(f"--test-split must be > 0 (the run reports test figures), got {self.test_split}.")
        self.label_sets()
        self.column_map()
        self.levels()
        if self.head is not None:
            if self.base_run is None:
                raise NnlabError("a run with a head needs base_run, the run whose model it extends "
                                 "(use `nnlab tickets add-head RUN`).")
            choice("--model", self.model, ("functional",))
            if self.head in ("priority", "department"):
                raise NnlabError(f"--name {self.head!r} is an output already; pick another name.")
        return self


# Named settings. "seeds" is the seeds' callback example applied to tickets: RMSprop, up to 10
# epochs, EarlyStopping on the department accuracy (patience 2, best weights restored),
# ModelCheckpoint on val_loss. It stops after 2-3 epochs, when the department accuracy
# peaks and before the priority head has learned (priority MAE 0.072 against Ridge's
# 0.059 on the synthetic file).
SEEDS_CALLBACKS = {
    "checkpoint": {"enabled": True, "monitor": "val_loss", "save_best_only": True},
    "early_stopping": {"monitor": "val_department_accuracy", "patience": 2, "restore_best_weights": True},
}
# "triage", the default of `nnlab tickets train`: the seeds' graph, trained until the combined
# validation loss (both heads) stops falling, with the priority head trained on the absolute error
# (the median is MAE's optimum; the seeds' MSE aims at the mean). The values were chosen on the
# validation splits of two independently written generators (bench/tickets_speed.py: nnlab's
# synthetic tickets and a helpdesk export), never on a test split, by the worse of the two files'
# validation MAE relative to Ridge's: priority weight 10 over 5, MAE over MSE, Adam 3e-4 over
# Adam 1e-3 and RMSprop 1e-3 (RMSprop was better on the synthetic file, worse on the export);
# dropout on the inputs or the hidden layer did not help.
TRIAGE = {
    "model": "functional",
    "optimizer": {"name": "adam", "learning_rate": 3e-4},
    "priority_loss": "mean_absolute_error",
    "loss_weights": {"priority": 10.0, "department": 1.0},  # priority's MAE (~0.06-0.14) would drown in the CE
    "epochs": 40,
    "checkpoint": {"enabled": True, "monitor": "val_loss", "save_best_only": True},
    "early_stopping": {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
}
DEFAULT_PRESET = "triage"
PRESETS = {
    "triage": TRIAGE,
    "seeds": {"model": "functional", **SEEDS_CALLBACKS},
    "subclass": {"model": "subclass", **SEEDS_CALLBACKS},
}
