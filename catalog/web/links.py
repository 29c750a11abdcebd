"""JSON API for publications and typed links; `GET /api/links` is the Scholix export.

Thin routes: each parses, calls one LinkService / PublicationService method, renders.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from catalog.domain.enums import RelationType
from catalog.domain.links import LinkCreate, LinkView
from catalog.domain.records import RecordPublic
from catalog.services.links import MAX_SCHOLIX_PAGE
from catalog.services.publications import PublicationInput
from catalog.web.deps import CatalogDep, IdentityDep, call_store
from catalog.web.responses import json_response

router = APIRouter(prefix="/api", tags=["links"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Unknown or malformed bearer token"},
    403: {"description": "Needs the curator or admin role"},
    404: {"description": "No such record or link, or one the caller may not see"},
    422: {"description": "Invalid input (message names the field)"},
}


def _models(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]


def _written(request: Request) -> None:
    cache = getattr(request.app.state, "search_cache", None)
    if cache is not None:
        cache.clear()


@router.post(
    "/publications",
    status_code=201,
    response_model=list[RecordPublic],
    responses=_ERRORS,
    summary="Add publications from BibTeX, CSL-JSON or fields (deduplicated by DOI/PMID)",
)
def create_publications(
    request: Request,
    data: Annotated[PublicationInput, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    created = catalog.publications.create(identity, data)
    _written(request)
    return json_response(_models(created), status=201)


@router.post(
    "/records/{record_id}/publications",
    response_model=list[LinkView],
    responses=_ERRORS,
    summary="Publication records for the DOIs/PMIDs in a record's references, linked",
)
def publications_from_references(
    request: Request, record_id: str, catalog: CatalogDep, identity: IdentityDep
) -> Response:
    links = catalog.publications.from_references(identity, record_id)
    _written(request)
    return json_response(_models(links))


@router.get(
    "/records/{record_id}/links",
    response_model=list[LinkView],
    responses=_ERRORS,
    summary="A record's links, both ways, each read from this record",
)
async def record_links(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    links = await call_store(catalog, catalog.links.for_record, identity, record_id)
    return json_response(_models(links))


@router.post(
    "/links",
    status_code=201,
    response_model=list[LinkView],
    responses=_ERRORS,
    summary="Link two records with a DataCite relation type (curator or admin)",
)
def create_link(
    request: Request,
    link: Annotated[LinkCreate, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    links = catalog.links.add(identity, link)
    _written(request)
    return json_response(_models(links), status=201)


@router.delete(
    "/links", status_code=204, responses=_ERRORS, summary="Remove a link (curator or admin)"
)
def delete_link(
    request: Request,
    source: str,
    relation: RelationType,
    target: str,
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    catalog.links.remove(identity, LinkCreate(source=source, relation=relation, target=target))
    _written(request)
    return Response(status_code=204)


@router.get("/links", responses=_ERRORS, summary="Every visible link as Scholix (v3) packages")
async def scholix_links(
    catalog: CatalogDep,
    identity: IdentityDep,
    after: str | None = None,
    size: Annotated[int, Query(ge=1, le=MAX_SCHOLIX_PAGE)] = 100,
) -> Response:
    page = await call_store(catalog, catalog.links.scholix, identity, after, size)
    body: dict[str, Any] = {"links": page.links, "next": None}
    if page.next_after:
        body["next"] = f"{catalog.settings.base_url}/api/links?" + _query(page.next_after, size)
    return json_response(body)


def _query(after: str, size: int) -> str:
    return urlencode({"after": after, "size": size})
