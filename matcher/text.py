"""Checks on submitted text, shared by the CLI, the HTTP API and batch scoring."""

from __future__ import annotations

from .errors import InputError, InputTooLarge

ACCEPTED = "plain text (UTF-8), or a .txt, .md, .pdf or .docx file"


def check_text(text: object, max_chars: int) -> str:
    """Return ``text`` if it is matchable, else raise an :class:`InputError` saying why."""
    if not isinstance(text, str):
        raise InputError(f"expected text, got {type(text).__name__}; send {ACCEPTED}")
    if len(text) > max_chars:
        raise InputTooLarge(f"text is {len(text):,} characters; the limit is {max_chars:,} "
                            "(set MATCHER_MAX_TEXT_CHARS to change it)")
    if "\x00" in text:
        raise InputError(f"input looks binary (it contains NUL bytes); send {ACCEPTED}", code="binary_input")
    control = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f\v")
    if control > max(8, len(text) // 100):
        raise InputError(f"input looks binary ({control} control characters); send {ACCEPTED}",
                         code="binary_input")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not text any encoder can represent
        raise InputError("input contains invalid Unicode (unpaired surrogate characters); send UTF-8 text",
                         code="bad_encoding") from None
    if not text.strip():
        raise InputError(f"input is empty; send {ACCEPTED} with at least a sentence of résumé text",
                         code="empty_input")
    return text


def decode_bytes(data: bytes, what: str = "input") -> str:
    """Decode UTF-8 (with or without BOM); anything else is refused with a clear message."""
    if b"\x00" in data[:4096]:
        raise InputError(f"{what} looks binary (it contains NUL bytes); send {ACCEPTED}", code="binary_input")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 (bad byte at position {exc.start}); "
                         "save it as UTF-8 and try again", code="bad_encoding") from None
