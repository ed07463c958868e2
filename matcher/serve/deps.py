"""What the routes depend on: the loaded catalogs, a place in the queue for the CPU, the admin key.

The app's state (set up by ``app.create_app``): ``settings``, ``registry`` (``None`` while loading),
``load_error``, the two limiters, ``in_flight`` and ``admin_failures``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request

from ..core import Matcher
from ..errors import MatcherError
from ..extract import extract_text
from ..result import MatchResult
from ..settings import Settings
from .errors import ApiError
from .metrics import BUSY, EXTRACTION_FAILURES, MATCH_SECONDS, QUEUE, timed
from .registry import Registry

ADMIN_FAILURES, ADMIN_WINDOW = 5, 60.0  # wrong admin keys allowed per client address per window (seconds)


def registry_of(app: FastAPI) -> Registry:
    """The loaded catalogs, or a 503 saying whether they are still loading or failed to load."""
    reg = app.state.registry
    if reg is not None:
        return reg
    if app.state.load_error:
        raise ApiError(503, "load_failed", f"the model and index failed to load: {app.state.load_error}")
    raise ApiError(503, "not_ready", "the model and index are still loading; retry in a few seconds",
                   {"Retry-After": "2"})


async def app_settings(request: Request) -> Settings:
    """The app's settings (its limits)."""
    return request.app.state.settings


async def ready_registry(request: Request) -> Registry:
    """Every served catalog, or a 503 while they load."""
    return registry_of(request.app)


async def ready_matcher(request: Request, catalog: str | None = None) -> Matcher:
    """The matcher of ``catalog`` (default catalog when None), taken once per request: a reload
    swapping in a new index cannot change it half-way through the request."""
    return registry_of(request.app).get(catalog)


AppSettings = Annotated[Settings, Depends(app_settings)]
ReadyRegistry = Annotated[Registry, Depends(ready_registry)]
ReadyMatcher = Annotated[Matcher, Depends(ready_matcher)]


@asynccontextmanager
async def admitted(request: Request) -> AsyncIterator[None]:
    """One request's place in the queue for the CPU (extraction and the model alike).

    Back-pressure: past this many requests queued, a client waits longer than it would take to
    retry; say so at once instead of letting latency grow without bound. (Counted here: the
    limiters' own statistics only see tasks once they reach their lock.)"""
    state, max_queue = request.app.state, request.app.state.settings.max_queue
    if state.in_flight >= max_queue + 1:  # one running, max_queue waiting
        BUSY.inc()
        raise ApiError(503, "busy", f"the server is busy ({max_queue} requests already waiting); "
                       "retry in a moment", {"Retry-After": "1"})
    state.in_flight += 1
    QUEUE.inc()
    try:
        yield
    finally:
        state.in_flight -= 1
        QUEUE.dec()


def _limiters(app: FastAPI) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
    if app.state.limiter is None:  # no lifespan ran (an app driven without startup, as in some tests)
        app.state.limiter = anyio.CapacityLimiter(1)
        app.state.extract_limiter = anyio.CapacityLimiter(app.state.settings.max_extractions)
    return app.state.limiter, app.state.extract_limiter


async def run_match(request: Request, m: Matcher, text: str, top_k: int | None) -> MatchResult:
    """``m.match`` in a worker thread, one model call at a time per process."""
    # Bad input (lone surrogates included) is refused by the core's check_text inside m.match.
    return await anyio.to_thread.run_sync(_timed_match, m, text, top_k, limiter=_limiters(request.app)[0])


async def run_match_many(request: Request, m: Matcher, texts: list[str],
                         top_k: int | None) -> list[MatchResult | MatcherError]:
    """``m.match_many`` (one model call across the texts) in a worker thread; a text that cannot be
    matched comes back as its error, in its slot."""
    return await anyio.to_thread.run_sync(_timed_match_many, m, texts, top_k, limiter=_limiters(request.app)[0])


def _timed_match(m: Matcher, text: str, top_k: int | None) -> MatchResult:
    with timed(MATCH_SECONDS, endpoint="single"):  # timed in the thread: queueing is not matching
        return m.match(text, top_k)


def _timed_match_many(m: Matcher, texts: list[str], top_k: int | None) -> list[MatchResult | MatcherError]:
    with timed(MATCH_SECONDS, endpoint="batch"):
        return m.match_many(texts, top_k)


async def run_extract(request: Request, content: bytes, filename: str) -> str:
    """Text out of an uploaded file, in a worker thread."""
    # pypdf / python-docx are CPU work too: off the event loop, and only a few at once, so a
    # burst of heavy uploads cannot take every core and all the memory from text requests.
    try:
        return await anyio.to_thread.run_sync(extract_text, content, filename, limiter=_limiters(request.app)[1])
    except MatcherError as exc:
        EXTRACTION_FAILURES.labels(exc.code).inc()  # codes are a fixed set: a bounded label
        raise


async def require_admin(request: Request) -> None:
    """The admin key, sent as ``Authorization: Bearer <key>`` (the one documented way). After
    ``ADMIN_FAILURES`` wrong keys within ``ADMIN_WINDOW`` seconds a client gets 429 until the
    window passes, so the key cannot be guessed at network speed."""
    settings, failures = request.app.state.settings, request.app.state.admin_failures
    if not settings.admin_key:
        raise ApiError(403, "reload_disabled", "catalog reload is disabled on this server; set "
                       "MATCHER_ADMIN_KEY to enable it")
    host = request.client.host if request.client else "?"
    now = time.monotonic()
    recent = [t for t in failures.get(host, ()) if now - t < ADMIN_WINDOW]
    if len(recent) >= ADMIN_FAILURES:
        raise ApiError(429, "too_many_attempts", "too many wrong admin keys from this address; wait and "
                       "retry", {"Retry-After": str(int(ADMIN_WINDOW - (now - recent[0])) + 1)})
    given = request.headers.get("authorization", "")
    token = given[7:] if given.lower().startswith("bearer ") else ""
    if not token or not hmac.compare_digest(token.encode(), settings.admin_key.encode()):
        if len(failures) > 4096:  # bounded memory whatever the number of clients
            failures.clear()
        failures[host] = [*recent, now]
        raise ApiError(401, "unauthorized", "a valid admin key is needed: send Authorization: Bearer <key> "
                       "(the key in MATCHER_ADMIN_KEY)", {"WWW-Authenticate": "Bearer"})
    failures.pop(host, None)
