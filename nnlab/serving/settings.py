"""What the server serves and its limits, in one object that ``create_app`` takes (tests pass their own)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Settings:
    """Server settings. A model left None is not served: its endpoints answer 503 and say how to start it."""

    tickets_model: str | None = None  # a ticket run folder (its served.keras) or a served .keras file
    max_tickets: int = 1000  # tickets per POST /v1/tickets/triage
    batch_size: int = 256  # tickets per model call
