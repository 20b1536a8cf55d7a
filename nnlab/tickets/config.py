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

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from nnlab.core.config import RunConfig, choice
from nnlab.core.config_sources import load_presets
from nnlab.core.errors import NnlabError
from nnlab.tickets.data import parse_columns, parse_levels
from nnlab.tickets.files import check_suffix
from nnlab.tickets.models import MODELS, TicketModelSpec, parse_spec


PRIORITY_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber")  # Keras' names


def label_list(text, flag="--departments"):
    """``"billing,technical"`` -> ``["billing", "technical"]``; refuses empty and repeated labels."""
    labels = [label.strip() for label in text.split(",")]
    if len(labels) < 2 or not all(labels) or len(set(labels)) != len(labels):
        raise NnlabError(f"{flag} must be two or more different comma-separated labels, got {text!r}.")
    return labels


class TicketsConfig(RunConfig):
    FLAGS = {**RunConfig.FLAGS, "data": "DATA", "skip_bad": "--skip-bad", "departments": "--departments",
             "columns": "--columns", "priority_levels": "--priority-levels", "vocabulary_size": "--vocabulary-size",
             "num_tags": "--num-tags", "priority_loss": "--priority-loss", "val_split": "--val-split",
             "test_split": "--test-split", "limit": "--limit", "early_stopping.patience": "--patience"}

    task: str = "tickets"
    # functional: the seeds' graph; subclass: its keras.Model twin; or the model as data: {kind: triage,
    # hidden: [128, 64], activation: relu, dropout: 0.2, api: functional} (models.py's TriageSpec)
    model: Literal[MODELS] | TicketModelSpec = "functional"
    data: str = ""  # the ticket file: .csv, .tsv, .txt, .jsonl, .ndjson or .json (files.py reads them all)
    skip_bad: bool = False  # train on the good rows of a file with bad ones
    departments: str = ""  # "": learned from the training file (sorted); "a,b,c": fixed, in this order
    columns: str = ""  # the file's names of our columns: "title=Subject,body=Description,..." ("": ours)
    priority_levels: str = ""  # "Low,Normal,High,Urgent": named levels, lowest first (scores 0..1); "": numbers
    vocabulary_size: int = Field(10_000, ge=2)  # words, multi-hot (the first slot counts unknown words)
    num_tags: int = Field(100, ge=2)  # tags, multi-hot (the first slot counts unknown tags)
    hidden_units: Annotated[int, Field(ge=1)] | None = 64  # a named model's shared Dense layer (a spec: model.hidden)
    # the seeds' loss; mean_absolute_error aims at the median (MAE's optimum)
    priority_loss: Literal[PRIORITY_LOSSES] = "mean_squared_error"
    val_split: float = Field(0.15, ge=0, lt=0.5, json_schema_extra={  # fraction for validation (0: none)
        "x-allowed": "a fraction in [0, 0.5)"})
    test_split: float = Field(0.15, gt=0, lt=0.5, json_schema_extra={  # fraction held out for the test figures
        "x-allowed": "> 0 (the run reports test figures) and < 0.5"})
    split_seed: int = 42  # the shuffle of the split; fixed, so runs with other seeds see the same split
    limit: Annotated[int, Field(ge=10)] | None = None  # use only the first N tickets of the file
    epochs: int = Field(10, ge=1)  # the seeds' callback example: 10 epochs, early stopping decides
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

    @field_validator("model", mode="before")
    @classmethod
    def _spec(cls, value):
        """A model given as settings is checked by its spec, whose messages name the field (model.hidden.0)."""
        if isinstance(value, dict):
            return parse_spec(value)
        if not isinstance(value, TicketModelSpec):
            choice("--model", value, MODELS)
        return value

    @model_validator(mode="after")
    def _spec_sizes(self):
        """A model given as settings holds its layers; the vectorizer's sizes are this config's and must agree."""
        if not isinstance(self.model, str):
            self.__dict__["hidden_units"] = None  # model.hidden says it (not setattr: this validator would rerun)
            for key in ("vocabulary_size", "num_tags"):
                if getattr(self.model, key) != getattr(self, key):
                    raise NnlabError(f"model.{key} {getattr(self.model, key)} differs from {key} "
                                     f"{getattr(self, key)}; the vectorizer and the model need one: set {key}.")
        return self

    @model_validator(mode="after")
    def _readable(self, info):
        if not self.data:
            if not (info.context or {}).get("partial"):  # `nnlab config show` prints settings without a file
                raise NnlabError("no ticket file given: pass DATA (a .csv, .tsv, .json or .jsonl file); "
                                 "`nnlab tickets make-data --out tickets.csv` writes a synthetic one.")
        else:
            check_suffix(self.data)
        self.label_sets()
        self.column_map()
        self.levels()
        if self.head is not None:
            if self.base_run is None:
                raise NnlabError("a run with a head needs base_run, the run whose model it extends "
                                 "(use `nnlab tickets add-head RUN`).")
            choice("--model", self.model if isinstance(self.model, str) else self.model.api, ("functional",))
            if self.head in ("priority", "department"):
                raise NnlabError(f"--name {self.head!r} is an output already; pick another name.")
        return self


# Named settings (nnlab/presets/tickets/*.yaml). "seeds" is the seeds' callback example applied to tickets;
# "triage", the default of `nnlab tickets train`, was tuned on two generators' validation splits (its file says how).
DEFAULT_PRESET = "triage"
PRESETS = load_presets("tickets")
