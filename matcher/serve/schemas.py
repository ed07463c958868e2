"""The shapes of the API's answers, as pydantic models, so ``/openapi.json`` types every endpoint.

The match endpoints answer with the core's :class:`~matcher.result.MatchResult` document (built by its
``to_dict``, the one serialisation); the models here describe it and what the other endpoints return.
A test checks real answers against these models, so the document and the code cannot drift apart.
"""

from __future__ import annotations

from typing import Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..catalog.model import SECTIONS
from ..result import MatchResult


class CatalogRef(BaseModel):
    name: str
    hash: str = Field(description="changes whenever the catalog's content changes")


class RoleSummary(BaseModel):
    id: str
    title: str
    kind: Literal["offered", "adjacent"] = Field(description="adjacent roles are not offered: they only decide "
                                                             "'no good fit'")
    summary: str = ""
    statements: int = Field(description="how many statements the role has (the full view lists them)")


# One role in full: its summary fields plus a list of statements per section (responsibilities, ...).
Role = create_model("Role", id=(str, ...), title=(str, ...), kind=(Literal["offered", "adjacent"], ...),
                    summary=(str, ""), **{section: (list[str], []) for section in SECTIONS})


class RolesPage(BaseModel):
    catalog: CatalogRef
    total: int = Field(description="roles in the catalog, whatever the page")
    offset: int
    limit: int | None = Field(description="the page size asked for; null: every role from offset on")
    view: Literal["full", "summary"]
    roles: list[Role] | list[RoleSummary]  # type: ignore[valid-type]


class ReloadView(BaseModel):
    state: Literal["idle", "running", "done", "failed"]
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    hash: str | None = Field(None, description="the catalog hash the reload swapped in")


class CatalogView(BaseModel):
    name: str
    default: bool
    hash: str
    roles: int
    statements: int | None
    index_type: str | None
    built_at: str | None
    title: str
    attribution: str | None = Field(description="show it beside results (e.g. O*NET's CC BY 4.0 notice)")
    reload: ReloadView


class CatalogList(BaseModel):
    default: str
    catalogs: list[CatalogView]


class ReloadAccepted(BaseModel):
    catalog: str
    reload: ReloadView


class CatalogSummary(BaseModel):
    name: str
    hash: str
    roles: int


class Limits(BaseModel):
    max_text_chars: int
    max_upload_bytes: int
    max_top_k: int
    max_batch: int = Field(description="texts per POST /v1/match/batch")


class Info(BaseModel):
    version: str
    ready: bool
    catalogs: list[str]
    catalog: CatalogSummary | None = Field(description="the default catalog; null while loading")
    model: str | None
    limits: Limits
    accepted: str


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    catalog: str
    catalogs: list[str]
    model: str


class FileInfo(BaseModel):
    name: str = Field(description="the uploaded file's name, as sent")
    type: str = Field(description="the type read from the content: pdf, docx or text")
    bytes: int


_RESULT_FIELDS = {name: (hint, ...) for name, hint in get_type_hints(MatchResult).items()}
_RESULT_DOC = "Ranked roles for one text: the core's result document (see MatchResult)."

FileMatchResult = create_model(
    "FileMatchResult", __doc__=_RESULT_DOC + " Plus the extracted text (the offsets index into it) and the file.",
    **_RESULT_FIELDS, text=(str, ...), file=(FileInfo, ...))

BatchResult = create_model(
    "BatchResult", __doc__=_RESULT_DOC + " Plus the item's id.", id=(str, ...), **_RESULT_FIELDS)


class ItemErrorDetail(BaseModel):
    code: str
    message: str


class BatchError(BaseModel):
    """One item that could not be scored: its id and the same error envelope a single request gets."""

    model_config = ConfigDict(title="BatchError")
    id: str
    error: ItemErrorDetail


class BatchResponse(BaseModel):
    catalog: CatalogRef
    count: int = Field(description="items in the request (= len(results))")
    failed: int = Field(description="items answered with an error in their slot")
    results: list[BatchResult | BatchError] = Field(  # type: ignore[valid-type]
        description="one per item, in the request's order: a result document or {id, error}")
