"""The catalog: roles and their statements, loaded from a folder of YAML files and validated.

A catalog folder holds one ``<role-id>.yaml`` per role (see ``corpus/default/``). Every statement
becomes one vector in the index; the sections say what kind of evidence a statement is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import CatalogError

SECTIONS = ("responsibilities", "skills", "background", "trajectory", "fits_if")
# Sections whose statements can be "gaps": things the role does or needs. Background and
# trajectory describe where people come from and go to, not something a résumé must cover.
GAP_SECTIONS = ("responsibilities", "skills")
ROLE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class RoleFile(BaseModel):
    """The schema of one role file; unknown keys are refused so typos do not vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ROLE_ID_PATTERN)
    kind: Literal["offered", "adjacent"] = "offered"
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)
    responsibilities: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    background: list[str] = Field(default_factory=list)
    trajectory: list[str] = Field(default_factory=list)
    fits_if: list[str] = Field(default_factory=list)

    @field_validator(*SECTIONS)
    @classmethod
    def _non_empty_statements(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip() for s in value]
        for i, s in enumerate(cleaned):
            if not s:
                raise ValueError(f"statement {i + 1} is empty")
            if len(s) > 1000:
                raise ValueError(f"statement {i + 1} is over 1000 characters")
        return cleaned


@dataclass(frozen=True)
class Statement:
    """One catalog statement: a row of the index."""

    role_id: str
    section: str
    text: str


@dataclass(frozen=True)
class Role:
    """A role with its statements grouped by section."""

    id: str
    title: str
    summary: str
    sections: dict[str, tuple[str, ...]]
    # "offered": a role the catalog matches people to. "adjacent": a neighbouring role the catalog
    # does not offer (software engineer next to Platform PM): someone who fits it better than every
    # offered role gets "no good fit" instead of being forced into the nearest offered role.
    kind: str = "offered"

    def statements(self) -> list[Statement]:
        """The role's statements in a stable order (summary first, then sections in SECTIONS order)."""
        out = [Statement(self.id, "summary", self.summary)] if self.summary else []
        for section in SECTIONS:
            out.extend(Statement(self.id, section, text) for text in self.sections.get(section, ()))
        return out

    def to_dict(self) -> dict:
        """A JSON-ready view for the roles endpoints and ``matcher roles``."""
        return {"id": self.id, "title": self.title, "kind": self.kind, "summary": self.summary,
                **{s: list(self.sections.get(s, ())) for s in SECTIONS}}


@dataclass(frozen=True)
class Catalog:
    """An immutable, validated set of roles. ``hash`` changes whenever any statement changes.

    ``roles`` are the offered roles (what results list); ``adjacent`` the reference roles that only
    decide "no good fit". ``all_roles`` is both, in index order.
    """

    name: str
    all_roles: tuple[Role, ...]
    source: str = ""

    def __post_init__(self) -> None:
        # Offered roles first, then adjacent ones: the index stores them in this order.
        ordered = tuple(r for r in self.all_roles if r.kind == "offered") + \
            tuple(r for r in self.all_roles if r.kind != "offered")
        object.__setattr__(self, "all_roles", ordered)
        if not self.roles:
            raise CatalogError(f"catalog {self.name!r} has no offered roles ({self.source or 'no source'})")
        seen: set[str] = set()
        for role in self.all_roles:
            if role.id in seen:
                raise CatalogError(f"catalog {self.name!r}: role id {role.id!r} appears twice")
            seen.add(role.id)
            if not role.statements():
                raise CatalogError(f"catalog {self.name!r}: role {role.id!r} has no statements")

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(r for r in self.all_roles if r.kind == "offered")

    @property
    def adjacent(self) -> tuple[Role, ...]:
        return tuple(r for r in self.all_roles if r.kind != "offered")

    @property
    def statements(self) -> list[Statement]:
        """Every statement, grouped by role in ``all_roles`` order (the index's row order)."""
        return [s for role in self.all_roles for s in role.statements()]

    @cached_property
    def hash(self) -> str:
        """A content hash of everything that ends up in the index (computed once: the catalog is frozen,
        and hashing ~50,000 statements costs ~0.2 s, which every match result would otherwise pay)."""
        payload = json.dumps([(r.id, r.kind, r.title, [(s.section, s.text) for s in r.statements()])
                              for r in self.all_roles], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def role(self, role_id: str) -> Role:
        """The offered role with this id; raises ``KeyError`` when there is none."""
        for role in self.roles:
            if role.id == role_id:
                return role
        raise KeyError(role_id)

    @property
    def role_ids(self) -> list[str]:
        return [r.id for r in self.roles]


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        parts.append(f"field '{loc}': {err['msg']}")
    return f"{path}: " + "; ".join(parts)


def load_role_file(path: Path) -> Role:
    """Parse and validate one YAML role file; errors name the file, and the line or field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{path}:{where} invalid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with id, title and statement lists at the top level")
    try:
        parsed = RoleFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_format_validation_error(path, exc)) from None
    if parsed.id != path.stem:
        raise CatalogError(f"{path}: field 'id' is {parsed.id!r} but the file is named {path.name}; "
                           f"name the file {parsed.id}.yaml")
    sections = {s: tuple(getattr(parsed, s)) for s in SECTIONS}
    return Role(parsed.id, parsed.title, parsed.summary, sections, parsed.kind)


def load_catalog(path: Path, name: str | None = None) -> Catalog:
    """Load a catalog from a folder of ``*.yaml`` role files (or a CSV/JSONL file, see sources)."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog not found at {path}; create it, or set MATCHER_CORPUS_DIR / --catalog")
    name = name or (path.name if path.is_dir() else path.stem)
    if path.is_file():
        from .table import load_table_catalog  # CSV / JSONL catalogs

        return load_table_catalog(path, name)
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_"))
    if not files:
        from .table import load_table_catalog, table_in_folder  # a folder holding catalog.jsonl/.csv

        if (table := table_in_folder(path)) is not None:
            return load_table_catalog(table, name)
        raise CatalogError(f"{path}: no role files (*.yaml) found, and no catalog.jsonl or catalog.csv")
    return Catalog(name, tuple(load_role_file(f) for f in files), source=str(path))
