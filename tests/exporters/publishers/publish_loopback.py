"""A threaded HTTP server on 127.0.0.1 with fault injection, for the DOI service doubles.

Faults are queued per (method, path pattern): `status` answers a chosen status with
headers and a body without touching the state (409, 429 with rate-limit headers);
`drop-before` closes the connection without acting (a request lost on the way in);
`drop-after` acts and then closes without answering (the answer lost on the way out),
the case where a client cannot know whether the server did it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    method: str
    pattern: str
    kind: str  # "status" | "drop-before" | "drop-after"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    times: int = 1


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class LoopbackService:
    """Subclasses implement `handle(request) -> Reply`; faults and the log are shared."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.RLock()
        self.base_url = ""

    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def inject(self, method: str, pattern: str, kind: str, **options: Any) -> Fault:
        fault = Fault(method, pattern, kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and re.fullmatch(fault.pattern, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def calls(self, method: str, pattern: str) -> list[tuple[str, str, int]]:
        return [c for c in self.log if c[0] == method and re.fullmatch(pattern, c[1])]


def _handler(service: LoopbackService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            fault = service.take_fault(self.command, parts.path)
            if fault and fault.kind == "drop-before":
                service.log.append((self.command, parts.path, 0))
                self.close_connection = True
                return
            if fault and fault.kind == "status":
                reply = Reply(fault.status, fault.body, fault.headers)
            else:
                with service.lock:
                    reply = service.handle(request)
            service.log.append((self.command, parts.path, reply.status))
            if fault and fault.kind == "drop-after":
                self.close_connection = True
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    return Handler


@contextmanager
def serving(service: LoopbackService) -> Iterator[LoopbackService]:
    """Run `service` on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    server.daemon_threads = True
    service.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
