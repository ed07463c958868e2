"""The HTTP edge: a thin FastAPI layer over :class:`~matcher.matcher.Matcher`, plus the web page.

- The model and index load once, in a background thread started by the lifespan: ``/healthz``
  answers at once, ``/readyz`` (and every endpoint that needs the model) says 503 until loading is done.
- Encoding is CPU-bound, so matching runs in a worker thread (the event loop stays free) behind a
  one-slot limiter: one model call at a time per process (the tokenizer is not thread-safe and
  torch already uses every core given to the worker); scale out with ``--workers``.
- Every error is ``{"error": {"code": ..., "message": ...}}`` with a 4xx for anything the client
  sent; a catch-all turns the unexpected into a 500 envelope without leaking internals.
- Privacy: request bodies and uploads stay in memory (no temporary files, no spooling), and the
  access log carries method, path, status, latency and byte counts only, never text or file names.

Run it with ``matcher serve``; ``create_app`` is also the import-string factory for several workers
(``uvicorn --factory matcher.api:create_app``).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
import traceback
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..core import Matcher
from ..errors import InputError, InputTooLarge, MatcherError, UnknownCatalog, UnknownRole, UnsupportedFileType
from ..extract import extract_text, sniff
from ..result import MatchResult
from ..settings import Settings
from ..text import ACCEPTED
from .registry import Registry

try:  # python-multipart >= 0.0.13 ships the module as python_multipart
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # pragma: no cover - older python-multipart
    from multipart.multipart import MultipartParser, parse_options_header

log = logging.getLogger("matcher.api")
access_log = logging.getLogger("matcher.access")

STATIC_DIR = Path(__file__).resolve().parent / "static"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an uploaded file
SMALL_BODY = 64 * 1024  # any endpoint that takes no body
MAX_FORM_FIELD = 1024  # the size of a non-file form field (top_k)
MAX_FORM_PARTS = 8
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
ADMIN_FAILURES, ADMIN_WINDOW = 5, 60.0  # wrong admin keys allowed per client address per window (seconds)
STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "timeout", 413: "too_large",
                415: "unsupported_type", 422: "invalid_request", 503: "not_ready"}


# -- errors -----------------------------------------------------------------------------------------

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


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def status_for(exc: MatcherError) -> int:
    """The HTTP status of a core error: the client's fault is a 4xx, anything else a 500."""
    if isinstance(exc, InputTooLarge):
        return 413
    if isinstance(exc, UnsupportedFileType):
        return 415
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, (UnknownRole, UnknownCatalog)):
        return 404
    return 500


def _megabytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def _validation_message(errors: list[dict]) -> tuple[str, str]:
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


# -- request models (validation and the OpenAPI document) --------------------------------------------

class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. empty_input, too_large")
    message: str = Field(description="what was wrong and what is accepted")


class ErrorBody(BaseModel):
    error: ErrorDetail


def _match_request_model(max_top_k: int, max_text_chars: int) -> type[BaseModel]:
    class MatchRequest(BaseModel):
        """A résumé (or goals paragraph, or recruiter note) to match against the catalog."""

        model_config = ConfigDict(extra="forbid", strict=True)
        # minLength/pattern document what the core's check enforces (code empty_input); the length
        # limit is a 413 (MATCHER_MAX_TEXT_CHARS), so it is described rather than made a schema bound.
        text: str = Field(
            description=f"the résumé text (UTF-8), at most {max_text_chars:,} characters (413 past that); "
                        "start/end offsets in the result index into it",
            examples=["Former backend engineer, now four years as a product manager for internal developer tools."],
            json_schema_extra={"minLength": 1, "pattern": r"\S"})
        top_k: int | None = Field(None, ge=1, le=max_top_k, description="how many roles to return (default: all)")

    return MatchRequest


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {404: "unknown catalog (?catalog=) or role; the message lists the valid ones",
            413: "text or upload over the configured limit",
            415: "unsupported or mislabelled file type, or wrong Content-Type",
            422: "empty, undecodable or unmatchable input; malformed JSON; wrong field types; top_k out of range",
            503: "the model and index are still loading"}
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


# -- the guard: access log, body limits, catch-all ---------------------------------------------------

class GuardMiddleware:
    """Pure ASGI middleware around the whole app.

    - access log: method, path, status, latency and byte counts — nothing else;
    - body limits: a declared Content-Length over the limit is refused before reading, and a
      streamed body is counted as it arrives (so nothing is ever buffered unbounded);
    - catch-all: an unexpected exception becomes a 500 envelope, logged as its type and stack
      frames only (an exception message could quote the input).
    """

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_for(self, path: str) -> tuple[int, str]:
        s = self.settings
        if path.rstrip("/") == "/v1/match/file":
            return s.max_upload_bytes + MULTIPART_OVERHEAD, (
                f"upload is over the {_megabytes(s.max_upload_bytes)} limit (MATCHER_MAX_UPLOAD_BYTES); "
                f"send a smaller file ({ACCEPTED}) or paste the text")
        if path.rstrip("/") == "/v1/match":
            # Worst case JSON: every character a 12-byte surrogate-pair escape.
            return s.max_text_chars * 12 + SMALL_BODY, (
                f"request body is too large; text is limited to {s.max_text_chars:,} characters "
                "(MATCHER_MAX_TEXT_CHARS)")
        return SMALL_BODY, f"request body is over {_megabytes(SMALL_BODY)}; this endpoint takes no body"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 500, "started": False, "in": 0, "out": 0, "body_done": False}
        limit, too_large = self.limit_for(scope.get("path", ""))

        async def counting_send(message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                state["out"] += len(message.get("body", b""))
            await send(message)

        body_deadline = started + self.settings.body_timeout

        async def counting_receive():
            if state["body_done"]:  # after the body: only http.disconnect is left to wait for
                return await receive()
            # A client that trickles its body (a byte every few seconds) is cut off at the deadline.
            with anyio.move_on_after(max(0.0, body_deadline - time.perf_counter())) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise RequestTimeout(f"the request body did not arrive within {self.settings.body_timeout} s "
                                     "(MATCHER_BODY_TIMEOUT); send it in one go")
            if message["type"] == "http.request":
                state["in"] += len(message.get("body", b""))
                state["body_done"] = not message.get("more_body", False)
                if state["in"] > limit:
                    raise BodyTooLarge(too_large)
            return message

        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await error_response(413, "too_large", too_large)(scope, receive, counting_send)
            else:
                await self.app(scope, counting_receive, counting_send)
        except Exception as exc:  # the catch-all: nothing unexpected reaches uvicorn's logger
            frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)[-8:]))
            log.error("internal error %s on %s %s\n%s", type(exc).__name__, log_safe(scope.get("method")),
                      _log_path(scope), frames.rstrip())
            if not state["started"]:
                await error_response(500, "internal_error", "the server failed to process this request; "
                                     "the error has been logged (without your text)")(scope, receive, counting_send)
        finally:
            access_log.info("%s %s %s %.1fms in=%dB out=%dB", log_safe(scope.get("method")), _log_path(scope),
                            state["status"], (time.perf_counter() - started) * 1000, state["in"], state["out"])


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(value: object, limit: int = 120) -> str:
    """``value`` as one log-safe line: control characters (newlines included, and the Unicode line
    separators) escaped as ``\\xNN``/``\\uNNNN``, so a client cannot forge log lines; cut short."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _log_path(scope) -> str:
    """The path only (never the query string), cut short and escaped."""
    return log_safe(scope.get("path", ""))


# -- reading bodies ----------------------------------------------------------------------------------

async def _read_body(request: Request) -> bytes:
    """The whole body; bounded by the guard's per-path limit as it streams in."""
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
    return bytes(chunks)


async def _read_upload(request: Request, max_bytes: int, max_top_k: int) -> tuple[str, bytes, int | None]:
    """(filename, content, top_k) from a multipart/form-data body, parsed in memory as it streams.

    The file is refused the moment it passes ``max_bytes``; nothing is spooled to disk.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ApiError(415, "unsupported_media_type",
                       "send the file as multipart/form-data in a field named 'file' "
                       f"({ACCEPTED}); to send text, POST JSON to /v1/match")
    parts: list[dict] = []
    current: dict = {}
    header = {"name": b"", "value": b""}

    def on_part_begin() -> None:
        current.clear()
        current.update(headers={}, data=bytearray())
        if len(parts) >= MAX_FORM_PARTS:
            raise ApiError(422, "invalid_request", "too many form fields; send 'file' and optionally 'top_k'")

    def on_header_field(data, start, end) -> None:
        header["name"] += data[start:end]

    def on_header_value(data, start, end) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        current["headers"][header["name"].lower()] = header["value"]
        header["name"], header["value"] = b"", b""

    def on_part_data(data, start, end) -> None:
        buf = current["data"]
        buf.extend(data[start:end])
        disposition = current["headers"].get(b"content-disposition", b"")
        if b"filename" in disposition and len(buf) > max_bytes:
            raise ApiError(413, "too_large", f"file is over the {_megabytes(max_bytes)} limit "
                           f"(MATCHER_MAX_UPLOAD_BYTES); send a smaller file or paste the text")
        if b"filename" not in disposition and len(buf) > MAX_FORM_FIELD:
            raise ApiError(422, "invalid_request", "a form field is too long; send 'file' and optionally 'top_k'")

    def on_part_end() -> None:
        parts.append(dict(current))

    callbacks = {"on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
                 "on_header_field": on_header_field, "on_header_value": on_header_value,
                 "on_header_end": on_header_end}
    parser = MultipartParser(params[b"boundary"], callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (ApiError, StarletteHTTPException):
        raise
    except Exception:  # python-multipart's parse errors (several types across versions)
        raise ApiError(422, "malformed_multipart", "the multipart body could not be parsed; send the file as "
                       "multipart/form-data in a field named 'file'") from None

    filename, content, top_k, files = "", b"", None, 0
    for part in parts:
        _, opts = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            files += 1
            if name != "file" or files > 1:
                raise ApiError(422, "invalid_request", "send exactly one file, in a form field named 'file'")
            filename = opts[b"filename"].decode("utf-8", "replace")
            content = bytes(part["data"])
        elif name == "top_k":
            raw = part["data"].decode("utf-8", "replace").strip()
            if raw:
                # ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and "٣".
                if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= max_top_k:
                    raise ApiError(422, "invalid_request", f"top_k: must be a whole number from 1 to {max_top_k}")
                top_k = int(raw)
        else:
            raise ApiError(422, "invalid_request", f"unexpected form field {name[:40]!r}; send 'file' and "
                           "optionally 'top_k'")
    if not files:
        raise ApiError(422, "missing_file",
                       f"no file in the upload; send one in a form field named 'file' ({ACCEPTED})")
    return filename, content, top_k


# -- the app -----------------------------------------------------------------------------------------

def create_app(settings: Settings | None = None, *, matcher: Matcher | None = None, embedder=None,
               catalog: str | Path | None = None, registry: Registry | None = None) -> FastAPI:
    """The FastAPI app. With ``matcher`` (one catalog) or ``registry`` (several) it is ready at once
    (tests); otherwise the lifespan loads every served catalog (``Registry.load``: ``MATCHER_CATALOGS``,
    or every catalog under the corpus folder) in a background thread, sharing one model.

    With no arguments (``uvicorn --factory matcher.api:create_app``) settings come from ``MATCHER_*``;
    with only a ``matcher``, from that matcher (whose settings also bound the text length).
    """
    if registry is None and matcher is not None:
        registry = Registry.single(matcher)
    settings = settings or (registry.settings if registry is not None else Settings.from_env())
    if catalog is not None:
        from dataclasses import replace

        settings = replace(settings, catalog=str(catalog), catalogs=(str(catalog),))
    MatchRequest = _match_request_model(settings.max_top_k, settings.max_text_chars)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.limiter = anyio.CapacityLimiter(1)
        app.state.extract_limiter = anyio.CapacityLimiter(settings.max_extractions)
        if app.state.registry is None and app.state.loader is None:
            app.state.loader = threading.Thread(target=_load, args=(app,), name="matcher-load", daemon=True)
            app.state.loader.start()
        yield

    def _load(app: FastAPI) -> None:
        began = time.perf_counter()
        try:
            reg = Registry.load(settings, embedder=embedder)
            reg.embedder.embed(["warm-up"])  # the first call pays one-off initialisation costs
        except MatcherError as exc:
            app.state.load_error = exc.message
            log.error("could not load the model and index: %s", exc.message)
            return
        except Exception as exc:
            app.state.load_error = f"unexpected {type(exc).__name__} while loading; see the server log"
            log.exception("could not load the model and index")
            return
        app.state.registry = reg
        log.info("ready: catalogs %s (default %r), model %s, in %.1f s", ", ".join(reg.names), reg.default,
                 reg.embedder.name, time.perf_counter() - began)

    app = FastAPI(
        title="role-matcher",
        version=__version__,
        summary="Paste or upload a résumé; see which role fits and why.",
        description="Ranked roles with calibrated scores, the résumé passages that support each role (paired "
                    "with the role statement they match), gaps, and an honest *no good fit*. Every error is "
                    '`{"error": {"code": ..., "message": ...}}`. Résumé text is never logged or stored.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.loader = None
    app.state.load_error = None
    app.state.limiter = None
    app.state.extract_limiter = None
    app.state.in_flight = 0  # match requests running or waiting for the model (event-loop only: no lock)
    app.add_middleware(GuardMiddleware, settings=settings)

    # -- error envelopes --------------------------------------------------------------------------
    @app.exception_handler(MatcherError)
    async def _matcher_error(request: Request, exc: MatcherError):
        status = status_for(exc)
        if status == 500:  # a server-side problem (catalog, index, settings): details stay in the log
            log.error("%s (%s) on %s %s", type(exc).__name__, exc.code, log_safe(request.method),
                      log_safe(request.url.path))
            return error_response(500, "internal_error", "the server could not process this request; "
                                  "the error has been logged")
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        code, message = _validation_message(list(exc.errors()))
        return error_response(422, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = STATUS_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # belt and braces; the guard catches first
        return error_response(500, "internal_error", "the server failed to process this request")

    # -- helpers ----------------------------------------------------------------------------------
    def ready_registry() -> Registry:
        reg = app.state.registry
        if reg is not None:
            return reg
        if app.state.load_error:
            raise ApiError(503, "load_failed", f"the model and index failed to load: {app.state.load_error}")
        raise ApiError(503, "not_ready", "the model and index are still loading; retry in a few seconds",
                       {"Retry-After": "2"})

    def ready_matcher(catalog: str | None = None) -> Matcher:
        """The matcher of ``catalog`` (default catalog when None), taken once per request: a reload
        swapping in a new index cannot change it half-way through the request."""
        return ready_registry().get(catalog)

    @asynccontextmanager
    async def admitted():
        """One request's place in the queue for the CPU (extraction and the model alike).

        Back-pressure: past this many requests queued, a client waits longer than it would take to
        retry; say so at once instead of letting latency grow without bound. (Counted here: the
        limiters' own statistics only see tasks once they reach their lock.)"""
        if app.state.in_flight >= settings.max_queue + 1:  # one running, max_queue waiting
            raise ApiError(503, "busy", f"the server is busy ({settings.max_queue} requests already waiting); "
                           "retry in a moment", {"Retry-After": "1"})
        app.state.in_flight += 1
        try:
            yield
        finally:
            app.state.in_flight -= 1

    def limiters() -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
        if app.state.limiter is None:  # no lifespan ran (an app driven without startup, as in some tests)
            app.state.limiter = anyio.CapacityLimiter(1)
            app.state.extract_limiter = anyio.CapacityLimiter(settings.max_extractions)
        return app.state.limiter, app.state.extract_limiter

    async def run_match(m: Matcher, text: str, top_k: int | None) -> MatchResult:
        # Bad input (lone surrogates included) is refused by the core's check_text inside m.match.
        return await anyio.to_thread.run_sync(m.match, text, top_k, limiter=limiters()[0])

    async def run_extract(content: bytes, filename: str) -> str:
        # pypdf / python-docx are CPU work too: off the event loop, and only a few at once, so a
        # burst of heavy uploads cannot take every core and all the memory from text requests.
        return await anyio.to_thread.run_sync(extract_text, content, filename, limiter=limiters()[1])

    private = {"Cache-Control": "no-store"}  # results quote personal data: no caches on the way

    # -- endpoints --------------------------------------------------------------------------------
    @app.post("/v1/match", tags=["match"], response_model=MatchResult,
              summary="Match résumé text (JSON)",
              responses=_error_responses(404, 413, 415, 422, 503),
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": MatchRequest.model_json_schema(),
                  "example": {"text": "Former backend engineer, now four years as a product manager for "
                                      "internal developer tools.", "top_k": 4}}}}})
    async def match_text(request: Request, catalog: str | None = None):
        """`{"text": "...", "top_k": 4}` → the core's result document, unchanged. `?catalog=NAME` picks a
        served catalog (see `GET /v1/catalogs`); the default catalog otherwise."""
        m = ready_matcher(catalog)
        ctype, _ = parse_options_header(request.headers.get("content-type", ""))
        if ctype != b"application/json" and not ctype.endswith(b"+json"):  # a missing type is refused too
            raise ApiError(415, "unsupported_media_type",
                           'send {"text": "...", "top_k": 4} with Content-Type: application/json; '
                           "to upload a file, POST multipart/form-data to /v1/match/file")
        body = await _read_body(request)
        try:
            decoded = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"request body is not valid UTF-8 (bad byte at position {exc.start}); "
                             "send JSON encoded as UTF-8", code="bad_encoding") from None
        try:
            payload = MatchRequest.model_validate_json(decoded)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None
        async with admitted():
            result = await run_match(m, payload.text, payload.top_k)
        return JSONResponse(result.to_dict(), headers=private)

    @app.post("/v1/match/file", tags=["match"], response_model=MatchResult,
              summary="Match a résumé file (multipart upload)",
              responses=_error_responses(404, 413, 415, 422, 503),
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"], "properties": {
                      "file": {"type": "string", "format": "binary",
                               "description": ".pdf, .docx, .txt or .md; the type is read from the content"},
                      "top_k": {"type": "integer", "minimum": 1, "maximum": settings.max_top_k}}}}}}})
    async def match_file(request: Request, catalog: str | None = None):
        """A résumé file (PDF, DOCX, TXT, MD) → the result document, plus `text` (the extracted text that
        the `start`/`end` offsets index into) and `file` (`name`, detected `type`). `?catalog=` as above."""
        m = ready_matcher(catalog)
        filename, content, top_k = await _read_upload(request, settings.max_upload_bytes, settings.max_top_k)
        async with admitted():
            text = await run_extract(content, filename)
            result = await run_match(m, text, top_k)
        doc = result.to_dict()
        doc["text"] = text
        doc["file"] = {"name": filename, "type": sniff(content), "bytes": len(content)}
        return JSONResponse(doc, headers=private)

    @app.get("/v1/roles", tags=["catalog"], summary="The catalog's roles", responses=_error_responses(404, 503))
    async def roles(catalog: str | None = None):
        m = ready_matcher(catalog)
        return {"catalog": {"name": m.catalog.name, "hash": m.catalog.hash},
                "roles": [r.to_dict() for r in m.catalog.roles]}

    @app.get("/v1/roles/{role_id}", tags=["catalog"], summary="One role",
             responses=_error_responses(404, 503))
    async def role(role_id: str, catalog: str | None = None):
        """One role's statements; 404 (listing the valid ids) for an unknown id."""
        return ready_matcher(catalog).role(role_id).to_dict()

    @app.get("/v1/catalogs", tags=["catalog"], summary="The catalogs served here",
             responses=_error_responses(503))
    async def catalogs():
        """Every served catalog: name, whether it is the default, its hash, role and statement counts,
        index type, build time, title and attribution (show it beside results), and reload status."""
        reg = ready_registry()
        return {"default": reg.default, "catalogs": [reg.describe(n) for n in reg.names]}

    @app.get("/v1/catalogs/{name}", tags=["catalog"], summary="One served catalog",
             responses=_error_responses(404, 503))
    async def catalog_info(name: str):
        return ready_registry().describe(name)

    @app.post("/v1/catalogs/{name}/reload", tags=["catalog"], status_code=202,
              summary="Rebuild a catalog's index from its files and swap it in (admin)",
              responses={**_error_responses(404, 503), 401: {"model": ErrorBody, "description": "wrong or no key"},
                         429: {"model": ErrorBody, "description": "too many wrong keys from this address"},
                         403: {"model": ErrorBody, "description": "reload is disabled (no MATCHER_ADMIN_KEY)"}})
    async def reload_catalog(name: str, request: Request):
        """Starts a rebuild in the background and answers 202 at once; `GET /v1/catalogs/{name}` shows
        its progress. Requests keep being answered from the old index until the new one is swapped in;
        a failed rebuild leaves the old one serving and says why. Needs `Authorization: Bearer <key>`
        with the key set in `MATCHER_ADMIN_KEY`."""
        _check_admin(request)
        reg = ready_registry()
        status = reg.reload(name)
        return JSONResponse({"catalog": name, "reload": status.__dict__}, status_code=202)

    failures: dict[str, list[float]] = {}  # client host -> times of recent failed admin attempts

    def _check_admin(request: Request) -> None:
        """The admin key, sent as ``Authorization: Bearer <key>`` (the one documented way). After
        ``ADMIN_FAILURES`` wrong keys within ``ADMIN_WINDOW`` seconds a client gets 429 until the
        window passes, so the key cannot be guessed at network speed."""
        import hmac

        if not settings.admin_key:
            raise ApiError(403, "reload_disabled", "catalog reload is disabled on this server; set "
                           "MATCHER_ADMIN_KEY to enable it")
        host = request.client.host if request.client else "?"
        now = time.monotonic()
        recent = [t for t in failures.get(host, ()) if now - t < ADMIN_WINDOW]
        if len(recent) >= ADMIN_FAILURES:
            raise ApiError(429, "too_many_attempts", "too many wrong admin keys from this address; wait and "
                           "retry", {"Retry-After": str(int(ADMIN_WINDOW - (now - recent[0])) + 1)})
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        if not token or not hmac.compare_digest(token.encode(), settings.admin_key.encode()):
            if len(failures) > 4096:  # bounded memory whatever the number of clients
                failures.clear()
            failures[host] = [*recent, now]
            raise ApiError(401, "unauthorized", "a valid admin key is needed: send Authorization: Bearer <key> "
                           "(the key in MATCHER_ADMIN_KEY)", {"WWW-Authenticate": "Bearer"})
        failures.pop(host, None)

    @app.get("/v1/info", tags=["service"], summary="Version, catalog, model and limits")
    async def info():
        reg = app.state.registry
        m = reg.get() if reg is not None else None
        return {"version": __version__, "ready": m is not None,
                "catalogs": reg.names if reg is not None else [],
                "catalog": {"name": m.catalog.name, "hash": m.catalog.hash, "roles": len(m.catalog.roles)}
                if m else None,
                "model": m.embedder.name if m else None,
                "limits": {"max_text_chars": settings.max_text_chars,
                           "max_upload_bytes": settings.max_upload_bytes, "max_top_k": settings.max_top_k},
                "accepted": ACCEPTED}

    @app.get("/healthz", tags=["service"], summary="Liveness: the process is up",
             responses={503: {"model": ErrorBody, "description": "loading failed for good; restart"}})
    async def healthz():
        """200 while the process is up (loading or ready); 503 only if loading failed, so a restart
        policy can act on a process that can never become ready."""
        if app.state.load_error:
            return error_response(503, "load_failed", f"the model and index failed to load: {app.state.load_error}")
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], summary="Readiness: the model and index are loaded",
             responses=_error_responses(503))
    async def readyz():
        reg = ready_registry()
        return {"status": "ready", "catalog": reg.default, "catalogs": reg.names, "model": reg.embedder.name}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def log_config(level: str = "INFO") -> dict:
    """uvicorn's logging config plus the ``matcher`` loggers on the same stderr handler.

    Passed to uvicorn (not applied here) so every worker process gets it too.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["matcher"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
