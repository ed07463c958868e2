"""The HTTP app: a thin FastAPI layer over :class:`~matcher.core.Matcher`, plus the web page.

- The model and index load once, in a background thread started by the lifespan: ``/healthz``
  answers at once, ``/readyz`` (and every endpoint that needs the model) says 503 until loading is done.
- Encoding is CPU-bound, so matching runs in a worker thread (the event loop stays free) behind a
  one-slot limiter: one model call at a time per process (the tokenizer is not thread-safe and
  torch already uses every core given to the worker); scale out with ``--workers``.
- Every error is ``{"error": {"code": ..., "message": ...}}`` (:mod:`.errors`); the guard
  (:mod:`.guard`) bounds bodies, logs each request and turns the unexpected into a 500.
- Privacy: request bodies and uploads stay in memory (no temporary files, no spooling), and the
  access log carries method, path, status, latency and byte counts only, never text or file names.

Run it with ``matcher serve``; ``create_app`` is also the import-string factory for several workers
(``uvicorn --factory matcher.serve.app:create_app``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from ..core import Matcher
from ..embed import Embedder
from ..errors import MatcherError
from ..settings import Settings
from ..version import __version__
from .errors import install_error_handlers
from .guard import GuardMiddleware
from .logs import log
from .registry import Registry
from .routes import catalogs, match, service


def create_app(settings: Settings | None = None, *, matcher: Matcher | None = None, embedder: Embedder | None = None,
               catalog: str | Path | None = None, registry: Registry | None = None) -> FastAPI:
    """The FastAPI app. With ``matcher`` (one catalog) or ``registry`` (several) it is ready at once
    (tests); otherwise the lifespan loads every served catalog (``Registry.load``: ``MATCHER_CATALOGS``,
    or every catalog under the corpus folder) in a background thread, sharing one model.

    With no arguments (``uvicorn --factory matcher.serve.app:create_app``) settings come from
    ``MATCHER_*``; with only a ``matcher``, from that matcher (whose settings also bound the text length).
    """
    if registry is None and matcher is not None:
        registry = Registry.single(matcher)
    settings = settings or (registry.settings if registry is not None else Settings.from_env())
    if catalog is not None:
        settings = replace(settings, catalog=str(catalog), catalogs=(str(catalog),))
    # Swagger UI and ReDoc served from the package's own copies (fastapi-offline), not a CDN: /docs
    # works on a machine without internet, as the rest of the service does.
    app = FastAPIOffline(
        title="role-matcher",
        version=__version__,
        summary="Paste or upload a résumé; see which role fits and why.",
        description="Ranked roles with calibrated scores, the résumé passages that support each role (paired "
                    "with the role statement they match), gaps, and an honest *no good fit*. Every error is "
                    '`{"error": {"code": ..., "message": ...}}`. Résumé text is never logged or stored.',
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.embedder = embedder  # the model to load with (None: the one the settings name)
    app.state.registry = registry  # None until the catalogs are loaded
    app.state.loader = None
    app.state.load_error = None
    app.state.limiter = None  # one model call at a time (set up by the lifespan)
    app.state.extract_limiter = None  # a few PDF/DOCX extractions at a time
    app.state.in_flight = 0  # match requests running or waiting for the model (event-loop only: no lock)
    app.state.admin_failures = {}  # client host -> times of recent wrong admin keys
    app.add_middleware(GuardMiddleware, settings=settings)
    install_error_handlers(app)
    for routes in (match, catalogs, service):
        app.include_router(routes.router)
    app.mount("/static", StaticFiles(directory=service.STATIC_DIR), name="static")
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.limiter = anyio.CapacityLimiter(1)
    app.state.extract_limiter = anyio.CapacityLimiter(app.state.settings.max_extractions)
    if app.state.registry is None and app.state.loader is None:
        app.state.loader = threading.Thread(target=_load, args=(app,), name="matcher-load", daemon=True)
        app.state.loader.start()
    yield


def _load(app: FastAPI) -> None:
    """Load every served catalog and warm the model up; a failure is kept for /healthz to report."""
    began = time.perf_counter()
    try:
        reg = Registry.load(app.state.settings, embedder=app.state.embedder)
        reg.embedder.embed(["warm-up"])  # the first call pays one-off initialisation costs
    except MatcherError as exc:
        app.state.load_error = exc.message
        log.error("could not load the model and index: %s", exc.message)
        return
    except Exception as exc:
        app.state.load_error = f"unexpected {type(exc).__name__} while loading; see the server log"
        log.exception("could not load the model and index")
        return
    app.state.registry = reg
    log.info("ready: catalogs %s (default %r), model %s, in %.1f s", ", ".join(reg.names), reg.default,
             reg.embedder.name, time.perf_counter() - began)
