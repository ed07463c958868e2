"""Catalogs as a folder of YAML files: one ``<role-id>.yaml`` per role (see ``corpus/default/``).

Files whose names start with ``_`` are not roles: ``_catalog.yaml`` holds the catalog's own title
and attribution (:func:`~matcher.catalog.load.catalog_metadata`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import CatalogError
from .model import Catalog, Role, RoleSchema, validation_message

ROLE_SUFFIXES = (".yaml", ".yml")
METADATA_FILE = "_catalog.yaml"


def role_files(folder: Path) -> list[Path]:
    """The role files of a catalog folder, in name order: ``*.yaml``/``*.yml`` not starting with ``_``."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix in ROLE_SUFFIXES and not p.name.startswith("_"))


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
        parsed = RoleSchema.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(validation_message(str(path), exc)) from None
    if parsed.id != path.stem:
        raise CatalogError(f"{path}: field 'id' is {parsed.id!r} but the file is named {path.name}; "
                           f"name the file {parsed.id}.yaml")
    return parsed.to_role()


def load_yaml_folder(path: Path, name: str) -> Catalog:
    """A catalog from a folder of role files (see :func:`role_files`)."""
    return Catalog(name, tuple(load_role_file(f) for f in role_files(path)), source=str(path))
