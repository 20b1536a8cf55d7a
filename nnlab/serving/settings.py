"""What the server serves and its limits, in one object that ``create_app`` takes (tests pass their own).

    >>> from nnlab.serving.settings import Settings
    >>> Settings(fashion_model="runs/seeds-final", max_files=16).validate()

Every limit has a default and an ``nnlab serve`` flag; ``validate`` refuses a value out of
range with the flag's name, so a typo fails at start-up, not on the first request.
"""

import dataclasses

from nnlab.core.errors import NnlabError

MB = 1_000_000


@dataclasses.dataclass(frozen=True)
class Settings:
    """Server settings. A model left None is not served: its endpoints answer 503 and say how to start it."""

    tickets_model: str | None = None  # a ticket run folder (its served.keras) or a served .keras file
    max_tickets: int = 1000  # tickets per POST /v1/tickets/triage
    batch_size: int = 256  # tickets per model call

    fashion_model: str | None = None  # a fashion run folder (its calibrated.keras when current) or a model file
    max_file_bytes: int = 10 * MB  # bytes per uploaded image (10 MB)
    max_files: int = 64  # images per POST /v1/predict or /v1/bag
    max_pixels: int = 40_000_000  # width x height per image, checked from the header before decoding
    max_batch: int = 64  # images per model call when concurrent requests are batched together
    max_wait_ms: float = 1.0  # how long the batcher waits for more requests once it has one, in ms
    decode_processes: int = 0  # worker processes that decode photos (0: the server's own thread pool)

    def validate(self):
        """This object, or an NnlabError naming the ``nnlab serve`` flag that is out of range."""
        for field, lowest in (("max_tickets", 1), ("batch_size", 1), ("max_file_bytes", 1), ("max_files", 1),
                              ("max_pixels", 1), ("max_batch", 1), ("decode_processes", 0)):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise NnlabError(f"--{field.replace('_', '-')} must be an integer >= {lowest}, got {value!r}.")
        if not 0 <= self.max_wait_ms <= 1000:
            raise NnlabError(f"--max-wait-ms must be in 0..1000 (milliseconds), got {self.max_wait_ms!r}.")
        return self
