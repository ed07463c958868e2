"""The served catalogs and their roles; an admin reload that rebuilds one catalog's index and swaps it in."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from ..deps import ReadyMatcher, ReadyRegistry, require_admin
from ..errors import error_responses
from ..schemas import CatalogList, CatalogView, ReloadAccepted, Role, RolesPage

router = APIRouter(tags=["catalog"])


@router.get("/v1/roles", summary="The catalog's roles, a page at a time", response_model=RolesPage,
            responses=error_responses(404, 422, 503))
async def roles(m: ReadyMatcher, offset: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int | None, Query(ge=1, le=1000, description="roles per page (default: all)")] = None,
                view: Literal["full", "summary"] = "full"):
    """Roles in catalog order from `offset`, at most `limit` of them, with the `total`. `view=summary`
    gives each role's id, title, kind, summary and statement count (O*NET's full listing is ~48,000
    statements; page it, or ask for the summary)."""
    page = m.catalog.roles[offset:None if limit is None else offset + limit]
    listed = [r.to_dict() if view == "full" else
              {"id": r.id, "title": r.title, "kind": r.kind, "summary": r.summary, "statements": len(r.statements())}
              for r in page]
    return {"catalog": {"name": m.catalog.name, "hash": m.catalog.hash}, "total": len(m.catalog.roles),
            "offset": offset, "limit": limit, "view": view, "roles": listed}


@router.get("/v1/roles/{role_id}", summary="One role", response_model=Role, responses=error_responses(404, 503))
async def role(role_id: str, m: ReadyMatcher):
    """One role's statements; 404 (listing the valid ids) for an unknown id."""
    return m.role(role_id).to_dict()


@router.get("/v1/catalogs", summary="The catalogs served here", response_model=CatalogList,
            responses=error_responses(503))
async def catalogs(reg: ReadyRegistry):
    """Every served catalog: name, whether it is the default, its hash, role and statement counts,
    index type, build time, title and attribution (show it beside results), and reload status."""
    return {"default": reg.default, "catalogs": [reg.describe(n) for n in reg.names]}


@router.get("/v1/catalogs/{name}", summary="One served catalog", response_model=CatalogView,
            responses=error_responses(404, 503))
async def catalog_info(name: str, reg: ReadyRegistry):
    return reg.describe(name)


@router.post("/v1/catalogs/{name}/reload", status_code=202, dependencies=[Depends(require_admin)],
             response_model=ReloadAccepted,
             summary="Rebuild a catalog's index from its files and swap it in (admin)",
             responses=error_responses(404, 503, 401, 429, 403))
async def reload_catalog(name: str, reg: ReadyRegistry):
    """Starts a rebuild in the background and answers 202 at once; `GET /v1/catalogs/{name}` shows
    its progress. Requests keep being answered from the old index until the new one is swapped in;
    a failed rebuild leaves the old one serving and says why. Needs `Authorization: Bearer <key>`
    with the key set in `MATCHER_ADMIN_KEY`. `Location` names that status resource."""
    status = reg.reload(name)
    return JSONResponse({"catalog": name, "reload": status.__dict__}, status_code=202,
                        headers={"Location": f"/v1/catalogs/{name}"})
