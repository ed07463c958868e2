"""Catalogs: roles and their statements, from YAML folders, CSV/JSONL files or the O*NET database.

``model`` is the data (roles, statements, the catalog), ``yaml_files`` and ``table`` read the two kinds
of source, ``load`` knows where catalogs live, and ``onet`` imports the O*NET database.
"""

from .load import catalog_metadata, discover_catalogs, is_catalog, load_catalog, resolve_catalog
from .model import GAP_SECTIONS, ROLE_ID_PATTERN, SECTIONS, Catalog, Role, Statement
from .table import read_metadata, write_jsonl_catalog
from .yaml_files import load_role_file

__all__ = ["GAP_SECTIONS", "ROLE_ID_PATTERN", "SECTIONS", "Catalog", "Role", "Statement", "catalog_metadata",
           "discover_catalogs", "is_catalog", "load_catalog", "load_role_file", "read_metadata", "resolve_catalog",
           "write_jsonl_catalog"]
