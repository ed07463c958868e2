"""Catalogs: roles and their statements, from YAML folders, CSV/JSONL files or the O*NET database."""

from .model import GAP_SECTIONS, ROLE_ID_PATTERN, SECTIONS, Catalog, Role, Statement, load_catalog, load_role_file

__all__ = ["GAP_SECTIONS", "ROLE_ID_PATTERN", "SECTIONS", "Catalog", "Role", "Statement", "load_catalog",
           "load_role_file"]
