"""Ticket triage over HTTP: ``POST /v1/tickets/triage`` and the try-one-ticket page ``GET /tickets``.

    curl -s localhost:8000/v1/tickets/triage -H 'content-type: application/json' \\
         -d '{"title": "Charged twice", "body": "Please refund", "tags": ["billing"]}'
    {"priority": 0.41, "department": "billing", "department_probabilities": {"billing": 0.93, ...}}

The body is one ticket or a list of up to ``Settings.max_tickets`` (1,000); the answer is
one result or a list in the same order, with the fields of ``nnlab tickets predict``
(and ``id`` when the ticket had one). A ticket that is not valid -- a missing field, a
wrong type, an unknown field, empty title and body, too many tickets -- gets 422 with the
server's one error body (``nnlab.serving.errors``): ``detail.message`` names the fields,
``detail.errors`` lists them as pydantic does, ``loc`` naming each (``["body", 3, "title"]``).
Title and body may be HTML: they are reduced to their text as ticket files are
(``nnlab.tickets.text``); tags may also come as one string ``"a, b"`` or ``"a; b"``.

The OpenAPI schema says exactly what is accepted (``Ticket``'s JSON schema, the list's
length from the settings: ``document``) and what comes back (``TriageResult``,
``TicketModelInfo``), so a body the schema allows is triaged, never refused.
"""

import os
import threading
from typing import Annotated, Any

# TensorFlow (the ticket model's string ops) prints C++ start-up notes unless told otherwise before
# it is first imported; this module is imported by the app factory before any model is loaded,
# so this covers `nnlab serve` and `uvicorn --factory nnlab.serving.app:app_from_environment`.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import (BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError, WithJsonSchema,
                      field_validator, model_validator)

from nnlab.serving.errors import error, responses
from nnlab.serving.pages import TICKETS_PAGE

router = APIRouter(tags=["tickets"])

EXAMPLE = {"title": "Charged twice for order #4821", "body": "My card was charged twice. Please refund asap.",
           "tags": ["billing", "urgent"]}


# Tags: a list, or one string split as a ticket file's Tags cell (100 characters hold at most 50 tags: "a,a,...").
_TAG_TEXT_LENGTH = 100
_TAGS = {"anyOf": [{"type": "array", "items": {"type": "string"}, "maxItems": 50},
                   {"type": "string", "maxLength": _TAG_TEXT_LENGTH, "description": 'tags separated by "," or ";"'}]}

# A title or a body with a character other than whitespace (what ``_title_or_body`` checks), said in JSON schema.
_NOT_BLANK = {"type": "string", "pattern": r"\S"}


class Ticket(BaseModel):
    """One support ticket as the served model reads it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"properties": {"title": _NOT_BLANK}}, {"properties": {"body": _NOT_BLANK}}]})

    title: StrictStr = Field(max_length=2_000, description="plain text or HTML")
    body: StrictStr = Field(max_length=50_000, description="plain text or HTML")
    tags: Annotated[list[StrictStr], WithJsonSchema(_TAGS)] = Field(default_factory=list, max_length=50)
    id: StrictStr | StrictInt | None = None  # echoed back, to match results to tickets

    @field_validator("body")
    @classmethod
    def _title_or_body(cls, body, info):
        if "title" in info.data and not info.data["title"].strip() and not body.strip():
            raise ValueError("title and body are both empty; give at least one of them")
        return body

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_text(cls, tags):
        from nnlab.tickets.text import split_tags  # here: a fashion-only server imports no ticket code

        if isinstance(tags, str) and len(tags) > _TAG_TEXT_LENGTH:
            raise ValueError(f"tags as one string may have at most {_TAG_TEXT_LENGTH} characters, got {len(tags)}; "
                             "send a list of tags instead")
        return split_tags(tags) if isinstance(tags, str) else tags  # as a ticket file's Tags cell

    @model_validator(mode="after")
    def _as_ticket_files_are_read(self):
        """HTML to text, white space joined, tags trimmed; after the checks above, so the schema's promise holds."""
        from nnlab.tickets.text import clean_text, split_tags

        self.title, self.body, self.tags = clean_text(self.title), clean_text(self.body), split_tags(self.tags)
        return self


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


class TriageResult(BaseModel):
    """One ticket's triage: the fields of ``nnlab tickets predict`` (a head added by add-head adds two more)."""

    model_config = ConfigDict(extra="allow")  # <head> and <head>_probabilities of an add-head model

    id: str | int | None = Field(None, description="the ticket's id, when it had one")
    priority: float = Field(ge=0, le=1)
    priority_level: str | None = Field(None, description="the nearest of the run's named priority levels "
                                                         "(a run trained with --priority-levels)")
    department: str
    department_probabilities: dict[str, float]


class TicketModelInfo(BaseModel):
    model: str = Field(description="the served model's file or run folder")
    outputs: list[str]
    labels: dict[str, Any]
    priority_levels: list[str] = Field(default_factory=list, description="named priority levels, lowest first")
    vocabulary_size: int
    tag_vocabulary_size: int


_NO_MODEL = {503: "no ticket model loaded: start the server with `nnlab serve --tickets RUN`"}
# The body: one Ticket or a non-empty list of them (maxItems: document() sets max_tickets). The route reads it as
# Any and validates it itself, so that a bad ticket's error names its place in the list.
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [
    {"$ref": "#/components/schemas/Ticket"},
    {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}, "minItems": 1}]}}}}}


def document(openapi, settings):
    """Add ``Ticket`` to the app's OpenAPI schema and write the settings' ``max_tickets`` into it."""
    openapi.setdefault("components", {}).setdefault("schemas", {})["Ticket"] = Ticket.model_json_schema()
    body = openapi["paths"]["/v1/tickets/triage"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["anyOf"][1]["maxItems"] = settings.max_tickets


def install(app, settings):
    """Load the ticket model named by ``settings`` (if any) and add this router to ``app``."""
    app.state.tickets = TicketService(settings.tickets_model, settings.batch_size) if settings.tickets_model else None
    app.include_router(router)


def ticket_service(request: Request):
    service = request.app.state.tickets
    if service is None:
        raise HTTPException(status_code=503, detail=error("no ticket model is loaded; start the server with "
                                                          "`nnlab serve --tickets RUN` (a run of `nnlab tickets "
                                                          "train`)."))
    return service


def settings(request: Request):
    return request.app.state.settings


@router.post("/v1/tickets/triage", openapi_extra=_BODY, response_model=TriageResult | list[TriageResult],
             response_model_exclude_unset=True, responses=responses({
                 400: "a body that is not UTF-8 text",
                 422: "a ticket that is not valid (each field named in detail.errors), too many, or a body that is "
                      "not JSON", **_NO_MODEL}))
def triage(payload: Any = Body(..., examples=[EXAMPLE, [EXAMPLE]]),
           service: TicketService = Depends(ticket_service), config=Depends(settings)):
    """Priority (0..1), department and its probabilities (and any extra head) for one ticket or a list."""
    tickets, many = parse_payload(payload, config.max_tickets)
    rows = service.triage(tickets)
    return rows if many else rows[0]


@router.get("/v1/tickets/model", response_model=TicketModelInfo, responses=responses(_NO_MODEL))
def model_info(service: TicketService = Depends(ticket_service)):
    """Which model is served: its file, outputs, labels and vocabulary sizes."""
    return service.info()


@router.get("/tickets", response_class=HTMLResponse, include_in_schema=False)
def page():
    """A form to try one ticket (works offline: no external scripts or styles)."""
    return TICKETS_PAGE
