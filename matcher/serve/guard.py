"""The guard: pure ASGI middleware around the whole app (access log, body limits, catch-all)."""

from __future__ import annotations

import time
import traceback

import anyio

from ..settings import Settings
from ..text import ACCEPTED
from .errors import BodyTooLarge, RequestTimeout, error_response, megabytes
from .logs import access_log, log, log_path, log_safe

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an uploaded file
SMALL_BODY = 64 * 1024  # any endpoint that takes no body


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
        """The body limit for a path, and the message that says so."""
        s = self.settings
        if path.rstrip("/") == "/v1/match/file":
            return s.max_upload_bytes + MULTIPART_OVERHEAD, (
                f"upload is over the {megabytes(s.max_upload_bytes)} limit (MATCHER_MAX_UPLOAD_BYTES); "
                f"send a smaller file ({ACCEPTED}) or paste the text")
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
                      log_path(scope), frames.rstrip())
            if not state["started"]:
                await error_response(500, "internal_error", "the server failed to process this request; "
                                     "the error has been logged (without your text)")(scope, receive, counting_send)
        finally:
            access_log.info("%s %s %s %.1fms in=%dB out=%dB", log_safe(scope.get("method")), log_path(scope),
                            state["status"], (time.perf_counter() - started) * 1000, state["in"], state["out"])


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
