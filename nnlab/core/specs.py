"""What the two systems' model specs share: field types, activations, and one-line validation errors.

A model spec (``nnlab.fashion.models.DenseSpec``, ``nnlab.tickets.models.TriageSpec``, ...)
is a pydantic model; these are the pieces both systems declare theirs with, and
``spec_error``, which turns pydantic's error into nnlab's one line naming the dotted key:

    >>> import pydantic
    >>> class Spec(pydantic.BaseModel):
    ...     model_config = pydantic.ConfigDict(extra="forbid")
    ...     hidden: list[Units] = [64]
    >>> try:
    ...     Spec(hiden=[3])
    ... except pydantic.ValidationError as error:
    ...     print(spec_error(error, Spec))
    model.hiden is not a setting of this model; did you mean 'model.hidden'?
"""

import difflib
from typing import Annotated

from pydantic import BaseModel, Field

# The hidden layers' activations: the seeds' sigmoid, tanh and relu, and Keras' other common ones.
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "softplus", "linear")

Units = Annotated[int, Field(ge=1, le=65_536)]
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]
# A Keras model or layer name: letters, digits and underscores ("/" breaks Keras' weight paths).
KerasName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=100)]


def _nested(spec_class, loc):
    """The spec class that holds the last key of ``loc`` (descending into nested specs such as ``augment``)."""
    for part in loc[:-1]:
        field = spec_class.model_fields.get(part) if isinstance(part, str) else None
        inner = field and field.annotation
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return None if field is None else spec_class
        spec_class = inner
    return spec_class


def spec_error(error, spec_classes, key="model"):
    """pydantic's first error as one line naming the dotted key: ``model.hidden.0 must be ...; got 0.``

    ``spec_classes``: the spec class, or ``{kind: class}`` of a union told apart by ``kind``
    (whose branch, first in pydantic's location, is dropped from the key).
    """
    kinds = spec_classes if isinstance(spec_classes, dict) else None
    first = error.errors(include_url=False)[0]
    loc, spec_class = list(first["loc"]), spec_classes
    if kinds is not None:
        spec_class = kinds.get(loc[0]) if loc else None
        loc = loc[1:] if spec_class else loc
    where = ".".join([key, *(str(part) for part in loc)])
    message = first["msg"]
    for prefix in ("Input should be ", "Value error, "):
        message = message.removeprefix(prefix)
    if first["type"] == "extra_forbidden":
        holder = _nested(spec_class, loc) if spec_class else None
        fields = list(holder.model_fields) if holder else []
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"did you mean {'.'.join([key, *map(str, loc[:-1]), close[0]])!r}?" if close else \
            f"the settings are {', '.join(fields)}."
        return f"{where} is not a setting of this model; {hint}"
    if first["type"] in ("union_tag_not_found", "union_tag_invalid"):
        got = first["input"].get("kind") if isinstance(first["input"], dict) else first["input"]
        return f"{where}.kind must be one of {', '.join(kinds or ())}; got {got!r}."
    if first["type"] == "value_error":
        return f"{where}: {message}."
    return f"{where} must be {message}; got {first['input']!r}."


