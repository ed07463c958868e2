"""Every error the HTTP edge answers: one envelope, one status table, one mapping from core errors.

Every error is ``{"error": {"code": ..., "message": ...}}`` with a 4xx for anything the client sent;
a server-side problem (catalog, index, settings) is a 500 whose details stay in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    InputError,
    InputTooLarge,
    MatcherError,
    UnknownCatalog,
    UnknownRole,
    UnsupportedFileType,
    error_body,
)
from .logs import log, log_safe


@dataclass(frozen=True)
class Status:
    """One HTTP status the service answers with."""

    code: str  # the error code when the framework itself answers with this status (an unknown path: 404)
    described: str  # what the OpenAPI document says it means
    raised_for: tuple[type[MatcherError], ...] = ()  # the core errors answered with it


STATUSES: dict[int, Status] = {
    400: Status("bad_request", "the request is not valid HTTP/1.1"),
    401: Status("unauthorized", "wrong or no key"),
    403: Status("reload_disabled", "reload is disabled (no MATCHER_ADMIN_KEY)"),
    404: Status("not_found", "unknown catalog (?catalog=) or role; the message lists the valid ones",
                (UnknownRole, UnknownCatalog)),
    405: Status("method_not_allowed", "the path does not take this method"),
    408: Status("timeout", "the request did not arrive in time"),
    413: Status("too_large", "text or upload over the configured limit", (InputTooLarge,)),
    415: Status("unsupported_type", "unsupported or mislabelled file type, or wrong Content-Type",
                (UnsupportedFileType,)),
    422: Status("invalid_request", "empty, undecodable or unmatchable input; malformed JSON; wrong field types; "
                "top_k out of range", (InputError,)),
    429: Status("too_many_attempts", "too many wrong keys from this address"),
    503: Status("not_ready", "the model and index are still loading"),
}
_STATUS_OF_ERROR = {cls: status for status, s in STATUSES.items() for cls in s.raised_for}


class ApiError(Exception):
    """An error raised by the HTTP layer itself (not by the core), with its status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI re-raises HTTP errors)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class RequestTimeout(StarletteHTTPException):
    """Raised from ``receive`` when a body does not arrive in time."""

    def __init__(self, message: str) -> None:
        # The rest of the body never came: the connection cannot carry another request.
        super().__init__(408, message, headers={"Connection": "close"})


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where: e.g. [\"body\", \"top_k\"] or [\"query\", \"limit\"]")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. missing, int_type, greater_than_equal")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. empty_input, too_large")
    message: str = Field(description="what was wrong and what is accepted")
    details: list[FieldProblem] | None = Field(None, description="validation errors only: one entry per problem "
                                               "(the values sent are never echoed)")


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an endpoint that can answer these error statuses."""
    return {s: {"model": ErrorBody, "description": STATUSES[s].described} for s in statuses}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The envelope as a response."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def status_for(exc: MatcherError) -> int:
    """The HTTP status of a core error: the client's fault is a 4xx, anything else a 500."""
    for cls in type(exc).__mro__:  # the most specific class first: InputTooLarge before InputError
        if cls in _STATUS_OF_ERROR:
            return _STATUS_OF_ERROR[cls]
    return 500


def megabytes(n: int) -> str:
    """A size for a message: ``5 MB``, ``64 KB``, ``300 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def validation_message(errors: list[dict]) -> tuple[str, str]:
    """(code, message) for pydantic/FastAPI validation errors; never echoes the input values."""
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (detail.get("ctx") or {}).get("error") or detail.get("msg", "")
        return "malformed_json", (f"request body is not valid JSON ({reason}); send "
                                  '{"text": "<résumé text>", "top_k": 4} as application/json')
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "missing":
            msg = "is required"
        elif e.get("type") == "extra_forbidden":
            msg = "is not a known field (send text and optionally top_k)"
        parts.append(f"{loc}: {msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid_request", "; ".join(parts) + more


async def _matcher_error(request: Request, exc: MatcherError) -> JSONResponse:
    status = status_for(exc)
    if status == 500:  # a server-side problem (catalog, index, settings): details stay in the log
        log.error("%s (%s) on %s %s", type(exc).__name__, exc.code, log_safe(request.method),
                  log_safe(request.url.path))
        return error_response(500, "internal_error", "the server could not process this request; "
                              "the error has been logged")
    return error_response(status, exc.code, exc.message)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    code, message = validation_message(errors)
    body = error_body(code, message)
    # The values sent are left out: they may quote a résumé.
    body["error"]["details"] = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                                 "type": str(e.get("type", ""))} for e in errors[:20]]
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = STATUSES.get(exc.status_code)
    code = status.code if status else "http_error"
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # belt and braces; the guard catches first
    return error_response(500, "internal_error", "the server failed to process this request")


def install_error_handlers(app: FastAPI) -> None:
    """Turn every exception into the one envelope: core errors, the edge's own, validation, HTTP, the rest."""
    app.add_exception_handler(MatcherError, _matcher_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
