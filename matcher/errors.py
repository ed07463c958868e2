"""Core exceptions. Each carries a stable machine-readable ``code`` and a message that says what
was wrong and what to do next; the HTTP layer and the CLI map them to status codes and exit lines."""

from __future__ import annotations


class MatcherError(Exception):
    """Base class for every error the matcher raises on purpose."""

    code = "matcher_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InputError(MatcherError):
    """The text or file given to match is unusable (empty, binary, too large, undecodable)."""

    code = "invalid_input"


class InputTooLarge(InputError):
    """The input is over a configured size limit."""

    code = "too_large"


class UnsupportedFileType(InputError):
    """The uploaded file is not a type we can read."""

    code = "unsupported_type"


class CatalogError(MatcherError):
    """A catalog file is missing, malformed or inconsistent."""

    code = "catalog_error"


class BuiltIndexError(MatcherError):
    """A built index is corrupt or was built for another model/catalog."""

    code = "index_error"


class NonFiniteScore(BuiltIndexError):
    """A NaN or infinite number reached a result: a damaged index or model, never the client's fault."""

    code = "non_finite_score"


class UnknownRole(MatcherError):
    """A role id that is not in the catalog."""

    code = "unknown_role"


class UnknownCatalog(MatcherError):
    """A catalog name that is not loaded."""

    code = "unknown_catalog"


class SettingsError(MatcherError):
    """An environment variable holds a value we cannot use."""

    code = "bad_setting"


class BatchError(MatcherError):
    """A batch job cannot start or cannot go on (not a problem with one row)."""

    code = "batch_error"


def error_body(code: str, message: str) -> dict:
    """The one shape every error takes on the wire and in batch output: ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message}}
