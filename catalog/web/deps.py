"""FastAPI dependencies: the Catalog, the settings and the caller's identity.

The Catalog lives on `app.state` (set by `create_app`), never in a module global. The
identity comes from `Authorization: Bearer <token>`; no header means anonymous, and a bad
header or token is a 401 (raised as `AuthenticationError`, rendered by the one handler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from catalog.domain.errors import AuthenticationError, ValidationError
from catalog.domain.identity import ANONYMOUS, Identity
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings

#: Query parameters with a meaning of their own; every other one is a facet filter.
RESERVED_PARAMS = frozenset(
    {"q", "page", "size", "sort", "exact", "children_page", "concept", "facet_trees", "group"}
)
T = TypeVar("T")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
SORT_ORDERS = ("relevance", "title", "updated")


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_settings(request: Request) -> Settings:
    return request.app.state.catalog.settings


async def get_identity(request: Request) -> Identity:
    """Anonymous without a header (no database hit); otherwise the token's owner."""
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "the Authorization header must be 'Bearer <token>'; "
            "create a token with `imagora tokens create`"
        )
    catalog: Catalog = request.app.state.catalog
    return await run_in_threadpool(catalog.tokens.authenticate, token.strip())


async def call_store(catalog: Catalog, function: Callable[..., T], *args: Any) -> T:
    """Run a service call that reads the store: inline for SQLite, in the thread pool for
    a database server. An SQLite read is ~1 ms of CPU in this process; handing it to a
    thread tripled its CPU cost (GIL hand-offs) without freeing the event loop any
    sooner. A server's round trips are waits, which the thread pool overlaps."""
    if catalog.local_store:
        return function(*args)
    return await run_in_threadpool(function, *args)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IdentityDep = Annotated[Identity, Depends(get_identity)]


def filters_from(params: QueryParams) -> dict[str, list[str]]:
    """Every non-reserved query parameter, repeatable; the service validates the names."""
    filters: dict[str, list[str]] = {}
    for name, value in params.multi_items():
        if name not in RESERVED_PARAMS:
            filters.setdefault(name, []).append(value)
    return filters


def _int_param(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(
            f"query.{name}: Input should be a valid integer, got '{raw[:50]}'", field=name
        ) from None


def bool_param(params: QueryParams, name: str) -> bool:
    """A boolean query parameter; anything but true/false (1/0, yes/no, on/off) is a 422
    (`exact=maybe` used to be read silently as false)."""
    raw = params.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValidationError(
        f"query.{name}: Input should be a valid boolean (true or false), got '{raw[:50]}'",
        field=name,
    )


def parse_search(params: QueryParams, default_size: int) -> SearchRequest:
    """A SearchRequest straight from the query string (the API's hot path)."""
    sort = params.get("sort") or "relevance"
    if sort not in SORT_ORDERS:
        raise ValidationError(
            f"query.sort: Input should be one of {', '.join(SORT_ORDERS)}", field="sort"
        )
    return search_request_from(
        params,
        params.get("q", ""),
        _int_param(params, "page", 1),
        _int_param(params, "size", default_size),
        sort,
    )


def search_request_from(
    params: QueryParams,
    q: str = "",
    page: int = 1,
    size: int = 20,
    sort: str = "relevance",
    default_group: str = "none",
) -> SearchRequest:
    """The service's SearchRequest from already-typed params plus the facet filters."""
    exact = bool_param(params, "exact")
    return SearchRequest(
        text=q,
        filters=filters_from(params),
        page=page,
        size=size,
        sort=sort,  # type: ignore[arg-type]  # validated by the route's Literal
        exact=exact,
        concept=params.get("concept") or None,
        facet_trees=bool_param(params, "facet_trees"),
        group=_group(params.get("group"), default_group),  # type: ignore[arg-type]
    )


GROUPINGS = ("collection", "none")


def _group(value: str | None, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in GROUPINGS:
        raise ValidationError(
            f"query.group: Input should be one of {', '.join(GROUPINGS)}", field="group"
        )
    return value
