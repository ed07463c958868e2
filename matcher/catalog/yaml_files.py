"""Catalogs as a folder of YAML files: one ``<role-id>.yaml`` per role (see ``corpus/default/``).

Files whose names start with ``_`` are not roles: ``_catalog.yaml`` holds the catalog's own title
and attribution (:func:`~matcher.catalog.load.catalog_metadata`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import CatalogError
from .model import ALIASES, MAX_LEN, ROLE_ID_PATTERN, SECTIONS, Catalog, Role

ROLE_SUFFIXES = (".yaml", ".yml")
METADATA_FILE = "_catalog.yaml"


def role_files(folder: Path) -> list[Path]:
    """The role files of a catalog folder, in name order: ``*.yaml``/``*.yml`` not starting with ``_``."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix in ROLE_SUFFIXES and not p.name.startswith("_"))


class RoleFile(BaseModel):
    """The schema of one role file; unknown keys are refused so typos do not vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ROLE_ID_PATTERN)
    kind: Literal["offered", "adjacent"] = "offered"  # model.KINDS
    title: str = Field(min_length=1, max_length=MAX_LEN["title"])
    summary: str = Field(default="", max_length=MAX_LEN["summary"])
    responsibilities: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    background: list[str] = Field(default_factory=list)
    trajectory: list[str] = Field(default_factory=list)
    fits_if: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)  # other titles of the role (model.ALIASES)

    @field_validator(*SECTIONS, ALIASES)
    @classmethod
    def _non_empty_statements(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip() for s in value]
        for i, s in enumerate(cleaned):
            if not s:
                raise ValueError(f"statement {i + 1} is empty")
            if len(s) > MAX_LEN["statement"]:
                raise ValueError(f"statement {i + 1} is over {MAX_LEN['statement']} characters")
        return cleaned


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
    sections = {s: tuple(getattr(parsed, s)) for s in (*SECTIONS, ALIASES)}
    return Role(parsed.id, parsed.title, parsed.summary, sections, parsed.kind)


def load_yaml_folder(path: Path, name: str) -> Catalog:
    """A catalog from a folder of role files (see :func:`role_files`)."""
    return Catalog(name, tuple(load_role_file(f) for f in role_files(path)), source=str(path))
