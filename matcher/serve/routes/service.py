"""The service itself: version and limits, liveness, readiness, and the web page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from ...text import ACCEPTED
from ...version import __version__
from ..deps import AppSettings, ReadyRegistry
from ..errors import ErrorBody, error_response, error_responses
from ..metrics import exposition
from ..schemas import Health, Info, Ready

router = APIRouter(tags=["service"])
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@router.get("/v1/info", summary="Version, catalog, model and limits", response_model=Info)
async def info(request: Request, settings: AppSettings):
    reg = request.app.state.registry
    m = reg.get() if reg is not None else None
    return {"version": __version__, "ready": m is not None,
            "catalogs": reg.names if reg is not None else [],
            "catalog": {"name": m.catalog.name, "hash": m.catalog.hash, "roles": len(m.catalog.roles)}
            if m else None,
            "model": m.embedder.name if m else None,
            "limits": {"max_text_chars": settings.max_text_chars,
                       "max_upload_bytes": settings.max_upload_bytes, "max_top_k": settings.max_top_k,
                       "max_batch": settings.max_batch},
            "accepted": ACCEPTED}


@router.get("/healthz", summary="Liveness: the process is up", response_model=Health,
            responses={503: {"model": ErrorBody, "description": "loading failed for good; restart"}})
async def healthz(request: Request):
    """200 while the process is up (loading or ready); 503 only if loading failed, so a restart
    policy can act on a process that can never become ready."""
    if request.app.state.load_error:
        return error_response(503, "load_failed", f"the model and index failed to load: {request.app.state.load_error}")
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the model and index are loaded", response_model=Ready,
            responses=error_responses(503))
async def readyz(reg: ReadyRegistry):
    return {"status": "ready", "catalog": reg.default, "catalogs": reg.names, "model": reg.embedder.name}


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "every worker's metrics, summed"}})
async def metrics():
    """Requests by route template and status, latencies, time in the model, queue depth, `busy`
    refusals, extraction failures by code and catalog reloads. No label carries personal data."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)


@router.get("/", include_in_schema=False)
async def page():
    """The web page, with a strict Content-Security-Policy."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})
