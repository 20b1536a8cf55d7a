"""Messages users can act on, for settings: one line naming the key (and its flag), the value, what is allowed.

:func:`explain` turns a pydantic ValidationError into one :class:`~nnlab.core.errors.NnlabError`,
reading what is allowed from the settings' JSON Schema (so the bounds and choices are written
once, on the fields); :func:`choice` and :func:`at_least` check a single value the same way.

    >>> from nnlab.fashion.config import FashionConfig
    >>> closest_key(FashionConfig, "learning_rate")
    'optimizer.learning_rate'
"""

import difflib
import functools

from pydantic import TypeAdapter

from nnlab.core.errors import NnlabError

def choice(flag, value, choices):
    """Refuse ``value`` unless it is one of ``choices``; suggests the closest one."""
    if value not in choices:
        listed = ", ".join(map(str, choices))
        raise NnlabError(f"{flag} must be one of {listed}; got {value!r}.{did_you_mean(value, choices)}")


def did_you_mean(value, choices):
    """`` Did you mean 'x'?`` for the choice closest to ``value``, or nothing."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def at_least(flag, value, minimum):
    """Refuse anything but an integer >= minimum (bools too), naming the flag and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NnlabError(f"{flag} must be an integer >= {minimum}, got {value!r}.")


@functools.cache
def _schema(cls):
    return cls.model_json_schema() if hasattr(cls, "model_json_schema") else TypeAdapter(cls).json_schema()


def _field_schema(cls, loc):
    """The JSON schema of the setting at ``loc`` (a path of keys) in ``cls``'s schema; None where there is none."""
    root = _schema(cls)
    node = root
    for key in loc:
        node = _deref(root, node)
        if "anyOf" in node:  # X or null: the X
            node = next((_deref(root, n) for n in node["anyOf"] if n.get("type") != "null"), node)
        if key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    node = _deref(root, node)
    if "anyOf" in node:  # the section a "X or null" names, spelt out
        node = {**node, "anyOf": [_deref(root, n) for n in node["anyOf"]]}
    return node


def _deref(root, node):
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _bounds(node):
    low = (f"[{node['minimum']}" if "minimum" in node else f"({node['exclusiveMinimum']}"
           if "exclusiveMinimum" in node else None)
    high = (f"{node['maximum']}]" if "maximum" in node else f"{node['exclusiveMaximum']})"
            if "exclusiveMaximum" in node else None)
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1:]}"
    if high:
        return f"{'<=' if high[-1] == ']' else '<'} {high[:-1]}"
    return ""


def allowed(node, typed=True):
    """What a setting's schema allows, in words: ``an integer >= 1``, ``in [0, 1)``, ``one of a, b`` ...

    ``typed=False`` leaves out the type where only the bounds were broken (``--dropout must be in [0, 1)``).
    """
    if node is None:
        return "a valid value"
    if "x-allowed" in node:
        return node["x-allowed"]
    if "anyOf" in node:
        kinds = [n for n in node["anyOf"] if n.get("type") != "null"]
        text = " or ".join(allowed(n, typed) for n in kinds)
        # "or null" only where the type was wrong: a number out of bounds was not meant to be null
        return f"{text} or null" if typed and len(kinds) < len(node["anyOf"]) else text
    if "enum" in node:
        return "one of " + ", ".join(map(str, node["enum"]))
    if "const" in node:
        return repr(node["const"])
    kind, bounds = node.get("type"), _bounds(node)
    if kind == "integer":
        return f"an integer {bounds}".strip()
    if kind == "number":
        return bounds if bounds and not typed else f"a number {bounds}".strip()
    if kind == "boolean":
        return "true or false"
    if kind == "string":
        return "text"
    if kind == "object":
        if "properties" in node or "title" in node and "additionalProperties" not in node:
            return "a mapping of settings"
        return "a mapping of names to numbers"
    if kind == "array":
        return "a list"
    return "a valid value"


def dotted_keys(cls, sections=False):
    """Every setting's dotted name in ``cls``: ``epochs``, ``optimizer.learning_rate``, ``reduce_lr.factor`` ...;
    with ``sections``, the sections' own names too (``optimizer``)."""
    root = _schema(cls)

    def walk(node, prefix):
        node = _deref(root, node)
        if "anyOf" in node:
            named = [_deref(root, n) for n in node["anyOf"] if "properties" in _deref(root, n)]
            node = named[0] if named else node
        for key, child in node.get("properties", {}).items():
            inner = _deref(root, child)
            if "properties" in inner or any("properties" in _deref(root, n) for n in inner.get("anyOf", ())):
                if sections:
                    yield f"{prefix}{key}"
                yield from walk(inner, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    return list(walk(root, ""))


def closest_key(cls, key):
    """The valid dotted key a misspelt or misplaced ``key`` most likely meant, or None."""
    keys = [name for name in dotted_keys(cls, sections=True) if not key.startswith(name + ".")]  # not its own section
    flags = {flag.lstrip("-").replace("-", "_"): name for name, flag in getattr(cls, "FLAGS", {}).items()}
    leaf = key.rsplit(".", 1)[-1]
    if leaf in flags and flags[leaf] != key:  # a flag's name (lr, patience) for its setting
        return flags[leaf]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.75)
    if close:
        return close[0]
    leaves = {name.rsplit(".", 1)[-1]: name for name in reversed(keys)}  # a setting put in the wrong section
    close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.75)
    return leaves[close[0]] if close else None


def explain(error, cls, name_keys=True):
    """One NnlabError for a pydantic ValidationError of ``cls``: the dotted key (and its flag), the value
    received, what is allowed, and for a misspelt key the closest valid one. ``name_keys=False``: the flag
    alone (settings that only flags set, as the server's)."""
    problems = error.errors(include_url=False)
    first = problems[0]
    more = f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''} after this one.)" \
        if len(problems) > 1 else ""
    if isinstance((first.get("ctx") or {}).get("error"), NnlabError):  # a rule of a model validator: its message
        return NnlabError(str(first["ctx"]["error"]) + more)
    loc = [str(part) for part in first["loc"] if not str(part).startswith(("function-", "nullable["))]
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        close = closest_key(cls, key)
        if close:
            hint = f" Did you mean {close!r}?"
        else:
            section = _field_schema(cls, loc[:-1]) or {}
            hint = f" Known keys: {', '.join(section.get('properties', {}))}."
        return NnlabError(f"Unknown config key {key!r}.{hint}{more}")
    value = first["input"]
    if not loc:
        return NnlabError(f"config must be a mapping of settings, got {value!r}.{more}")
    node = _field_schema(cls, loc)
    typed = not first["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
    label = getattr(cls, "FLAGS", {}).get(key)
    named = f" (setting {key})" if label and name_keys else ""
    text = allowed(node, typed)
    if text.startswith("one of ") and "x-allowed" not in (node or {}):
        hint = did_you_mean(value, (node or {}).get("enum", ()))
        return NnlabError(f"{label or key} must be {text}; got {value!r}.{hint}{named}{more}")
    return NnlabError(f"{label or key} must be {text}, got {value!r}{named}.{more}")
