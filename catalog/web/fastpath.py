"""`SearchFastPath`: anonymous `GET /api/records` answered before FastAPI's routing.

Why: the search endpoint is the busiest one, and for a narrow search FastAPI's routing,
dependency solving and middleware layers cost as much CPU as the search itself (measured
in-process: ~0.25 ms of ~0.45 ms per request; `benchmarks/http_bench.py` gives the
end-to-end figures). This pure ASGI layer serves only the plain success case, through the
same `search_json` the route uses, so the bytes are the same. Everything else goes on to
the full application untouched: requests with credentials or a body, a mount prefix
(`root_path`), and any search that raises (the route then runs it again and renders the
error with the one set of handlers in `catalog.web.errors`).
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from catalog.domain.identity import ANONYMOUS
from catalog.web.api import SEARCH_PATH, search_json

log = logging.getLogger(__name__)

#: Requests carrying one of these headers take the full application.
_DECLINE_HEADERS = frozenset({b"authorization", b"content-length", b"transfer-encoding"})
_JSON = b"application/json"


class SearchFastPath:
    """Pure ASGI middleware; `served` counts the searches it answered itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer(scope) if _eligible(scope) else None
        if body is None:
            await self.app(scope, receive, send)
            return
        self.served += 1
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _answer(scope: Scope) -> bytes | None:
        """The response body, or None to let the full application answer."""
        state = scope["app"].state  # Starlette sets scope["app"] before any middleware
        catalog = getattr(state, "catalog", None)
        cache = getattr(state, "search_cache", None)
        if catalog is None or cache is None:
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            return search_json(catalog, cache, ANONYMOUS, SEARCH_PATH, query)
        except Exception:  # the route raises it again and the error handlers render it
            log.debug("search fast path declined %r", query, exc_info=True)
            return None


def _eligible(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["path"] != SEARCH_PATH or scope["method"] != "GET":
        return False
    if scope.get("root_path") or "app" not in scope:
        return False
    return not any(name in _DECLINE_HEADERS for name, _ in scope["headers"])
