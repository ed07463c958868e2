"""The built index: statement vectors in FAISS, the statements beside them, and a manifest.

Layout of ``<index_dir>/<catalog>/``::

    manifest.json               # model, dimension, corpus hash, build time, version, file names,
                                # SHA-256 of each file, and a checksum of the manifest itself
    vectors-<id>.faiss          # FAISS inner-product index over unit vectors (= cosine)
    statements-<id>.jsonl       # one {"role_id", "section", "text"} per row, in index order

The manifest is written last, by atomic rename, and names the files it belongs to: a build that
dies half-way leaves the previous manifest (and so the previous index) intact. Every file's
checksum is verified on load (SHA-256, about 1.4 ms per MB), so a damaged file is treated like a stale index
(rebuilt, or refused with the command to run) instead of being used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .catalog import Catalog, Statement
from .embed import Embedder
from .errors import BuiltIndexError
from .files import atomic_write, utc_timestamp
from .version import __version__

log = logging.getLogger("matcher")

FORMAT_VERSION = 2  # 2: per-file SHA-256 and a manifest checksum
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_checksum(manifest: dict) -> str:
    """The checksum of every manifest field but itself (canonical JSON), so a flipped bit in the
    manifest is caught too."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return _sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode("ascii"))


class DamagedIndex(BuiltIndexError):
    """A file of a built index does not match its manifest (or cannot be read): rebuild it."""


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
    # Each distinct text is embedded once: a large catalog repeats many (O*NET lists "Spreadsheet
    # software: Microsoft Excel" under 684 occupations; a quarter of its 48,584 statements are repeats).
    texts = list(dict.fromkeys(s.text for s in statements))
    unique = embedder.embed(texts)
    if unique.shape != (len(texts), embedder.dimension):
        raise BuiltIndexError(f"embedder returned shape {unique.shape}, expected "
                              f"({len(texts)}, {embedder.dimension})")
    row = {t: i for i, t in enumerate(texts)}
    vectors = np.ascontiguousarray(unique[[row[s.text] for s in statements]], dtype=np.float32)
    index, kind = _make_faiss(vectors)
    out = index_dir_for(index_root, catalog.name, backend)
    out.mkdir(parents=True, exist_ok=True)
    build_id = uuid.uuid4().hex[:12]
    vec_name, rows_name = f"vectors-{build_id}.faiss", f"statements-{build_id}.jsonl"
    vec_bytes = faiss.serialize_index(index).tobytes()
    rows_bytes = "".join(json.dumps({"role_id": s.role_id, "section": s.section, "text": s.text},
                                    ensure_ascii=False) + "\n" for s in statements).encode("utf-8")
    atomic_write(out / vec_name, vec_bytes)
    atomic_write(out / rows_name, rows_bytes)
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
        "built_at": utc_timestamp(),
        "build_seconds": round(time.time() - started, 2),
        "files": {"vectors": vec_name, "statements": rows_name},
        "sha256": {vec_name: _sha256(vec_bytes), rows_name: _sha256(rows_bytes)},
    }
    manifest["checksum"] = _manifest_checksum(manifest)
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
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
    hint = f"rebuild it with `matcher index build --catalog {catalog_name}`"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedIndex(f"{path} is corrupt ({type(exc).__name__}); {hint}") from None
    if manifest.get("format_version") == FORMAT_VERSION and manifest.get("checksum") != _manifest_checksum(manifest):
        raise DamagedIndex(f"{path} is corrupt (its checksum does not match its content); {hint}")
    return manifest


def load_index(catalog: Catalog, embedder: Embedder, index_root: Path, *, backend: str = "torch",
               auto_rebuild: bool = True) -> BuiltIndex:
    """Load the index for ``catalog``, checking its manifest against the catalog, model and files.

    A missing, stale (the catalog changed, another backend or format built it) or damaged index
    (a file whose checksum does not match, or that cannot be read) is rebuilt when ``auto_rebuild``
    is true, with a note on stderr, and refused otherwise. An index built for another model is
    refused with a message saying how to rebuild: it is never used silently.
    """
    rebuild_hint = f"rebuild it with `matcher index build --catalog {catalog.name}`"
    folder = index_dir_for(index_root, catalog.name, backend)

    def rebuild_or_refuse(reason: str) -> BuiltIndex:
        if not auto_rebuild:
            raise BuiltIndexError(f"index for {catalog.name!r} in {folder} is {reason}; {rebuild_hint}")
        log.warning("index for catalog %r is %s: rebuilding it in %s", catalog.name, reason, folder)
        return build_index(catalog, embedder, index_root, backend)

    try:
        manifest = read_manifest(index_root, catalog.name, backend)
    except DamagedIndex as exc:
        return rebuild_or_refuse(f"damaged ({exc.message.split('; ')[0]})")
    if manifest is None:
        return rebuild_or_refuse("missing")
    if manifest.get("model") != embedder.name or manifest.get("dimension") != embedder.dimension:
        raise BuiltIndexError(
            f"{folder} was built with model {manifest.get('model')!r} ({manifest.get('dimension')} dims) "
            f"but the matcher is set to {embedder.name!r} ({embedder.dimension} dims); {rebuild_hint}, "
            "or set MATCHER_MODEL back")
    stale = []
    if manifest.get("format_version") != FORMAT_VERSION:
        stale.append(f"it has index format {manifest.get('format_version')}, this version reads {FORMAT_VERSION}")
    if manifest.get("corpus_hash") != catalog.hash:
        stale.append("the catalog changed since it was built")
    if manifest.get("backend", "torch") != backend:
        stale.append(f"it was built with backend {manifest.get('backend')!r}, not {backend!r}")
    if stale:
        return rebuild_or_refuse(f"stale ({'; '.join(stale)})")
    try:
        return _read_built(catalog, folder, manifest, embedder.dimension)
    except DamagedIndex as exc:
        return rebuild_or_refuse(f"damaged ({exc.message})")


def _read_built(catalog: Catalog, folder: Path, manifest: dict, dimension: int) -> BuiltIndex:
    """Read and verify the files a manifest names; raise :class:`DamagedIndex` on any mismatch."""
    try:
        files = manifest["files"]
        raw = {role: (folder / files[role]).read_bytes() for role in ("vectors", "statements")}
        for role, data in raw.items():
            if _sha256(data) != manifest["sha256"][files[role]]:
                raise DamagedIndex(f"{files[role]} does not match the checksum in its manifest")
        index = faiss.deserialize_index(np.frombuffer(raw["vectors"], dtype=np.uint8))
        rows = [json.loads(line) for line in raw["statements"].decode("utf-8").splitlines()]
        statements = tuple(Statement(r["role_id"], r["section"], r["text"]) for r in rows)
    except DamagedIndex:
        raise
    except (KeyError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise DamagedIndex(f"corrupt or incomplete ({type(exc).__name__})") from None
    if index.ntotal != len(statements) or len(statements) != manifest.get("statements") \
            or statements != tuple(catalog.statements):
        raise DamagedIndex(f"its files do not agree with its manifest ({index.ntotal} vectors, "
                           f"{len(statements)} statements)")
    vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, dimension))
    vectors = np.asarray(vectors, dtype=np.float32)
    if not np.isfinite(vectors).all():  # belt and braces: a checksum collision cannot smuggle NaN in
        raise DamagedIndex("its vectors hold NaN or infinite values")
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return BuiltIndex(catalog, statements, vectors, index, manifest)
