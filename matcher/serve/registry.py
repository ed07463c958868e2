"""Several catalogs served side by side, each with its own index, sharing one model.

A :class:`Registry` maps catalog names to loaded :class:`~matcher.core.Matcher` objects. A
request takes the matcher it needs once, at its start, and uses only that object, so a reload that
swaps in a new one is atomic for it: it is answered wholly from the old index or wholly from the
new one, never a mix. A reload rebuilds the index in a background thread from the catalog files;
if that fails, the old matcher keeps serving and the failure is kept for ``status()`` to report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..catalog import catalog_metadata, discover_catalogs, resolve_catalog
from ..core import Matcher
from ..embed import Embedder, make_embedder
from ..errors import MatcherError, UnknownCatalog
from ..files import utc_timestamp
from ..index import build_index
from ..settings import Settings
from .metrics import MODEL_SECONDS, RELOADS, timed

log = logging.getLogger("matcher")
EMBED_CHUNK = 256  # texts per model call while rebuilding, so matches can interleave


class SharedEmbedder:
    """One model for every catalog, one call at a time.

    The tokenizers behind the models are not safe to call from two threads at once, and a reload
    embeds thousands of statements while requests are being matched: each call takes the lock, and
    long calls are cut into chunks so a rebuild never holds the model for long.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The inner model's vectors, one call (or chunk) at a time."""
        if len(texts) <= EMBED_CHUNK:
            with self._lock, timed(MODEL_SECONDS):
                return self.inner.embed(texts)
        parts = []
        for i in range(0, len(texts), EMBED_CHUNK):
            with self._lock, timed(MODEL_SECONDS):
                parts.append(self.inner.embed(texts[i:i + EMBED_CHUNK]))
        return np.concatenate(parts)


@dataclass(frozen=True)
class ReloadStatus:
    """Where a catalog's last reload stands (what ``GET /v1/catalogs/{name}`` shows under ``reload``)."""
    state: str  # "idle", "running", "done" or "failed"
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    hash: str | None = None


def _read_catalog_metadata(source: str) -> dict:
    """Title/attribution of a catalog (see :func:`~matcher.catalog.catalog_metadata`); ``{}`` when its
    files cannot say: a listing never fails on them."""
    try:
        return catalog_metadata(source) if source else {}
    except (MatcherError, OSError, ValueError):
        return {}


class Registry:
    """Loaded catalogs by name, with atomic swap-in reloads."""

    def __init__(self, settings: Settings, embedder: Embedder, matchers: dict[str, Matcher], default: str) -> None:
        self.settings = settings
        self.embedder = embedder
        self._matchers = dict(matchers)
        self.default = default
        self._reloads: dict[str, ReloadStatus] = {}
        self._metadata: dict[tuple[str, str], dict] = {}  # (name, catalog hash) → title/attribution
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None, names: Sequence[str] | None = None) -> Registry:
        """Load every catalog the settings name (``MATCHER_CATALOGS``), or every one under
        ``corpus_dir``; the default catalog (``MATCHER_CATALOG``) is always among them."""
        shared = SharedEmbedder(embedder or make_embedder(settings))
        first = Matcher.load(settings, catalog=settings.catalog, embedder=shared)
        matchers = {first.catalog.name: first}
        for name in names or settings.catalogs or discover_catalogs(settings.corpus_dir):
            if name in matchers or Path(name).name in matchers:
                continue
            m = Matcher.load(settings, catalog=name, embedder=shared)
            matchers[m.catalog.name] = m
        return cls(settings, shared, matchers, first.catalog.name)

    @classmethod
    def single(cls, matcher: Matcher) -> Registry:
        """A registry of one already-loaded matcher (tests, embedding the app elsewhere)."""
        return cls(matcher.settings, matcher.embedder, {matcher.catalog.name: matcher}, matcher.catalog.name)

    @property
    def names(self) -> list[str]:
        """The served catalogs' names, the default first."""
        return list(self._matchers)

    def get(self, name: str | None = None) -> Matcher:
        """The current matcher for ``name`` (the default catalog when ``None``)."""
        m = self._matchers.get(name or self.default)
        if m is None:
            raise UnknownCatalog(f"no catalog {name!r} is served here; served catalogs: {', '.join(self.names)}")
        return m

    def status(self, name: str) -> ReloadStatus:
        """The last reload of ``name`` (``idle`` if none)."""
        self.get(name)
        return self._reloads.get(name, ReloadStatus("idle"))

    def describe(self, name: str) -> dict:
        """What ``GET /v1/catalogs`` lists for one catalog."""
        m = self.get(name)
        key = (name, m.catalog.hash)
        if key not in self._metadata:  # read from disk once per catalog version, not per request
            self._metadata[key] = _read_catalog_metadata(m.catalog.source)
        metadata = self._metadata[key]
        status = self.status(name)
        return {"name": name, "default": name == self.default, "hash": m.catalog.hash,
                "roles": len(m.catalog.roles), "statements": m.index.manifest.get("statements"),
                "index_type": m.index.manifest.get("index_type"), "built_at": m.index.manifest.get("built_at"),
                "title": metadata.get("title", name), "attribution": metadata.get("attribution"),
                "reload": status.__dict__}

    def reload(self, name: str, *, wait: bool = False) -> ReloadStatus:
        """Rebuild ``name``'s index from its catalog files in the background and swap it in.

        Returns at once (or when done, with ``wait``). A second reload while one runs is refused
        with the running status, so two rebuilds never race on the same index folder.
        """
        current = self.get(name)
        with self._lock:
            if self._reloads.get(name, ReloadStatus("idle")).state == "running":
                return self._reloads[name]
            self._reloads[name] = ReloadStatus("running", started_at=utc_timestamp())
        source = current.catalog.source or name
        thread = threading.Thread(target=self._rebuild, args=(name, source), name=f"reload-{name}", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return self._reloads[name]

    def _rebuild(self, name: str, source: str) -> None:
        started = self._reloads[name].started_at
        try:
            catalog = resolve_catalog(self.settings, source)
            catalog = replace(catalog, name=name) if catalog.name != name else catalog
            built = build_index(catalog, self.embedder, self.settings.index_dir, self.settings.backend)
            fresh = Matcher(built, self.embedder, self.settings, self._matchers[name].scoring)
        except Exception as exc:  # any failure leaves the old matcher serving; say why
            message = exc.message if isinstance(exc, MatcherError) else f"{type(exc).__name__}: {exc}"
            log.error("reload of catalog %r failed, still serving the previous index: %s", name, message)
            self._reloads[name] = ReloadStatus("failed", started, utc_timestamp(), message)
            RELOADS.labels(name, "failed").inc()
            return
        self._matchers[name] = fresh  # one reference assignment: the swap is atomic for readers
        log.warning("reloaded catalog %r: %d roles, hash %s", name, len(catalog.roles), catalog.hash)
        self._reloads[name] = ReloadStatus("done", started, utc_timestamp(), None, catalog.hash)
        RELOADS.labels(name, "done").inc()
