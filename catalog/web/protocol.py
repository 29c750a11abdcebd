"""The HTTP/1.1 protocol `imagora serve` runs: uvicorn's httptools protocol whose own
error answers are JSON like every other error of the API.

Why: a request uvicorn cannot parse never reaches the application, so it got uvicorn's
plain-text "Invalid HTTP request received." A URL over 64 KiB is such a request
(httptools cannot split URLs that long), so a long query string got plain text instead
of the JSON 414 that `catalog.web.limits.QueryStringLimit` gives shorter ones.

How: `on_url` refuses a URL over `MAX_URL_BYTES` as it arrives, before httptools tries
to split it (a 414), and `send_400_response` writes `{"error", "message"}` JSON.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from catalog.web.limits import MAX_QUERY_STRING_BYTES

#: Longest URL the server reads at all; far above the 16 KiB query-string limit.
MAX_URL_BYTES = 60 * 1024
#: How long a refused request's connection stays open to drain (see send_400_response).
LINGER_SECONDS = 2.0
_REASONS = {400: b"Bad Request", 414: b"URI Too Long"}


class _UrlTooLong(Exception):
    pass


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with JSON error answers (see the module docstring)."""

    _url_too_long = False
    _refused = False

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:  # checked as it arrives: never buffered whole
            self._url_too_long = True
            raise _UrlTooLong  # httptools reports it as a parser error: send_400_response

    def send_400_response(self, msg: str) -> None:
        if self._url_too_long:
            status, code = 414, "uri_too_long"
            message = (
                f"the URL is {len(self.url)} bytes long; query strings may be "
                f"{MAX_QUERY_STRING_BYTES} bytes at most"
            )
        else:
            status, code = 400, "bad_request"
            message = f"the request is not valid HTTP/1.1 ({msg.rstrip('.')})"
        body = orjson.dumps({"error": code, "message": message})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join([*head, body]))
        # A lingering close: closing with unread request bytes makes the kernel send a
        # reset, which can destroy the answer before the client reads it. Say we are
        # done writing, drop what still arrives, and close a little later.
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped
        super().data_received(data)
