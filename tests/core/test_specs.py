"""nnlab.core.specs: pydantic's errors as one line naming the dotted key, for plain, nested and tagged specs."""

from typing import Annotated, Literal

import pydantic
import pytest
from pydantic import BaseModel, ConfigDict, Field

from nnlab.core.specs import Rate, Units, spec_error


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shift: int = Field(0, ge=0)


class Plain(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["plain"] = "plain"
    hidden: list[Units] = [4]
    dropout: Rate = 0.0
    inner: Inner = Inner()


class Other(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["other"] = "other"


Union = pydantic.TypeAdapter(Annotated[Plain | Other, Field(discriminator="kind")])
KINDS = {"plain": Plain, "other": Other}


@pytest.mark.parametrize("value, expected", [
    ({"hidden": [4, 0]}, "model.hidden.1 must be greater than or equal to 1; got 0."),
    ({"dropout": 1}, "model.dropout must be less than 1; got 1."),
    ({"hiden": [3]}, "model.hiden is not a setting of this model; did you mean 'model.hidden'?"),
    ({"inner": {"shfit": 1}}, "model.inner.shfit is not a setting of this model; did you mean 'model.inner.shift'?"),
    ({"zzz": 1}, "model.zzz is not a setting of this model; the settings are kind, hidden, dropout, inner."),
])
def test_one_line_naming_the_key(value, expected):
    with pytest.raises(pydantic.ValidationError) as plain:
        Plain.model_validate(value)
    assert spec_error(plain.value, Plain) == expected
    with pytest.raises(pydantic.ValidationError) as tagged:
        Union.validate_python({"kind": "plain", **value})
    assert spec_error(tagged.value, KINDS) == expected  # the union's branch is not part of the key


def test_an_unknown_kind_lists_the_kinds():
    for value, got in (({"kind": "mlp"}, "'mlp'"), ({}, "None")):
        with pytest.raises(pydantic.ValidationError) as error:
            Union.validate_python(value)
        assert spec_error(error.value, KINDS, key="net") == f"net.kind must be one of plain, other; got {got}."
