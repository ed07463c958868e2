"""The catalog's data model: roles and their statements, validated and immutable.

Every statement becomes one vector in the index; the sections say what kind of evidence a statement
is. The files a catalog is read from are :mod:`.yaml_files` and :mod:`.table`; :mod:`.load` finds them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

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
