"""The served catalogs and their roles; an admin reload that rebuilds one catalog's index and swaps it in."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ..deps import ReadyMatcher, ReadyRegistry, require_admin
from ..errors import error_responses

router = APIRouter(tags=["catalog"])


@router.get("/v1/roles", summary="The catalog's roles", responses=error_responses(404, 503))
async def roles(m: ReadyMatcher):
    return {"catalog": {"name": m.catalog.name, "hash": m.catalog.hash},
            "roles": [r.to_dict() for r in m.catalog.roles]}


@router.get("/v1/roles/{role_id}", summary="One role", responses=error_responses(404, 503))
async def role(role_id: str, m: ReadyMatcher):
    """One role's statements; 404 (listing the valid ids) for an unknown id."""
    return m.role(role_id).to_dict()


@router.get("/v1/catalogs", summary="The catalogs served here", responses=error_responses(503))
async def catalogs(reg: ReadyRegistry):
    """Every served catalog: name, whether it is the default, its hash, role and statement counts,
    index type, build time, title and attribution (show it beside results), and reload status."""
    return {"default": reg.default, "catalogs": [reg.describe(n) for n in reg.names]}


@router.get("/v1/catalogs/{name}", summary="One served catalog", responses=error_responses(404, 503))
async def catalog_info(name: str, reg: ReadyRegistry):
    return reg.describe(name)


@router.post("/v1/catalogs/{name}/reload", status_code=202, dependencies=[Depends(require_admin)],
             summary="Rebuild a catalog's index from its files and swap it in (admin)",
             responses=error_responses(404, 503, 401, 429, 403))
async def reload_catalog(name: str, reg: ReadyRegistry):
    """Starts a rebuild in the background and answers 202 at once; `GET /v1/catalogs/{name}` shows
    its progress. Requests keep being answered from the old index until the new one is swapped in;
    a failed rebuild leaves the old one serving and says why. Needs `Authorization: Bearer <key>`
    with the key set in `MATCHER_ADMIN_KEY`."""
    status = reg.reload(name)
    return JSONResponse({"catalog": name, "reload": status.__dict__}, status_code=202)
