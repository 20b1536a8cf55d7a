"""Ticket triage over HTTP: ``POST /v1/tickets/triage`` and the try-one-ticket page ``GET /tickets``.

    curl -s localhost:8000/v1/tickets/triage -H 'content-type: application/json' \\
         -d '{"title": "Charged twice", "body": "Please refund", "tags": ["billing"]}'
    {"priority": 0.41, "department": "billing", "department_probabilities": {"billing": 0.93, ...}}

The body is one ticket or a list of up to ``Settings.max_tickets`` (1,000); the answer is
one result or a list in the same order, with the fields of ``nnlab tickets predict``
(and ``id`` when the ticket had one). Title and body may be HTML (reduced to their text,
as ticket files are); tags are a list of strings or one string ``"a, b"`` / ``"a; b"``.
A ticket that is not valid -- a missing field, a wrong type, an unknown field, empty
title and body, too many tickets -- gets 422 with FastAPI's usual ``detail`` list, whose
``loc`` names the field (``["body", 3, "title"]``).
"""

import os
import threading
from typing import Any

# TensorFlow (the ticket model's string ops) prints C++ start-up notes unless told otherwise before
# it is first imported; this module is imported by the app factory before any model is loaded,
# so this covers `nnlab serve` and `uvicorn --factory nnlab.serving.app:app_from_environment`.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError, field_validator

from nnlab.serving.pages import TICKETS_PAGE

router = APIRouter(tags=["tickets"])

EXAMPLE = {"title": "Charged twice for order #4821", "body": "My card was charged twice. Please refund asap.",
           "tags": ["billing", "urgent"]}


class Ticket(BaseModel):
    """One support ticket as the served model reads it."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr = Field(max_length=2_000)  # plain text or HTML
    body: StrictStr = Field(max_length=50_000)  # plain text or HTML
    tags: list[StrictStr] = Field(default_factory=list, max_length=50)  # also accepted: one string "a, b" or "a; b"
    id: StrictStr | StrictInt | None = None  # echoed back, to match results to tickets

    @field_validator("title", "body")
    @classmethod
    def _text(cls, text):
        from nnlab.tickets.text import clean_text  # here: a fashion-only server imports no ticket code

        return clean_text(text)  # as ticket files are read: HTML to text, white space joined

    @field_validator("body")
    @classmethod
    def _title_or_body(cls, body, info):
        if "title" in info.data and not info.data["title"] and not body:
            raise ValueError("title and body are both empty (after removing HTML); give at least one of them")
        return body

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_text(cls, tags):
        from nnlab.tickets.text import split_tags

        return split_tags(tags) if isinstance(tags, str) else tags  # as a ticket file's Tags cell

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags):
        from nnlab.tickets.text import split_tags

        return split_tags(tags)  # trimmed, HTML removed, empty ones dropped


_TICKETS = TypeAdapter(list[Ticket])


def parse_payload(payload, max_tickets):
    """``(tickets, many)`` from the request's JSON; raises RequestValidationError (422) naming the field."""
    many = isinstance(payload, list)
    if many and not payload:
        raise RequestValidationError([{"type": "too_short", "loc": ("body",), "input": payload,
                                       "msg": "the list of tickets is empty; send at least one ticket"}])
    if many and len(payload) > max_tickets:
        raise RequestValidationError([{"type": "too_long", "loc": ("body",), "input": f"{len(payload)} tickets",
                                       "msg": f"at most {max_tickets} tickets per request, got {len(payload)}; "
                                              "split them into several requests"}])
    try:
        tickets = _TICKETS.validate_python(payload) if many else [Ticket.model_validate(payload)]
    except ValidationError as error:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)])
    return tickets, many


class TicketService:
    """The loaded served model; one prediction at a time (TensorFlow's and JAX's eager calls share it)."""

    def __init__(self, path, batch_size=256):
        from nnlab.tickets.triage import load_served

        self.path = str(path)
        self.model = load_served(path)
        self.batch_size = batch_size
        self.lock = threading.Lock()

    def triage(self, tickets):
        from nnlab.tickets.triage import triage

        with self.lock:
            rows = triage(self.model, [t.model_dump(exclude={"id"}) for t in tickets], self.batch_size)
        return [({"id": t.id} if t.id is not None else {}) | row for t, row in zip(tickets, rows)]

    def info(self):
        return {"model": self.path, "outputs": self.model.outputs_order, "labels": self.model.labels,
                "priority_levels": list(self.model.priority_levels),
                "vocabulary_size": len(self.model.vocabulary) + 1,
                "tag_vocabulary_size": len(self.model.tag_vocabulary) + 1}


def install(app, settings):
    """Load the ticket model named by ``settings`` (if any) and add this router to ``app``."""
    app.state.tickets = TicketService(settings.tickets_model, settings.batch_size) if settings.tickets_model else None
    app.include_router(router)


def ticket_service(request: Request):
    service = request.app.state.tickets
    if service is None:
        raise HTTPException(status_code=503, detail="no ticket model is loaded; start the server with "
                                                    "`nnlab serve --tickets RUN` (a run of `nnlab tickets train`).")
    return service


def settings(request: Request):
    return request.app.state.settings


@router.post("/v1/tickets/triage")
def triage(payload: Any = Body(..., examples=[EXAMPLE, [EXAMPLE]]),
           service: TicketService = Depends(ticket_service), config=Depends(settings)):
    """Priority (0..1), department and its probabilities (and any extra head) for one ticket or a list."""
    tickets, many = parse_payload(payload, config.max_tickets)
    rows = service.triage(tickets)
    return rows if many else rows[0]


@router.get("/v1/tickets/model")
def model_info(service: TicketService = Depends(ticket_service)):
    """Which model is served: its file, outputs, labels and vocabulary sizes."""
    return service.info()


@router.get("/tickets", response_class=HTMLResponse, include_in_schema=False)
def page():
    """A form to try one ticket (works offline: no external scripts or styles)."""
    return TICKETS_PAGE
