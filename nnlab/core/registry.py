"""Finding tasks: a name (``"fashion"``, ``"tickets"``) or a run's settings -> its :class:`~nnlab.core.task.Task`.

Apart from :mod:`nnlab.core.task` so that the config can look up its task without the
task module and the config module importing each other: this module imports no other
nnlab module; a task's package is imported by name, when first asked for.

    >>> from nnlab.core.registry import get_task, task_for
    >>> get_task("fashion").name
    'fashion'
    >>> task_for({"task": "tickets", "head": "difficulty"}).log_names()[-1]
    'val_difficulty_accuracy'

A task's variants (a ticket run with an extra head) are read from the settings by
``Task.variant``, never from the task's name.
"""

import functools
import importlib
import os
import pkgutil
import re

from nnlab.core.errors import NnlabError


@functools.cache
def _task_names():
    import nnlab

    # Looked up in the folders, not imported: naming the tasks imports none of them (nor their packages).
    return tuple(sorted(info.name for info in pkgutil.iter_modules(nnlab.__path__)
                        if info.ispkg and info.name != "core"  # core/task.py is the interface
                        and any(module.name == "task" for module in
                                pkgutil.iter_modules([os.path.join(info.module_finder.path, info.name)]))))


_REGISTERED = {}


def register_task(task):
    """Make a task defined outside nnlab's packages known to the core (e.g. your own system, or a test's)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", task.name or ""):
        raise NnlabError(f"a task's name must be lowercase letters, digits and '_', got {task.name!r}.")
    _REGISTERED[task.name] = task
    return task


def task_names():
    """The systems nnlab knows: every ``nnlab`` subpackage with a ``task.py``, and registered tasks."""
    return sorted({*_task_names(), *_REGISTERED})


def get_task(name):
    """The task registered as ``name``, else the one of the package ``nnlab.<name>`` (``task.TASK``).

    A name that run folders of an older nnlab saved (``tickets_difficulty``: a variant's
    name, before variants were settings) is the task that ``Task.reads_name`` says reads it.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    if isinstance(name, str) and name in _task_names():
        return importlib.import_module(f"nnlab.{name}.task").TASK
    for task in import_tasks():
        if task.reads_name(name):
            return task
    raise NnlabError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}.")


def import_tasks():
    """Import every task package, so that the Keras classes each registers are known when loading."""
    return [get_task(name) for name in task_names()]


def task_for(settings):
    """The task of a run's settings (a config, or a dict such as a run's config.json), variant included.

    Settings without a ``task`` are refused: the core has no default system.
    """
    name = settings.get("task") if isinstance(settings, dict) else getattr(settings, "task", None)
    if not name:
        raise NnlabError("these settings name no task; add \"task\": \"fashion\" (or \"tickets\", ...) to them.")
    return get_task(name).variant(settings)
