"""One error body for every answer that is not a 2xx, from both systems and from FastAPI itself.

    {"detail": {"message": "shoe.txt is not an image we read (...)", "errors": [{"index": 0, "file": "shoe.txt", ...}]}}
    {"detail": {"message": "body.title: Field required", "errors": [{"type": "missing", "loc": ["body", "title"], ...}]}}

``message`` is one line a person reads (it names the value and the fix); ``errors`` lists
each thing wrong, for programs: a bad upload (``FileProblem``: index, file, kind, reason,
status) or a bad field (``FieldProblem``: pydantic's ``type``, ``loc``, ``msg``, ``input``).
It is empty when the request as a whole is refused (no model loaded, a body too large, an
unknown path). ``install`` makes FastAPI's own answers take this shape too: its 422 for a
request that fails validation (by default a bare list) and every ``HTTPException`` whose
``detail`` is a plain string (404, 405, the 503s). ``responses`` documents these answers in
the OpenAPI schema with ``ErrorBody``, so a client and schemathesis know every body.
"""

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_LISTED = 3  # field errors named in the message; all of them are in ``errors``


class FileProblem(BaseModel):
    """An uploaded file that cannot be used."""

    index: int = Field(ge=0, description="0-based position of the file in the request")
    file: str = Field(description="the client's file name (cut at 200 characters)")
    kind: str = Field(description="empty, corrupt, too_large, too_many_pixels or not_an_image")
    reason: str = Field(description="what is wrong and what to send instead")
    status: int = Field(description="the HTTP status this problem alone would get")
    message: str = Field(description="file name and reason, one sentence")


class FieldProblem(BaseModel):
    """A field of the request that fails validation, as pydantic reports it."""

    model_config = ConfigDict(extra="allow")  # pydantic may add keys (ctx, url)

    type: str = Field(description="pydantic's error type: missing, string_type, extra_forbidden, ...")
    loc: list[str | int] = Field(description='where: ["body", 3, "title"] is the fourth ticket\'s title')
    msg: str
    input: Any = None


class ErrorDetail(BaseModel):
    message: str = Field(description="one line: what is wrong, naming the value, and the fix")
    errors: list[FileProblem | FieldProblem] = Field(description="each bad file or field; empty when the "
                                                                 "request as a whole is refused")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of nnlab serve."""

    detail: ErrorDetail


def error(message, errors=()):
    """The ``detail`` of an HTTPException in the shape above."""
    return {"message": message, "errors": list(errors)}


def responses(described):
    """``{status: description}`` -> FastAPI's ``responses=``: each status documented with ``ErrorBody``."""
    return {status: {"model": ErrorBody, "description": text} for status, text in described.items()}


async def http_error(request, exc):
    """An HTTPException (ours, FastAPI's or Starlette's: 404, 405, ...) with its detail in the one shape."""
    detail = exc.detail
    if not (isinstance(detail, dict) and "message" in detail and "errors" in detail):
        detail = error(str(detail))
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _where(problem):
    return ".".join(str(part) for part in problem.get("loc", ())) or "request"


async def validation_error(request, exc):
    """FastAPI's 422 (a request that fails its declared types) with a message naming the first fields."""
    # bytes: a body that was not JSON; "replace" keeps a non-UTF-8 one from failing here (a 500)
    problems = jsonable_encoder(exc.errors(), custom_encoder={bytes: lambda data: data.decode("utf-8", "replace")})
    named = [f"{_where(p)}: {p.get('msg', 'invalid')}" for p in problems[:MAX_LISTED]]
    more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
    message = "; ".join(named) + more if named else "the request is not valid"
    return JSONResponse({"detail": error(message, problems)}, status_code=422)


def install(app):
    """Make every error answer of ``app`` an ``ErrorBody``."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
