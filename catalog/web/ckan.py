"""CKAN Action API routes (`/api/3/action/{name}`, `/api/action/{name}`), kept thin.

Parses the request the ways CKAN accepts it (GET query parameters, POST JSON or form
body; `Authorization: <token>` raw as `ckanapi` sends it, `Bearer <token>`, or
`X-CKAN-API-Key`), calls `catalog.ckan` (`catalog.services.ckan.CkanActions`) and
wraps the result in CKAN's `{"help", "success", "result"}` envelope, or errors in CKAN's
`error` shape.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from catalog.domain.errors import BadRequestError, ImagoraError, ValidationError
from catalog.domain.identity import ANONYMOUS, Identity
from catalog.domain.search import MAX_QUERY_LENGTH, MAX_RESULT_WINDOW
from catalog.services.ckan import failure
from catalog.services.container import Catalog

ROUTES = ("/api/3/action/{name}", "/api/action/{name}")


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else header.strip()


def _identity(catalog: Catalog, token: str | None) -> Identity:
    return ANONYMOUS if token is None else catalog.tokens.authenticate(token)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        params[key] = [*params[key], value] if key in params and key.startswith("facet") else value
    if request.method != "POST":
        return params
    body = await request.body()
    if not body.strip():
        return params
    if "form" in request.headers.get("content-type", ""):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequestError("JSON Error: the request body is not valid JSON") from None
    except RecursionError:  # json's C scanner stops a deep nesting with this, not ValueError
        raise BadRequestError(
            "JSON Error: the request body is not valid JSON: it is nested too deeply"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object", field="body")
    params.update(data)
    return params


def _help(request: Request, name: str) -> str:
    return str(request.url_for("ckan_action", name="help_show")) + f"?name={name}"


async def ckan_action(request: Request, name: str) -> Response:
    catalog: Catalog = request.app.state.catalog
    help_url = _help(request, name)
    try:
        params = await _params(request)
        identity = await run_in_threadpool(_identity, catalog, _token(request))
        result = await run_in_threadpool(catalog.ckan.call, identity, name, params)
    except BadRequestError as exc:  # an unreadable body: CKAN answers 400 "Bad Request"
        error = {"__type": "Bad Request", "message": exc.message}
        return JSONResponse({"help": help_url, "success": False, "error": error}, 400)
    except ImagoraError as exc:
        failed = failure(exc)
        body = {"help": help_url, "success": False, "error": failed.error}
        return JSONResponse(body, status_code=failed.status)
    return JSONResponse({"help": help_url, "success": True, "result": result})


_INT = "integer"
#: The parameters the actions read, with the bounds they enforce (a 409 beyond them).
_PARAMETERS = [
    ("id", {"type": "string"}, "package_show: the package id or name"),
    ("q", {"type": "string", "maxLength": MAX_QUERY_LENGTH}, "package_search: query text"),
    ("fq", {"type": "string"}, "package_search: filter query, e.g. res_format:DICOM"),
    ("rows", {"type": _INT, "minimum": 0, "maximum": 1000}, "package_search: hits (0-1000)"),
    ("start", {"type": _INT, "minimum": 0, "maximum": MAX_RESULT_WINDOW}, "package_search"),
    ("sort", {"type": "string"}, "package_search: e.g. 'title_string asc'"),
    ("facet.field", {"type": "string"}, "package_search: JSON list of fields"),
    ("facet.limit", {"type": _INT, "minimum": -1, "maximum": 10_000}, "package_search"),
    ("limit", {"type": _INT, "minimum": 0, "maximum": MAX_RESULT_WINDOW}, "package_list"),
    ("offset", {"type": _INT, "minimum": 0, "maximum": MAX_RESULT_WINDOW}, "package_list"),
]
_OPENAPI = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": d}
        for name, schema, d in _PARAMETERS
    ]
}


def build_router() -> APIRouter:
    router = APIRouter(tags=["CKAN compatibility"])
    for number, path in enumerate(ROUTES):
        for method in ("GET", "POST"):  # one route per method: unique OpenAPI operation ids
            router.add_api_route(
                path,
                ckan_action,
                methods=[method],
                name="ckan_action" if number == 0 else f"ckan_action_{number}",
                operation_id=f"ckan_action_{method.lower()}" + (f"_{number}" if number else ""),
                summary="CKAN Action API (package_search, package_show, package_list, ...)",
                response_class=JSONResponse,
                openapi_extra=_OPENAPI if method == "GET" else None,
            )
    return router


router = build_router()
