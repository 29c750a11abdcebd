"""One place that turns every failure into a JSON error (API) or an HTML error page.

Services raise `ImagoraError` subclasses that already carry status, code and a user
message; this module only renders them. FastAPI's validation errors, unknown paths and
unexpected exceptions are mapped to the same `{"error": code, "message": ...}` shape, so a
client never sees a traceback or a framework-specific body.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match

from catalog.domain.errors import AuthenticationError, ImagoraError
from catalog.web.responses import json_response

log = logging.getLogger(__name__)

_JSON_PREFIXES = ("/api", "/openapi", "/docs", "/redoc")

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid_input",
}


def wants_json(request: Request) -> bool:
    """API paths answer JSON; pages answer HTML unless the client asks only for JSON."""
    if request.url.path.startswith(_JSON_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "html" not in accept


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error in the form the caller reads (JSON body or HTML page)."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="imagora"'}
    if wants_json(request):
        body: dict[str, Any] = {"error": code, "message": message, **(extra or {})}
        return json_response(body, status=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:  # app built without pages
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status, headers=headers)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
        headers=headers,
    )


async def imagora_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ImagoraError)
    # everything the error adds to its JSON body beyond code and message (field, problems)
    extra = {k: v for k, v in exc.to_dict().items() if k not in ("error", "message")} or None
    status = 401 if isinstance(exc, AuthenticationError) else exc.status
    if status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return error_response(request, status, exc.code, exc.message, extra)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (detail.get("ctx") or {}).get("error", "cannot be decoded")
        message = f"the request body is not valid JSON: {reason}"
        return error_response(request, 400, "bad_request", message)
    return error_response(request, 422, "invalid_input", describe_errors(errors))


def describe_errors(errors: Sequence[Any]) -> str:
    """'body.access.record: Input should be ...; query.page: ...' (each field named)."""
    parts = []
    for error in errors[:5]:
        location = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{location or 'request'}: {error.get('msg', 'invalid value')}")
    more = len(errors) - 5
    if more > 0:
        parts.append(f"and {more} more problem(s)")
    return "; ".join(parts)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        return error_response(request, 405, code, message, headers={"Allow": allowed})
    else:
        message = str(exc.detail)
    return error_response(request, exc.status_code, code, message)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110: a 405 carries `Allow`);
    HEAD wherever GET is (see `catalog.web.head`)."""
    routes = request.app.router.routes
    methods = [
        method
        for method in _METHODS
        # each route (or included router) answers FULL only where it serves that method
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    if "GET" in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "an unexpected error happened on the server; it has been logged"
    return error_response(request, 500, "internal_error", message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ImagoraError, imagora_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
