"""What the server serves and its limits, in one object that ``create_app`` takes (tests pass their own).

    >>> from nnlab.serving.settings import Settings
    >>> Settings(fashion_model="runs/seeds-final", max_files=16).validate().max_files
    16

Every limit has a default and an ``nnlab serve`` flag; its bounds are declared on the field
(pydantic ``Field``), and ``validate`` refuses a value out of range with the flag's name, so a
typo fails at start-up, not on the first request. A plain frozen dataclass (``dataclasses.replace``
and ``asdict`` work), checked by pydantic when ``validate`` is called.
"""

import dataclasses
import functools
from typing import Annotated

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

MB = 1_000_000


def _count(minimum):
    """An integer >= ``minimum`` (never a bool nor a float)."""
    return Annotated[int, Field(ge=minimum, strict=True)]


@with_config(ConfigDict(extra="forbid"))
@dataclasses.dataclass(frozen=True)
class Settings:
    """Server settings. A model left None is not served: its endpoints answer 503 and say how to start it."""

    tickets_model: str | None = None  # a ticket run folder (its served.keras) or a served .keras file
    max_tickets: _count(1) = 1000  # tickets per POST /v1/tickets/triage
    batch_size: _count(1) = 256  # tickets per model call

    fashion_model: str | None = None  # a fashion run folder (its calibrated.keras when current) or a model file
    max_file_bytes: _count(1) = 10 * MB  # bytes per uploaded image (10 MB)
    max_files: _count(1) = 64  # images per POST /v1/predict or /v1/bag
    max_pixels: _count(1) = 40_000_000  # width x height per image, checked from the header before decoding
    max_batch: _count(1) = 64  # images per model call when concurrent requests are batched together
    # how long the batcher waits for more requests once it has one, in ms
    max_wait_ms: Annotated[float, Field(ge=0, le=1000, json_schema_extra={
        "x-allowed": "in 0..1000 (milliseconds)"})] = 1.0
    decode_processes: _count(0) = 0  # worker processes that decode photos (0: the server's own thread pool)

    def validate(self):
        """This object, or an NnlabError naming the ``nnlab serve`` flag that is out of range."""
        from nnlab.core.config_errors import explain

        try:
            _adapter().validate_python(dataclasses.asdict(self))
        except ValidationError as error:
            raise explain(error, Settings, name_keys=False) from None
        return self


Settings.FLAGS = {field.name: f"--{field.name.replace('_', '-')}" for field in dataclasses.fields(Settings)}


@functools.cache
def _adapter():
    return TypeAdapter(Settings)
