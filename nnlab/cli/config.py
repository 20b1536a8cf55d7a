"""``nnlab config show | schema``: the settings of a run, resolved, and the JSON Schema they follow.

    nnlab config show seeds-final                       a preset, every setting filled in (YAML)
    nnlab config show seeds-final --set epochs=3        ... with what --set would change
    nnlab config show runs/<name>                       a run's settings (its config.json: `nnlab train --config`)
    nnlab config show triage --task tickets > my.yaml   a file to edit, for `nnlab tickets train --config my.yaml`
    nnlab config schema --task tickets > tickets.schema.json   for editors that check YAML against a schema

Both print to standard output, nothing else, so they pipe into files.
"""

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from nnlab.core.errors import NnlabError

app = typer.Typer(help="The settings of a run: a preset or a settings file resolved, and their JSON Schema.",
                  no_args_is_help=True)

SUFFIXES = (".yaml", ".yml", ".json")


def _task(name):
    from nnlab.core.config import choice
    from nnlab.core.task import get_task, task_names

    choice("--task", name, tuple(task_names()))
    return get_task(name)


def resolve(source, task=None, sets=()):
    """The resolved config of ``source`` (a preset name of ``task``, or a YAML/JSON settings file) with ``sets``.

    A ticket config needs no ticket file here (it is shown, not run). The task is ``task``, else the one
    the file names, else fashion.
    """
    from nnlab.core.config import from_dict
    from nnlab.core.config_sources import combine, read_settings

    path = Path(source)
    if path.is_dir() and (path / "config.json").is_file():  # a run folder: its settings
        path = path / "config.json"
    is_file = path.suffix.lower() in SUFFIXES or path.is_file()
    named = read_settings(path).get("task") if is_file else None
    chosen = _task(task or named or "fashion")
    if is_file and named is not None and named != chosen.name:
        raise NnlabError(f"{source} holds settings for the task {named!r}, not {chosen.name!r}; "
                         f"drop --task or use --task {named}.")
    if not is_file and source not in chosen.presets:
        from nnlab.core.config_errors import did_you_mean

        raise NnlabError(f"{source} is neither a settings file (.yaml, .yml, .json) nor a preset of the "
                         f"{chosen.name} task ({', '.join(chosen.presets)}).{did_you_mean(source, tuple(chosen.presets))}")
    _, values = combine(chosen, None if is_file else str(source), path if is_file else None, sets)
    values.setdefault("task", chosen.name)
    return from_dict(chosen.config_class, values, partial=True).resolved(partial=True)


def show(source: str = typer.Argument(..., metavar="PRESET_OR_FILE",
                                      help="A preset name, a YAML/JSON settings file or a run folder (its config.json)."),
         task: Optional[str] = typer.Option(None, help="fashion or tickets (default: the file's, else fashion)."),
         sets: Optional[list[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                                  help="Change a setting by its dotted name (repeatable), "
                                                       "as `nnlab train --set` would.")):
    """Print every setting of a preset or a settings file, resolved, as YAML (what a run would use)."""
    from nnlab.core.config import to_dict
    from nnlab.core.config_sources import dump_yaml

    sys.stdout.write(dump_yaml(to_dict(resolve(source, task, sets or ()))))


def schema(task: str = typer.Option("fashion", help="fashion or tickets.")):
    """Print the JSON Schema of a task's settings (for editors that check YAML files, or jsonschema)."""
    config_class = _task(task).config_class
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **config_class.model_json_schema()}
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


app.command("show")(show)
app.command("schema")(schema)
