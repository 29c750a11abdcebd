"""`HeadAsGet`: every GET path answers HEAD with the GET's status and headers, no body.

Why: FastAPI routes declared for GET answer HEAD with 405 (Starlette's plain routes add
HEAD, FastAPI's do not), so link checkers and crawlers that probe with HEAD saw every
page as missing. RFC 9110 says HEAD is GET without the content.

How: a pure ASGI layer, outermost, that runs a HEAD request as GET and passes the
response start (headers, including the Content-Length the body would have) through
while dropping the body. Running the GET costs what the GET costs; HEAD is rare.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Pure ASGI middleware: HEAD is served as GET without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
