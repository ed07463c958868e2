"""``POST /v1/match`` (JSON text) and ``POST /v1/match/file`` (an uploaded résumé): the core's result
document, unchanged. The limits are the core's: the edge reads the request and passes values through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from ...core import check_top_k
from ...errors import InputError
from ...extract import sniff
from ...result import MatchResult
from ..deps import AppSettings, ReadyMatcher, admitted, run_extract, run_match
from ..errors import ApiError, error_responses
from ..uploads import content_type, read_body, read_upload

router = APIRouter(tags=["match"])
PRIVATE = {"Cache-Control": "no-store"}  # results quote personal data: no caches on the way
EXAMPLE = "Former backend engineer, now four years as a product manager for internal developer tools."
TOP_K = "how many roles to return (default: all); at most MATCHER_MAX_TOP_K (GET /v1/info says how many)"


class MatchRequest(BaseModel):
    """A résumé (or goals paragraph, or recruiter note) to match against the catalog."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # minLength/pattern and minimum document what the core's checks enforce (codes empty_input and
    # invalid_request); the length and top_k limits are settings, so they are described, not bounds.
    text: str = Field(
        description="the résumé text (UTF-8), at most MATCHER_MAX_TEXT_CHARS characters (413 past that); "
                    "start/end offsets in the result index into it",
        examples=[EXAMPLE], json_schema_extra={"minLength": 1, "pattern": r"\S"})
    top_k: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})] | None = Field(None, description=TOP_K)


@router.post("/v1/match", response_model=MatchResult, summary="Match résumé text (JSON)",
             responses=error_responses(404, 413, 415, 422, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": MatchRequest.model_json_schema(), "example": {"text": EXAMPLE, "top_k": 4}}}}})
async def match_text(request: Request, m: ReadyMatcher):
    """`{"text": "...", "top_k": 4}` → the core's result document, unchanged. `?catalog=NAME` picks a
    served catalog (see `GET /v1/catalogs`); the default catalog otherwise."""
    ctype, _ = content_type(request)
    if ctype != b"application/json" and not ctype.endswith(b"+json"):  # a missing type is refused too
        raise ApiError(415, "unsupported_media_type",
                       'send {"text": "...", "top_k": 4} with Content-Type: application/json; '
                       "to upload a file, POST multipart/form-data to /v1/match/file")
    payload = _match_request(await read_body(request))
    check_top_k(payload.top_k, m.settings.max_top_k)  # the core's rule, before the request queues
    async with admitted(request):
        result = await run_match(request, m, payload.text, payload.top_k)
    return JSONResponse(result.to_dict(), headers=PRIVATE)


def _match_request(body: bytes) -> MatchRequest:
    try:
        decoded = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"request body is not valid UTF-8 (bad byte at position {exc.start}); "
                         "send JSON encoded as UTF-8", code="bad_encoding") from None
    try:
        return MatchRequest.model_validate_json(decoded)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None


@router.post("/v1/match/file", response_model=MatchResult, summary="Match a résumé file (multipart upload)",
             responses=error_responses(404, 413, 415, 422, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary",
                              "description": ".pdf, .docx, .txt or .md; the type is read from the content"},
                     "top_k": {"type": "integer", "minimum": 1, "description": TOP_K}}}}}}})
async def match_file(request: Request, m: ReadyMatcher, settings: AppSettings):
    """A résumé file (PDF, DOCX, TXT, MD) → the result document, plus `text` (the extracted text that
    the `start`/`end` offsets index into) and `file` (`name`, detected `type`). `?catalog=` as above."""
    upload = await read_upload(request, settings.max_upload_bytes)  # the limit the guard enforces too
    check_top_k(upload.top_k, m.settings.max_top_k)  # the core's rule, before the request queues
    async with admitted(request):
        text = await run_extract(request, upload.content, upload.filename)
        result = await run_match(request, m, text, upload.top_k)
    doc = result.to_dict()
    doc["text"] = text
    doc["file"] = {"name": upload.filename, "type": sniff(upload.content), "bytes": len(upload.content)}
    return JSONResponse(doc, headers=PRIVATE)
