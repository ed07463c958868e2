"""The guard: pure ASGI middleware around the whole app (access log, body limits, catch-all)."""

from __future__ import annotations

import time
import traceback

import anyio

from ..settings import Settings
from ..text import ACCEPTED
from .errors import BodyTooLarge, RequestTimeout, error_response, megabytes
from .logs import accept_request_id, access_log, log, log_path, log_safe, request_id
from .metrics import LATENCY, REQUESTS, route_of

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an uploaded file
SMALL_BODY = 64 * 1024  # any endpoint that takes no body
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GuardMiddleware:
    """Pure ASGI middleware around the whole app.

    - request id: the client's ``X-Request-ID`` (a plain token) or a new one, on the response and on
      every log line of the request;
    - access log and metrics: method, path (route template in metrics), status, latency and byte
      counts — nothing else;
    - body limits: a declared Content-Length over the limit is refused before reading, and a
      streamed body is counted as it arrives (so nothing is ever buffered unbounded);
    - catch-all: an unexpected exception becomes a 500 envelope, logged as its type and stack
      frames only (an exception message could quote the input).
    """

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_for(self, path: str) -> tuple[int, str]:
        """The body limit for a path, and the message that says so."""
        s = self.settings
        if path.rstrip("/") == "/v1/match/file":
            return s.max_upload_bytes + MULTIPART_OVERHEAD, (
                f"upload is over the {megabytes(s.max_upload_bytes)} limit (MATCHER_MAX_UPLOAD_BYTES); "
                f"send a smaller file ({ACCEPTED}) or paste the text")
        if path.rstrip("/") == "/v1/match/batch":
            return s.max_batch * (s.max_text_chars * 12 + 1024) + SMALL_BODY, (
                f"request body is too large; a batch is at most {s.max_batch} texts (MATCHER_MAX_BATCH) of at most "
                f"{s.max_text_chars:,} characters each (MATCHER_MAX_TEXT_CHARS)")
        if path.rstrip("/") == "/v1/match":
            # Worst case JSON: every character a 12-byte surrogate-pair escape.
            return s.max_text_chars * 12 + SMALL_BODY, (
                f"request body is too large; text is limited to {s.max_text_chars:,} characters "
                "(MATCHER_MAX_TEXT_CHARS)")
        return SMALL_BODY, f"request body is over {megabytes(SMALL_BODY)}; this endpoint takes no body"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 500, "started": False, "in": 0, "out": 0, "body_done": False}
        limit, too_large = self.limit_for(scope.get("path", ""))
        rid = accept_request_id(_header(scope, b"x-request-id"))
        token = request_id.set(rid)  # worker threads started from here inherit it (contextvars)

        async def counting_send(message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"x-request-id", rid.encode("ascii"))]
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
            declared = _content_length(_header(scope, b"content-length"))
            if declared is not None and declared > limit:
                await error_response(413, "too_large", too_large)(scope, receive, counting_send)
            else:
                await self.app(scope, counting_receive, counting_send)
        except Exception as exc:  # the catch-all: nothing unexpected reaches uvicorn's logger
            frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)[-8:]))
            log.error("internal error %s on %s %s\n%s", type(exc).__name__, log_safe(scope.get("method")),
                      log_path(scope), frames.rstrip())
            if not state["started"]:
                await error_response(500, "internal_error", "the server failed to process this request; "
                                     "the error has been logged (without your text)")(scope, receive, counting_send)
        finally:
            seconds = time.perf_counter() - started
            method, route = log_safe(scope.get("method"), 16), route_of(scope)
            known = method if method in METHODS else "other"  # label values stay a bounded set
            REQUESTS.labels(known, route, str(state["status"])).inc()
            LATENCY.labels(known, route).observe(seconds)
            access_log.info("%s %s %s %.1fms in=%dB out=%dB rid=%s", method, log_path(scope), state["status"],
                            seconds * 1000, state["in"], state["out"], rid,
                            extra={"method": method, "route": route, "status": state["status"],
                                   "latency_ms": round(seconds * 1000, 1), "bytes_in": state["in"],
                                   "bytes_out": state["out"], "request_id": rid})
            request_id.reset(token)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
