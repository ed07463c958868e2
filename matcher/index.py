"""The built index: statement vectors in FAISS, the statements beside them, and a manifest.

Layout of ``<index_dir>/<catalog>/``::

    manifest.json               # model, dimension, corpus hash, build time, version, file names
    vectors-<id>.faiss          # FAISS inner-product index over unit vectors (= cosine)
    statements-<id>.jsonl       # one {"role_id", "section", "text"} per row, in index order

The manifest is written last, by atomic rename, and names the files it belongs to: a build that
dies half-way leaves the previous manifest (and so the previous index) intact.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from . import __version__
from .catalog import Catalog, Statement
from .embed import Embedder
from .errors import IndexError_

log = logging.getLogger("matcher")

FORMAT_VERSION = 1
# Exact search stays cheap (a few ms per query) up to tens of thousands of statements on 2 cores;
# past that an HNSW graph keeps latency flat. Recall of HNSW is measured in scripts/bench_onet.py.
EXACT_SEARCH_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_SEARCH = 128

# FAISS switches to its BLAS path only for >= 128,000 query x vector pairs by default; a résumé's
# 40 passages against a large catalog are far cheaper on the BLAS path (identical results).
faiss.cvar.distance_compute_blas_threshold = 20


@dataclass(frozen=True)
class BuiltIndex:
    """A loaded index: the FAISS object, the statement rows and the manifest that describes them."""

    catalog: Catalog
    statements: tuple[Statement, ...]
    vectors: np.ndarray  # (n, dim) float32, unit rows, same order as ``statements``
    faiss_index: faiss.Index
    manifest: dict


def index_dir_for(index_root: Path, catalog_name: str, backend: str = "torch") -> Path:
    """``<root>/<catalog>`` for the torch reference backend, ``<root>/<catalog>.<backend>`` for the
    others, so switching backends does not rebuild one shared index back and forth."""
    return Path(index_root) / (catalog_name if backend == "torch" else f"{catalog_name}.{backend}")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_faiss(vectors: np.ndarray) -> tuple[faiss.Index, str]:
    n, dim = vectors.shape
    if n <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(dim)
        kind = "flat-ip"
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
        kind = f"hnsw-ip(M={HNSW_M},efSearch={HNSW_EF_SEARCH})"
    index.add(vectors)
    return index, kind


def build_index(catalog: Catalog, embedder: Embedder, index_root: Path, backend: str = "torch") -> BuiltIndex:
    """Embed every statement of ``catalog`` and write the index atomically under ``index_root``."""
    started = time.time()
    statements = tuple(catalog.statements)
    vectors = embedder.embed([s.text for s in statements])
    if vectors.shape != (len(statements), embedder.dimension):
        raise IndexError_(f"embedder returned shape {vectors.shape}, expected "
                          f"({len(statements)}, {embedder.dimension})")
    index, kind = _make_faiss(vectors)
    out = index_dir_for(index_root, catalog.name, backend)
    out.mkdir(parents=True, exist_ok=True)
    build_id = uuid.uuid4().hex[:12]
    vec_name, rows_name = f"vectors-{build_id}.faiss", f"statements-{build_id}.jsonl"
    _atomic_write(out / vec_name, faiss.serialize_index(index).tobytes())
    rows = "".join(json.dumps({"role_id": s.role_id, "section": s.section, "text": s.text},
                              ensure_ascii=False) + "\n" for s in statements)
    _atomic_write(out / rows_name, rows.encode("utf-8"))
    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "catalog": catalog.name,
        "corpus_hash": catalog.hash,
        "model": embedder.name,
        "backend": backend,
        # Where a converted/quantised model lives (non-torch backends); None for the torch path.
        "export": str(getattr(embedder, "folder", "")) or None,
        "dimension": embedder.dimension,
        "index_type": kind,
        "roles": len(catalog.roles),
        "statements": len(statements),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.time() - started, 2),
        "files": {"vectors": vec_name, "statements": rows_name},
    }
    _atomic_write(out / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    _remove_old_builds(out, keep={vec_name, rows_name})
    return BuiltIndex(catalog, statements, vectors, index, manifest)


def _remove_old_builds(folder: Path, keep: set[str]) -> None:
    for p in folder.iterdir():
        if p.name.startswith(("vectors-", "statements-")) and p.name not in keep:
            p.unlink(missing_ok=True)


def read_manifest(index_root: Path, catalog_name: str, backend: str = "torch") -> dict | None:
    """The manifest of a built index, ``None`` when there is none; corrupt ones raise."""
    path = index_dir_for(index_root, catalog_name, backend) / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexError_(f"{path} is corrupt ({exc}); rebuild it with "
                          f"`matcher index build --catalog {catalog_name}`") from None
    return manifest


def load_index(catalog: Catalog, embedder: Embedder, index_root: Path, *, backend: str = "torch",
               auto_rebuild: bool = True) -> BuiltIndex:
    """Load the index for ``catalog``, checking its manifest against the catalog and model.

    A missing or stale index (the catalog changed, or another backend built it) is rebuilt when
    ``auto_rebuild`` is true, with a note on stderr. An index built for another model, or a corrupt
    one, is refused with a message saying how to rebuild: it is never used silently.
    """
    rebuild_hint = f"rebuild it with `matcher index build --catalog {catalog.name}`"
    folder = index_dir_for(index_root, catalog.name, backend)
    manifest = read_manifest(index_root, catalog.name, backend)
    if manifest is None:
        if not auto_rebuild:
            raise IndexError_(f"no index for catalog {catalog.name!r} in {folder}; {rebuild_hint}")
        log.warning("no index for catalog %r yet: building it in %s", catalog.name, folder)
        return build_index(catalog, embedder, index_root, backend)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"{folder} has index format {manifest.get('format_version')}, this version "
                          f"reads {FORMAT_VERSION}; {rebuild_hint}")
    if manifest.get("model") != embedder.name or manifest.get("dimension") != embedder.dimension:
        raise IndexError_(
            f"{folder} was built with model {manifest.get('model')!r} ({manifest.get('dimension')} dims) "
            f"but the matcher is set to {embedder.name!r} ({embedder.dimension} dims); {rebuild_hint}, "
            "or set MATCHER_MODEL back")
    stale = []
    if manifest.get("corpus_hash") != catalog.hash:
        stale.append("the catalog changed since it was built")
    if manifest.get("backend", "torch") != backend:
        stale.append(f"it was built with backend {manifest.get('backend')!r}, not {backend!r}")
    if stale:
        if not auto_rebuild:
            raise IndexError_(f"index for {catalog.name!r} is stale ({'; '.join(stale)}); {rebuild_hint}")
        log.warning("index for catalog %r is stale (%s): rebuilding", catalog.name, "; ".join(stale))
        return build_index(catalog, embedder, index_root, backend)
    try:
        files = manifest["files"]
        index = faiss.deserialize_index(np.frombuffer((folder / files["vectors"]).read_bytes(), dtype=np.uint8))
        rows = [json.loads(line) for line in
                (folder / files["statements"]).read_text(encoding="utf-8").splitlines()]
        statements = tuple(Statement(r["role_id"], r["section"], r["text"]) for r in rows)
    except (KeyError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise IndexError_(f"index in {folder} is corrupt or incomplete ({type(exc).__name__}: {exc}); "
                          f"{rebuild_hint}") from None
    if index.ntotal != len(statements) or len(statements) != manifest.get("statements") \
            or statements != tuple(catalog.statements):
        raise IndexError_(f"index in {folder} does not agree with its manifest "
                          f"({index.ntotal} vectors, {len(statements)} statements); {rebuild_hint}")
    vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, embedder.dimension))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return BuiltIndex(catalog, statements, np.asarray(vectors, dtype=np.float32), index, manifest)
