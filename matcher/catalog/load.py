"""Where catalogs live, and the one place that knows it.

A catalog is a folder of YAML role files, a folder holding ``catalog.jsonl`` or ``catalog.csv``, or one
``.csv``/``.jsonl``/``.ndjson`` file. :func:`load_catalog` reads one, :func:`resolve_catalog` finds one
by name in the corpus folder (or takes a path), :func:`discover_catalogs` lists every one there, and
:func:`catalog_metadata` says what a catalog says about itself.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import CatalogError
from ..settings import PACKAGED_CORPUS, Settings
from .model import Catalog
from .table import SUFFIXES, load_table_catalog, read_metadata, table_format, table_in_folder
from .yaml_files import METADATA_FILE, load_yaml_folder, role_files


def load_catalog(path: Path, name: str | None = None) -> Catalog:
    """Load a catalog from a folder of ``*.yaml`` role files, a folder holding ``catalog.jsonl`` or
    ``catalog.csv``, or one CSV/JSONL file; ``name`` defaults to the folder's name or the file's stem."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog not found at {path}; create it, or set MATCHER_CORPUS_DIR / --catalog")
    name = name or (path.name if path.is_dir() else path.stem)
    if path.is_file():
        return load_table_catalog(path, name)
    if role_files(path):
        return load_yaml_folder(path, name)
    if (table := table_in_folder(path)) is not None:
        return load_table_catalog(table, name)
    raise CatalogError(f"{path}: no role files (*.yaml) found, and no catalog.jsonl or catalog.csv")


def is_catalog(path: Path) -> bool:
    """Whether ``load_catalog`` would find a catalog at ``path`` (without reading it)."""
    if path.is_dir():
        return bool(role_files(path)) or table_in_folder(path) is not None
    return path.is_file() and table_format(path) is not None


def resolve_catalog(settings: Settings, catalog: str | Path | None) -> Catalog:
    """A catalog by name (a folder or a catalog file under ``corpus_dir``, then among the catalogs the
    package carries) or by path; ``None`` is the settings' default catalog."""
    name = str(catalog or settings.catalog)
    if "/" not in name and "\\" not in name:  # a bare name: look in the corpus folder first
        for folder in (settings.corpus_dir, PACKAGED_CORPUS):
            for candidate in (folder / name, *(folder / f"{name}{s}" for s in SUFFIXES)):
                if candidate.exists():
                    return load_catalog(candidate)
    return load_catalog(Path(name))


def discover_catalogs(corpus_dir: Path) -> list[str]:
    """The names of the catalogs under ``corpus_dir`` (hidden and ``_`` names skipped), in name order."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    return [p.name if p.is_dir() else p.stem for p in sorted(corpus_dir.iterdir())
            if not p.name.startswith((".", "_")) and is_catalog(p)]


def catalog_metadata(source: str | Path) -> dict:
    """Title, licence, attribution...: a JSONL catalog's metadata line, merged over a YAML folder's
    ``_catalog.yaml``; ``{}`` when the catalog says nothing about itself."""
    path = Path(source)
    metadata = read_metadata(path)
    if path.is_dir() and (path / METADATA_FILE).is_file():
        try:
            extra = yaml.safe_load((path / METADATA_FILE).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path / METADATA_FILE}: invalid YAML ({exc})") from None
        if not isinstance(extra, dict):
            raise CatalogError(f"{path / METADATA_FILE}: expected a mapping (title, attribution, ...)")
        metadata = {**extra, **metadata}
    return metadata
