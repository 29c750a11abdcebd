"""Harvest run reports for admins: `GET /api/harvests` (JSON) and `GET /harvests` (page).

Thin routes: parse the page, ask `HarvestService.runs` (which checks the admin role),
render. Reports name sources and errors, never credentials (the HTTP client redacts
them before they reach a report).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from catalog.domain.results import HarvestRunPage
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from catalog.web.responses import json_response

router = APIRouter()
Page = Annotated[int, Query(ge=1, le=10_000)]
Size = Annotated[int, Query(ge=1, le=100)]


@router.get(
    "/api/harvests",
    tags=["harvest"],
    summary="Harvest run reports, newest first (admin)",
    response_model=HarvestRunPage,
)
async def list_harvests(
    catalog: CatalogDep, identity: IdentityDep, page: Page = 1, size: Size = 20
) -> Response:
    runs = await call_store(catalog, catalog.harvest.runs, identity, page, size)
    return json_response(runs)


@router.get("/harvests", response_class=Response, include_in_schema=False)
async def harvests_page(
    request: Request, catalog: CatalogDep, identity: IdentityDep, page: Page = 1
) -> Response:
    runs = await call_store(catalog, catalog.harvest.runs, identity, page, 20)
    pages = max(1, -(-runs.total // runs.size))
    context = {"runs": runs, "pages": pages}
    return request.app.state.templates.TemplateResponse(request, "harvests.html", context)
