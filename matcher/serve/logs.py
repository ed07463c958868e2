"""The server's logs: what a line may carry (never résumé text, file names or query strings), where
it goes (uvicorn's stderr handler, in every worker process) and how it looks: text, or one JSON object
per line with ``MATCHER_LOG_FORMAT=json`` for a log collector.

Every line logged while a request is handled carries its request id (``X-Request-ID``), so an
error line can be tied to its access line and to what the client saw.
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import re
import secrets
import time

from uvicorn.config import LOGGING_CONFIG

log = logging.getLogger("matcher.api")
access_log = logging.getLogger("matcher.access")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Fields the access log passes with ``extra=``; the JSON formatter writes them as keys of their own.
ACCESS_FIELDS = ("method", "route", "status", "latency_ms", "bytes_in", "bytes_out")


def accept_request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a plain token (letters, digits, ``._:-``, at most 128),
    else a new random one: an id is echoed in headers and logs, so it must not carry anything else."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the request id of the request being handled (or ``-``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):  # the access line brings its own (logged as the request ends)
            record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None) or request_id.get()}
        line.update({k: getattr(record, k) for k in ACCESS_FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_safe(value: object, limit: int = 120) -> str:
    """``value`` as one log-safe line: control characters (newlines included, and the Unicode line
    separators) escaped as ``\\xNN``/``\\uNNNN``, so a client cannot forge log lines; cut short."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def log_path(scope) -> str:
    """The path only (never the query string), cut short and escaped."""
    return log_safe(scope.get("path", ""))


def log_config(level: str = "INFO", fmt: str = "text") -> dict:
    """uvicorn's logging config plus the ``matcher`` loggers on the same stderr handler; with
    ``fmt="json"`` every line (uvicorn's own too) is a JSON object.

    Passed to uvicorn (not applied here) so every worker process gets it too.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["matcher"] = {"handlers": ["default"], "level": level, "propagate": False}
    config.setdefault("filters", {})["request_id"] = {"()": RequestIdFilter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("request_id")
    if fmt == "json":
        config["formatters"] = {name: {"()": JsonFormatter} for name in config["formatters"]}
    return config
