"""Publishing routes: `POST /api/records/{id}/publish` and the record's DOIs.

Thin, like every route: parse, call `PublishService`, render. The service checks the
role (curator or admin), runs the de-identification gate and talks to the DOI service;
its errors (403, 409 for restricted records, 422 with the gate's `problems`, 502 with
the service's own field errors) reach the caller through the one error handler.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from catalog.domain.publishing import PublicationPublic, PublishOutcome, PublishTarget
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from catalog.web.responses import json_response

router = APIRouter(prefix="/api", tags=["publishing"])


class PublishRequest(BaseModel):
    """Which DOI service to publish the record's current version on."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        ...,
        pattern=r"^[a-z][a-z0-9_-]{0,39}$",
        description="Publisher name: " + ", ".join(t.value for t in PublishTarget),
    )


@router.post(
    "/records/{record_id}/publish",
    response_model=PublishOutcome,
    summary="Publish the record's current version with a DOI (curator or admin)",
    responses={
        201: {"description": "Published now"},
        403: {"description": "Needs the curator or admin role"},
        409: {"description": "Restricted or withdrawn record"},
        422: {"description": "The de-identification gate refused files (listed)"},
        502: {"description": "The DOI service refused or could not be reached"},
    },
)
def publish_record(
    request: Request,
    record_id: str,
    body: Annotated[PublishRequest, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    outcome = catalog.publish.publish(identity, record_id, body.to)
    cache = getattr(request.app.state, "search_cache", None)
    if cache is not None:
        cache.clear()
    return json_response(outcome, status=201 if outcome.created else 200)


@router.get(
    "/records/{record_id}/publications",
    response_model=list[PublicationPublic],
    summary="The record's published versions and their DOIs",
)
async def record_publications(
    record_id: str, catalog: CatalogDep, identity: IdentityDep
) -> Response:
    items = await call_store(catalog, catalog.publish.publications, identity, record_id)
    return json_response([i.model_dump(mode="json") for i in items])
