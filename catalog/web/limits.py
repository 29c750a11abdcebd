"""Request size limits, enforced before any route runs: the body and the query string.

The `Content-Length` header is checked first (cheap refusal); bodies without one, or
with a lying one, are counted while they stream in and refused as soon as they pass the
limit, so a client cannot make the server buffer more than `max_upload_bytes`.

Query strings longer than `MAX_QUERY_STRING_BYTES` get a JSON 414 (`QueryStringLimit`);
longer request lines than the HTTP parser takes get one from `catalog.web.protocol`.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_BODY = (b"GET", b"HEAD", b"OPTIONS")

#: The longest query string served (16 KiB): search text is limited far below it.
MAX_QUERY_STRING_BYTES = 16 * 1024


class QueryStringLimit:
    """Pure ASGI middleware: 414 (JSON) for query strings over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_QUERY_STRING_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = len(scope.get("query_string") or b"") if scope["type"] == "http" else 0
        if size <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        message = f"the query string is {size} bytes long; the limit is {self.max_bytes} bytes"
        await send_json_error(send, 414, "uri_too_long", message)


async def send_json_error(send: Send, status: int, code: str, message: str) -> None:
    """A complete JSON error response, sent before any application code runs."""
    body = orjson.dumps({"error": code, "message": message})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Pure ASGI middleware: 413 for bodies larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_have_body(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, f"the request body is {declared} bytes")
            return
        body = await self._read(receive)
        if body is None:
            await self._refuse(send, "the request body is too large")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, send: Send, what: str) -> None:
        message = f"{what}; the limit is {self.max_bytes} bytes (IMAGORA_MAX_UPLOAD_BYTES)"
        await send_json_error(send, 413, "payload_too_large", message)


def _may_have_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    has_body_headers = b"content-length" in headers or b"transfer-encoding" in headers
    return scope.get("method", "GET").encode() not in _NO_BODY or has_body_headers


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
