"""The catalog's data model: roles and their statements, validated and immutable.

Every statement becomes one vector in the index; the sections say what kind of evidence a statement
is. The files a catalog is read from are :mod:`.yaml_files` and :mod:`.table`; :mod:`.load` finds them.
:meth:`Catalog.from_roles` builds one from plain dicts, without files (notebooks, tests).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import CatalogError

SECTIONS = ("responsibilities", "skills", "background", "trajectory", "fits_if")
# Sections whose statements can be "gaps": things the role does or needs. Background and
# trajectory describe where people come from and go to, not something a résumé must cover.
GAP_SECTIONS = ("responsibilities", "skills")
# Other names people hold the role under ("RN" for a registered nurse): not statements (never indexed,
# never gaps), but labelled examples the scorer of a large catalog trains on.
ALIASES = "aliases"
ROLE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
KINDS = ("offered", "adjacent")
MAX_LEN = {"title": 200, "summary": 2000, "statement": 1000}  # characters, whatever file a catalog comes from
# An in-memory catalog's name becomes its index folder (``<index_dir>/<name>``): no separators, no "..".
CATALOG_NAME_PATTERN = r"^\w[\w.-]{0,99}$"


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

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other titles of the role (see ``ALIASES``)."""
        return tuple(self.sections.get(ALIASES, ()))

    def to_dict(self) -> dict:
        """A JSON-ready view for the roles endpoints and ``matcher roles``."""
        return {"id": self.id, "title": self.title, "kind": self.kind, "summary": self.summary,
                **{s: list(self.sections.get(s, ())) for s in SECTIONS}}


class RoleSchema(BaseModel):
    """The fields of one role as a mapping: the keys of a YAML role file, or of a dict given to
    :meth:`Catalog.from_roles`. Unknown keys are refused so typos do not vanish silently.

    The YAML loader validates each role file with it too, so a file and a dict get the same errors.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=ROLE_ID_PATTERN)
    kind: Literal["offered", "adjacent"] = "offered"  # KINDS
    title: str = Field(min_length=1, max_length=MAX_LEN["title"])
    summary: str = Field(default="", max_length=MAX_LEN["summary"])
    responsibilities: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    background: list[str] = Field(default_factory=list)
    trajectory: list[str] = Field(default_factory=list)
    fits_if: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)  # other titles of the role (ALIASES)

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

    def to_role(self) -> Role:
        """The validated fields as a :class:`Role` (every section present, empty ones as ``()``)."""
        sections = {s: tuple(getattr(self, s)) for s in (*SECTIONS, ALIASES)}
        return Role(self.id, self.title, self.summary, sections, self.kind)


def validation_message(where: str, exc: ValidationError) -> str:
    """``<where>: field 'title': <what is wrong>; field ...``: one line naming every bad field."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        parts.append(f"field '{loc}': {err['msg']}")
    return f"{where}: " + "; ".join(parts)


def _role_fields(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A role dict's fields with the ``statements`` mapping, when given, lifted to the top level
    (where a YAML role file has them)."""
    fields = dict(data)
    nested = fields.pop("statements", None)
    if nested is None:
        return fields
    if not isinstance(nested, Mapping):
        raise CatalogError(f"{where}: field 'statements': expected a mapping of section to a list of statements, "
                           f"got {type(nested).__name__}")
    unknown = [str(k) for k in nested if k not in SECTIONS]
    if unknown:
        raise CatalogError(f"{where}: field 'statements' has {', '.join(map(repr, unknown))}; "
                           f"its keys are sections: {', '.join(SECTIONS)}")
    twice = [k for k in nested if k in fields]
    if twice:
        raise CatalogError(f"{where}: {', '.join(map(repr, twice))} given both at the top level and under "
                           "'statements'; give each section once")
    return {**fields, **nested}


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

    @classmethod
    def from_roles(cls, roles: Iterable[Mapping[str, Any] | Role], *, name: str = "in-memory") -> Catalog:
        """A catalog built in memory, without files: for notebooks, experiments and tests.

        Each role is a dict with the keys of a YAML role file (``id``, ``title``, optional ``kind``,
        ``summary``, ``responsibilities``, ``skills``, ``background``, ``trajectory``, ``fits_if``,
        ``aliases``), or with the statement lists under one ``statements`` mapping instead, e.g.
        ``{"id": "ai-pm", "title": "AI product manager", "statements": {"skills": ["Prompt design"]}}``;
        or an already built :class:`Role`. Every role is validated by the rules the YAML loader uses,
        so a bad one raises the same :class:`CatalogError`, naming the role by position and id.

        Roles keep the order given (a YAML folder's is file-name order); the order is part of the
        ``hash``, which equals a YAML folder's for the same roles in the same order. ``name`` names the
        index folder, so it must be letters, digits, ``_``, ``.`` or ``-``. ``source`` is empty: an
        in-memory catalog has no folder of labelled examples or ``_catalog.yaml`` beside it.
        """
        if not isinstance(name, str) or not re.fullmatch(CATALOG_NAME_PATTERN, name):
            raise CatalogError(f"catalog name {name!r} cannot be used: it names the index folder; "
                               "use letters, digits, '_', '.' or '-' (starting with a letter or digit)")
        if isinstance(roles, (str, bytes, Mapping)):
            raise CatalogError(f"catalog {name!r}: expected a list of roles (dicts or Role objects), "
                               f"got one {type(roles).__name__}")
        built = []
        for i, item in enumerate(roles, 1):
            # A Role is checked again too: one built by hand has skipped every rule.
            data = {"id": item.id, "kind": item.kind, "title": item.title, "summary": item.summary,
                    **{k: list(v) for k, v in item.sections.items()}} if isinstance(item, Role) else item
            if not isinstance(data, Mapping):
                raise CatalogError(f"catalog {name!r}, role {i}: expected a dict with id, title and statement "
                                   f"lists, or a Role, got {type(data).__name__}")
            role_id = data.get("id")
            where = f"catalog {name!r}, role {i}" + (f" ({role_id!r})" if isinstance(role_id, str) else "")
            try:
                built.append(RoleSchema.model_validate(_role_fields(data, where)).to_role())
            except ValidationError as exc:
                raise CatalogError(validation_message(where, exc)) from None
        return cls(name, tuple(built))

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
        # Aliases count only where a role has some, so catalogs without them keep their old hash.
        payload = json.dumps([[r.id, r.kind, r.title, [(s.section, s.text) for s in r.statements()]]
                              + ([list(r.aliases)] if r.aliases else []) for r in self.all_roles],
                             ensure_ascii=False)
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
