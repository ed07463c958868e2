"""``POST /v1/match`` (JSON text), ``POST /v1/match/file`` (an uploaded résumé) and ``POST /v1/match/batch``
(many texts, one model call): the core's result document, unchanged. The limits are the core's: the
edge reads the request and passes values through."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from ...core import check_top_k
from ...errors import InputError, InputTooLarge, error_body
from ...extract import sniff
from ...result import MatchResult, document
from ..deps import AppSettings, ReadyMatcher, admitted, run_extract, run_match, run_match_many
from ..errors import ApiError, error_responses, validation_message
from ..metrics import BATCH_ITEMS
from ..schemas import BatchResponse, FileMatchResult
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


class BatchItem(BaseModel):
    """One text of a batch. Checked on its own: a bad item gets an error in its slot, the rest are scored."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str | None = Field(None, max_length=200, description="your id for the item, echoed back "
                           "(default: its position, from 0)")
    text: str = Field(description="the résumé text, as for POST /v1/match",
                      json_schema_extra={"minLength": 1, "pattern": r"\S"})


class BatchRequest(BaseModel):
    """Several texts to match in one request (one model call across them)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # Items stay unparsed here so that one bad item is reported in its slot, not for the whole request.
    items: list[Any] = Field(description="at most MATCHER_MAX_BATCH items (GET /v1/info: limits.max_batch)",
                              # The shape to send, but anything is accepted: a bad item is answered in its slot.
                              json_schema_extra={"minItems": 1,
                                                 "items": {"anyOf": [BatchItem.model_json_schema(), {}]}})
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
    payload = _parse(MatchRequest, await read_body(request))
    check_top_k(payload.top_k, m.settings.max_top_k)  # the core's rule, before the request queues
    async with admitted(request):
        result = await run_match(request, m, payload.text, payload.top_k)
    return JSONResponse(result.to_dict(), headers=PRIVATE)


def _parse(model: type[BaseModel], body: bytes):
    try:
        decoded = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"request body is not valid UTF-8 (bad byte at position {exc.start}); "
                         "send JSON encoded as UTF-8", code="bad_encoding") from None
    try:
        return model.model_validate_json(decoded)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None


@router.post("/v1/match/batch", response_model=BatchResponse, summary="Match many texts in one request",
             responses=error_responses(404, 413, 415, 422, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": BatchRequest.model_json_schema(),
                 "example": {"items": [{"id": "c-1", "text": EXAMPLE}], "top_k": 3}}}}})
async def match_batch(request: Request, m: ReadyMatcher, settings: AppSettings):
    """`{"items": [{"id": "c-1", "text": "..."}, ...], "top_k": 3}` → one result document per item, in
    order, each with its `id`; an item that cannot be matched (empty, too long, not text) gets
    `{"id", "error": {"code", "message"}}` in its slot and the others are scored. One model call
    across every item: for many candidates this is several times faster than one request each."""
    ctype, _ = content_type(request)
    if ctype != b"application/json" and not ctype.endswith(b"+json"):
        raise ApiError(415, "unsupported_media_type",
                       'send {"items": [{"id": "...", "text": "..."}]} with Content-Type: application/json')
    payload = _parse(BatchRequest, await read_body(request))
    if not payload.items:
        raise InputError('items is empty; send {"items": [{"id": "...", "text": "..."}]} with at least one item')
    if len(payload.items) > settings.max_batch:
        raise InputTooLarge(f"{len(payload.items)} items is over the batch limit of {settings.max_batch} "
                            "(MATCHER_MAX_BATCH); split them over several requests")
    check_top_k(payload.top_k, m.settings.max_top_k)
    ids, out, texts = _batch_items(payload.items)
    async with admitted(request):
        results = await run_match_many(request, m, texts, payload.top_k) if texts else []
    slots = [i for i, doc in enumerate(out) if doc is None]
    for i, result in zip(slots, results, strict=True):
        out[i] = document(result)
    failed = sum("error" in doc for doc in out)
    BATCH_ITEMS.labels("scored").inc(len(out) - failed)
    BATCH_ITEMS.labels("failed").inc(failed)
    return JSONResponse({"catalog": {"name": m.catalog.name, "hash": m.catalog.hash}, "count": len(out),
                         "failed": failed, "results": [{"id": id_, **doc} for id_, doc in zip(ids, out, strict=True)]},
                        headers=PRIVATE)


def _batch_items(raw_items: list[Any]) -> tuple[list[str], list[dict | None], list[str]]:
    """Each item checked on its own: (ids, per-slot error body or None for a text to match, the texts)."""
    ids, out, texts = [], [], []
    for i, raw in enumerate(raw_items):
        given = raw.get("id") if isinstance(raw, dict) else None
        ids.append(given if isinstance(given, str) else str(i))
        if not isinstance(raw, dict):
            out.append(error_body("invalid_request", f"items[{i}] is a {type(raw).__name__}; "
                                  'send an object {"id": "...", "text": "..."}'))
            continue
        try:
            texts.append(BatchItem.model_validate(raw).text)
            out.append(None)
        except ValidationError as exc:
            out.append(error_body(*validation_message(exc.errors(include_input=False, include_url=False))))
    return ids, out, texts


@router.post("/v1/match/file", response_model=FileMatchResult, summary="Match a résumé file (multipart upload)",
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
