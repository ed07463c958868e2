"""The server's logs: what a line may carry (never résumé text, file names or query strings) and where
it goes (uvicorn's stderr handler, in every worker process)."""

from __future__ import annotations

import copy
import logging
import re

from uvicorn.config import LOGGING_CONFIG

log = logging.getLogger("matcher.api")
access_log = logging.getLogger("matcher.access")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(value: object, limit: int = 120) -> str:
    """``value`` as one log-safe line: control characters (newlines included, and the Unicode line
    separators) escaped as ``\\xNN``/``\\uNNNN``, so a client cannot forge log lines; cut short."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def log_path(scope) -> str:
    """The path only (never the query string), cut short and escaped."""
    return log_safe(scope.get("path", ""))


def log_config(level: str = "INFO") -> dict:
    """uvicorn's logging config plus the ``matcher`` loggers on the same stderr handler.

    Passed to uvicorn (not applied here) so every worker process gets it too.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["matcher"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
