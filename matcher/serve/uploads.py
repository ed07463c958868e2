"""Request bodies, read as they stream in: the whole body (bounded by the guard), or a multipart upload
parsed in memory with every part bounded, so nothing is ever spooled to disk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..text import ACCEPTED
from .errors import ApiError, megabytes

try:  # python-multipart >= 0.0.13 ships the module as python_multipart
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # pragma: no cover - older python-multipart
    from multipart.multipart import MultipartParser, parse_options_header

MAX_FORM_FIELD = 1024  # the size of a non-file form field (top_k)
MAX_FORM_PARTS = 8


async def read_body(request: Request) -> bytes:
    """The whole body; bounded by the guard's per-path limit as it streams in."""
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
    return bytes(chunks)


def content_type(request: Request) -> tuple[bytes, dict[bytes, bytes]]:
    """The media type of the request and its parameters (``boundary``, ``charset``)."""
    return parse_options_header(request.headers.get("content-type", ""))


@dataclass
class Upload:
    """What ``/v1/match/file`` was sent: one file, and the ``top_k`` form field if any."""

    filename: str
    content: bytes
    top_k: int | None


class _Parts:
    """The callbacks of python-multipart's streaming parser: collect the parts, each one bounded."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[dict] = []
        self.current: dict = {}
        self.header = {"name": b"", "value": b""}

    def callbacks(self) -> dict:
        return {"on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end}

    def on_part_begin(self) -> None:
        self.current.clear()
        self.current.update(headers={}, data=bytearray())
        if len(self.parts) >= MAX_FORM_PARTS:
            raise ApiError(422, "invalid_request", "too many form fields; send 'file' and optionally 'top_k'")

    def on_header_field(self, data, start, end) -> None:
        self.header["name"] += data[start:end]

    def on_header_value(self, data, start, end) -> None:
        self.header["value"] += data[start:end]

    def on_header_end(self) -> None:
        self.current["headers"][self.header["name"].lower()] = self.header["value"]
        self.header["name"], self.header["value"] = b"", b""

    def on_part_data(self, data, start, end) -> None:
        buf = self.current["data"]
        buf.extend(data[start:end])
        disposition = self.current["headers"].get(b"content-disposition", b"")
        if b"filename" in disposition and len(buf) > self.max_bytes:
            raise ApiError(413, "too_large", f"file is over the {megabytes(self.max_bytes)} limit "
                           f"(MATCHER_MAX_UPLOAD_BYTES); send a smaller file or paste the text")
        if b"filename" not in disposition and len(buf) > MAX_FORM_FIELD:
            raise ApiError(422, "invalid_request", "a form field is too long; send 'file' and optionally 'top_k'")

    def on_part_end(self) -> None:
        self.parts.append(dict(self.current))


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The file and ``top_k`` of a multipart/form-data body, parsed in memory as it streams.

    The file is refused the moment it passes ``max_bytes``; nothing is spooled to disk. ``top_k`` is
    read as a number here; whether it is in range is the core's rule.
    """
    ctype, params = content_type(request)
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ApiError(415, "unsupported_media_type",
                       "send the file as multipart/form-data in a field named 'file' "
                       f"({ACCEPTED}); to send text, POST JSON to /v1/match")
    collected = _Parts(max_bytes)
    parser = MultipartParser(params[b"boundary"], collected.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (ApiError, StarletteHTTPException):
        raise
    except Exception:  # python-multipart's parse errors (several types across versions)
        raise ApiError(422, "malformed_multipart", "the multipart body could not be parsed; send the file as "
                       "multipart/form-data in a field named 'file'") from None
    return _upload(collected.parts)


def _upload(parts: list[dict]) -> Upload:
    """The one file and the optional ``top_k`` among the form's parts; anything else is refused."""
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
                if not re.fullmatch(r"[0-9]{1,9}", raw):
                    raise ApiError(422, "invalid_request", "top_k: must be a whole number in ASCII digits, "
                                   "such as 4")
                top_k = int(raw)
        else:
            raise ApiError(422, "invalid_request", f"unexpected form field {name[:40]!r}; send 'file' and "
                           "optionally 'top_k'")
    if not files:
        raise ApiError(422, "missing_file",
                       f"no file in the upload; send one in a form field named 'file' ({ACCEPTED})")
    return Upload(filename, content, top_k)
