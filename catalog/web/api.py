"""JSON API routes: parse the request, call one RecordService method, render.

No permission checks here (the service owns them) and no SQL. Responses are pydantic
models serialised once by pydantic-core (`json_response`); `response_model` documents
them in OpenAPI. Search responses go through the short-lived `ResponseCache`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from catalog.domain.enums import Level
from catalog.domain.identity import Identity
from catalog.domain.records import RecordCreate, RecordPage, RecordPublic, RecordUpdate, Term
from catalog.domain.search import FACET_FIELDS, MAX_PAGE_SIZE, MAX_QUERY_LENGTH, MAX_RESULT_WINDOW
from catalog.services.container import Catalog
from catalog.services.terms import TermDetail, TermStatusUpdate, TermSuggestion
from catalog.settings import Settings
from catalog.web.cache import ResponseCache
from catalog.web.deps import (
    SORT_ORDERS,
    CatalogDep,
    IdentityDep,
    SettingsDep,
    call_store,
    get_identity,
    parse_search,
)
from catalog.web.paging import page_links, query_page_links
from catalog.web.responses import json_response, raw_json_response

router = APIRouter(prefix="/api", tags=["records"])

_ERRORS = {
    400: {"description": "Bad query (message says why)"},
    401: {"description": "Unknown or malformed bearer token"},
    404: {"description": "No such record, or one the caller may not see"},
    422: {"description": "Invalid input (message names the field)"},
}
_FACET_HELP = (
    "Filter on facets with repeatable `<field>=<value>` parameters (values of one facet "
    "are ORed, facets ANDed; a filtered facet still lists its other values with counts); "
    "fields: "
    + ", ".join(f"`{name}`" for name in FACET_FIELDS)
    + ". Numeric fields take ranges: `tr_ms=[1000 TO 3000]` or `tr_ms.min=1000&tr_ms.max="
    "3000`. Unknown fields are a 400 naming the fields that exist."
)


def _cache(request: Request) -> ResponseCache:
    return request.app.state.search_cache


def _linked(page: RecordPage, settings: Settings, request: Request) -> RecordPage:
    prefix = settings.base_url + request.url.path
    params = list(request.query_params.multi_items())
    page.links = page_links(prefix, params, page.page, page.size, page.total)
    return page


#: The search endpoint's path (also served by `catalog.web.fastpath`).
SEARCH_PATH = "/api/records"


@router.get("/health", tags=["service"], summary="Liveness check")
async def health() -> Response:
    return json_response({"status": "ok"})


_BOOL = {"type": "boolean"}
_SEARCH_PARAMS = [
    ("q", {"type": "string", "maxLength": MAX_QUERY_LENGTH},
     'Query text. Every word or "quoted phrase" must match (AND is implied); '
     "`a OR b` and `(a OR b OR c)` match either; `NOT term` and `-term` exclude; "
     "`card*` is a prefix; `field:value` and `field:[low TO high]` (`*` = open end) "
     "filter on a facet or numeric field (tr_ms, te_ms, ti_ms, field_strength, "
     "acquired, age_days, subjects, ...). A recognised concept (rat, T1-weighted, "
     "hippocampus) also finds its narrower concepts, within its own word; `3T`, "
     "`7 tesla` mean the nominal field strength, `MRI`/`PET`/`CT` the modality. "
     "Malformed syntax is a 400 that says what is wrong. `understood` in the answer "
     "says how the query was read."),
    ("page", {"type": "integer", "minimum": 1, "maximum": MAX_RESULT_WINDOW},
     f"1-based page number; page x size may not pass {MAX_RESULT_WINDOW}"),
    ("size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
     f"Hits per page (1-{MAX_PAGE_SIZE})"),
    ("level", {"type": "string", "enum": [level.value for level in Level]},
     "Record level; repeatable"),
    ("sort", {"type": "string", "enum": list(SORT_ORDERS)},
     "relevance (default), title or updated"),
    ("exact", _BOOL, "true: no ontology expansion of the query"),
    ("concept", {"type": "string"},
     "A concept IRI: records annotated with it or a narrower concept"),
    ("facet_trees", _BOOL, "true: add contrast/species/anatomy facet trees (slower)"),
    ("group", {"type": "string", "enum": ["collection", "none"]},
     "collection: one group per matching dataset (its roll-up and first matching "
     "records), paged by group; none (default): a flat list of records"),
]  # fmt: skip
_SEARCH_OPENAPI = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": d}
        for name, schema, d in _SEARCH_PARAMS
    ]
}
#: The request body limit, stated on every route that takes a body.
_BODY_LIMIT = (
    "The request body may be IMAGORA_MAX_UPLOAD_BYTES long (10 MiB by default; longer is "
    "a 413). Lists are capped: keywords 1,000 (200 characters each), creators 1,000, "
    "identifiers 200, related 2,000, terms 2,000, files 100,000; integers must fit in 64 "
    "bits and quality / source.raw may nest 64 levels (otherwise a 422)."
)
_WRITE_ERRORS = {
    **_ERRORS,
    413: {"description": "Request body over IMAGORA_MAX_UPLOAD_BYTES"},
}


@router.get(
    "/records",
    response_model=RecordPage,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Search records",
    description=_FACET_HELP,
    openapi_extra=_SEARCH_OPENAPI,
)
async def search_records(request: Request) -> Response:
    """Parameters are parsed here, not by FastAPI, to keep the hot path cheap (see bench).

    Anonymous searches usually never get here: `SearchFastPath` answers them before
    FastAPI's routing; this route serves callers with a token and renders every error.
    """
    identity = await get_identity(request)
    catalog: Catalog = request.app.state.catalog
    body = search_json(catalog, _cache(request), identity, request.url.path, request.url.query)
    return raw_json_response(body)


def search_json(
    catalog: Catalog, cache: ResponseCache, identity: Identity, path: str, query: str
) -> bytes:
    """The serialised answer to a search URL: from the short-lived cache, else searched.

    `query` is the raw query string (Starlette's `request.url.query`); it is parsed only
    on a cache miss. Raises the service's errors (bad parameters, bad query syntax).
    """
    key = (identity.user, identity.role, path, query)
    body = cache.get(key)
    if body is not None:
        return body
    epoch, generation = cache.epoch, cache.generation()
    params = QueryParams(query)
    settings = catalog.settings
    # inline, not in the thread pool: a search is a fraction of a millisecond of CPU, and
    # handing it to a thread cost more than it took (GIL contention halved req/s per core)
    page = catalog.records.search(identity, parse_search(params, settings.page_size))
    prefix = settings.base_url + path
    total = page.group_total if page.group_total is not None else page.total  # pages of groups
    page.links = query_page_links(prefix, query, page.page, page.size, total) or page_links(
        prefix, list(params.multi_items()), page.page, page.size, total
    )
    body = page.__pydantic_serializer__.to_json(page)
    cache.put(key, body, epoch, generation)
    return body


@router.get(
    "/records/{record_id}",
    response_model=RecordPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="One record",
)
async def get_record(record_id: str, catalog: CatalogDep, identity: IdentityDep) -> Response:
    return json_response(await call_store(catalog, catalog.records.get, identity, record_id))


@router.get(
    "/records/{record_id}/children",
    response_model=RecordPage,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="A record's children, by title",
)
async def get_children(
    request: Request,
    record_id: str,
    catalog: CatalogDep,
    identity: IdentityDep,
    settings: SettingsDep,
    page: Annotated[
        int, Query(description="1-based page number", json_schema_extra={"minimum": 1})
    ] = 1,
    size: Annotated[
        int,
        Query(
            description=f"Children per page (1-{MAX_PAGE_SIZE})",
            json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE},
        ),
    ] = 50,
) -> Response:
    result = await call_store(catalog, catalog.records.children, identity, record_id, page, size)
    return json_response(_linked(result, settings, request))


@router.post(
    "/records",
    status_code=201,
    response_model=RecordPublic,
    responses=_WRITE_ERRORS,  # type: ignore[arg-type]
    summary="Deposit a new record (curator or admin)",
    description=_BODY_LIMIT,
)
def create_record(
    request: Request,
    data: Annotated[RecordCreate, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
    settings: SettingsDep,
) -> Response:
    record = catalog.records.create(identity, data)
    location = f"{settings.base_url}/api/records/{record.id}"
    return json_response(record, status=201, headers={"Location": location})


@router.patch(
    "/records/{record_id}",
    response_model=RecordPublic,
    responses=_WRITE_ERRORS,  # type: ignore[arg-type]
    summary="Change some fields or the access policy (curator or admin)",
    description=_BODY_LIMIT,
)
def update_record(
    request: Request,
    record_id: str,
    patch: Annotated[RecordUpdate, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    record = catalog.records.update(identity, record_id, patch)
    return json_response(record)


@router.delete(
    "/records/{record_id}",
    response_model=RecordPublic,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Withdraw a record (it stays as a tombstone)",
)
def withdraw_record(
    request: Request, record_id: str, catalog: CatalogDep, identity: IdentityDep
) -> Response:
    record = catalog.records.withdraw(identity, record_id)
    return json_response(record)


# ----- ontology terms -------------------------------------------------------------------
@router.get(
    "/terms",
    response_model=list[TermSuggestion],
    responses=_ERRORS,  # type: ignore[arg-type]
    tags=["terms"],
    summary="Autocomplete ontology concepts (label prefix first, then synonyms)",
)
def suggest_terms(
    catalog: CatalogDep,
    identity: IdentityDep,
    q: Annotated[str, Query(max_length=200, description="What the user typed")] = "",
    scheme: Annotated[str | None, Query(description="One scheme: mri, species, ...")] = None,
    limit: Annotated[
        int,
        Query(
            description="At most this many (1-50)", json_schema_extra={"minimum": 1, "maximum": 50}
        ),
    ] = 10,
    all: Annotated[
        bool, Query(description="true: also concepts no visible record carries (no counts)")
    ] = False,
) -> Response:
    """Each suggestion carries `count`, the records the caller may see with that concept
    or a narrower one; concepts without records are left out unless `all=true`."""
    counts = None if all else catalog.records.concept_counts(identity)
    found = catalog.terms.suggest(q, scheme or None, limit, counts)
    return json_response([s.model_dump() for s in found])


@router.get(
    "/terms/{iri:path}",
    response_model=TermDetail,
    responses=_ERRORS,  # type: ignore[arg-type]
    tags=["terms"],
    summary="One concept: labels, broader, narrower, part-of, mappings (IRI percent-encoded)",
)
def get_term(iri: str, catalog: CatalogDep) -> Response:
    return json_response(catalog.terms.detail(iri))


@router.post(
    "/records/{record_id}/terms",
    status_code=201,
    response_model=RecordPublic,
    responses=_WRITE_ERRORS,  # type: ignore[arg-type]
    tags=["terms"],
    summary="Add a curator's term to a record (curator or admin)",
    description=_BODY_LIMIT,
)
def add_term(
    request: Request,
    record_id: str,
    term: Annotated[Term, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    record = catalog.annotation.add_term(identity, record_id, term)
    return json_response(record, status=201)


@router.patch(
    "/records/{record_id}/terms",
    response_model=RecordPublic,
    responses=_WRITE_ERRORS,  # type: ignore[arg-type]
    tags=["terms"],
    summary="Accept or reject one of a record's terms (curator or admin)",
    description=_BODY_LIMIT,
)
def set_term_status(
    request: Request,
    record_id: str,
    iri: Annotated[str, Query(description="The term's concept IRI")],
    update: Annotated[TermStatusUpdate, Body()],
    catalog: CatalogDep,
    identity: IdentityDep,
) -> Response:
    record = catalog.annotation.set_status(identity, record_id, iri, update.status)
    return json_response(record)
