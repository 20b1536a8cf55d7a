"""Where settings come from: preset files, settings files (YAML or JSON), ``--set`` items, and their order.

Weakest first: the task's defaults < a preset (``nnlab/presets/<task>/<name>.yaml``) < a settings
file (``--config``; a run's config.json) < ``--set dotted.key=value`` < the named flags
(:func:`settings_from`). YAML is read as a user means it: ``1e-3`` is a number.

    >>> parse_sets(["optimizer.learning_rate=1e-3", "model.hidden=[300, 100]", "reduce_lr=null"])
    {'optimizer': {'learning_rate': 0.001}, 'model': {'hidden': [300, 100]}, 'reduce_lr': None}
"""

import json
import re
from importlib import resources
from pathlib import Path

import yaml

from nnlab.core.config import choice, merge
from nnlab.core.errors import NnlabError

class _Loader(yaml.SafeLoader):
    """YAML as a user means it: ``1e-3`` is a number (PyYAML's YAML 1.1 reads it as text without a dot)."""


class _Dumper(yaml.SafeDumper):
    """Writes what :class:`_Loader` reads back the same (quotes the text ``1e5``)."""


_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
for _kind in (_Loader, _Dumper):
    _kind.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(text):
    """Parse YAML text safely (no Python objects), with ``1e-3`` a float."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader is a SafeLoader)


def dump_yaml(values, flow=False):
    """Settings as YAML, in their declared order (``flow``: on one line, as ``--set`` takes a value)."""
    return yaml.dump(values, Dumper=_Dumper, sort_keys=False, default_flow_style=flow, allow_unicode=True,
                     width=10**6 if flow else 80)


def read_settings(path):
    """The settings in a YAML (.yaml, .yml) or JSON file, as a dict; a missing or broken file is a user mistake."""
    path = Path(path)
    kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
    try:
        text = path.read_text()
        values = load_yaml(text) if kind == "YAML" else json.loads(text)
    except FileNotFoundError:
        raise NnlabError(f"Config file {path} does not exist.") from None
    except IsADirectoryError:
        raise NnlabError(f"Config file {path} is a folder; give a .yaml or .json file (a run's config.json).") \
            from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        detail = " ".join(str(error).split())
        raise NnlabError(f"Config file {path} is not valid {kind}: {detail}.") from None
    if not isinstance(values, dict):
        raise NnlabError(f"Config file {path} must hold a {kind} mapping of settings, got {type(values).__name__}.")
    return values


def parse_set(item):
    """``"optimizer.learning_rate=1e-3"`` -> ``{"optimizer": {"learning_rate": 0.001}}``; the value is YAML
    (``[300, 100]``, ``true``, ``null``, ``{factor: 0.5}``)."""
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in parts):
        raise NnlabError(f"--set takes dotted.key=value (e.g. --set optimizer.learning_rate=0.01), got {item!r}.")
    try:
        value = load_yaml(text)
    except yaml.YAMLError as error:
        raise NnlabError(f"--set {item}: the value is not valid YAML ({' '.join(str(error).split())}); "
                         "quote text with special characters.") from None
    for part in reversed(parts):
        value = {part: value}
    return value


def parse_sets(items):
    """Every ``--set`` in order, merged (a later one wins)."""
    values = {}
    for item in items or ():
        values = merge(values, parse_set(item))
    return values


def combine(task, preset=None, config=None, sets=(), flags=None, default_preset=None):
    """``(preset name, settings dict)`` of a run of ``task``, weakest first: ``preset`` (else the one the file or
    a ``--set preset=...`` names, else ``default_preset``), the settings file ``config`` (YAML or JSON, e.g. a
    run's config.json), the ``--set`` items ``sets``, the nested dict ``flags`` (the named flags given)."""
    values = read_settings(config) if config is not None else {}
    values = merge(merge(values, parse_sets(sets)), flags or {})
    named = values.pop("preset", None)
    base = preset if preset is not None else named if named is not None else default_preset
    if base is not None:
        choice("--preset", base, tuple(task.presets))
    return base, merge({**task.presets.get(base, {}), "preset": base}, values)


def settings_from(task, preset=None, config=None, sets=(), flags=None, default_preset=None):
    """A validated config of ``task`` from its defaults < preset < file < ``--set`` < flags (:func:`combine`)."""
    base, values = combine(task, preset, config, sets, flags, default_preset)
    return task.config_from_dict(values)


# ---------------------------------------------------------------- presets, shipped as YAML


def preset_files(system):
    """``{name: path}`` of the preset files shipped in ``nnlab/presets/<system>/``."""
    folder = resources.files("nnlab.presets").joinpath(system)
    return {Path(entry.name).stem: entry for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def load_presets(system):
    """``{name: settings dict}`` of every preset of ``system`` (without the ``task`` key each file states)."""
    presets = {}
    for name, entry in preset_files(system).items():
        values = load_yaml(entry.read_text())
        if not isinstance(values, dict):
            raise NnlabError(f"preset file {entry} must hold a mapping of settings.")
        values.pop("task", None)
        presets[name] = values
    return presets
