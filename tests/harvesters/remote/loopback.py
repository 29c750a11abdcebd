"""A loopback HTTP server for remote-harvester tests, with fault injection.

Each fake (XNAT, Shanoir-NG, ...) is an `App` whose `handle(request)` returns a
`Reply`; `Loopback` serves it on 127.0.0.1 (random port) with a threading stdlib server.
Faults are queued per path prefix and consumed in order: a slow answer, an HTTP error
(500, 429 with Retry-After, ...) or a connection dropped after the headers -- what real
servers and proxies do to harvesters.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, value: str, status: int = 200, kind: str = "text/plain") -> Reply:
        return cls(status, value.encode(), {"Content-Type": kind})


@dataclass
class Fault:
    """One injected misbehaviour for the next request under `prefix`."""

    prefix: str
    kind: str  # "status", "slow", "drop"
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0


class App:
    """Subclasses implement `handle`; the server adds delay, faults and request logs."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.hang_at: tuple[str, int] | None = None
        self.hang_seen = 0
        self.hung = threading.Event()
        self.released = threading.Event()

    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def hang(self, prefix: str, nth: int) -> threading.Event:
        """Make the `nth` request under `prefix` hang (until the server stops); the
        returned event is set when it arrives -- e.g. to SIGKILL a harvest mid-run."""
        self.hang_at = (prefix, nth)
        return self.hung

    def maybe_hang(self, path: str) -> None:
        if self.hang_at is None or not path.startswith(self.hang_at[0]):
            return
        with self.lock:
            self.hang_seen += 1
            hit = self.hang_seen == self.hang_at[1]
        if hit:
            self.hung.set()
            self.released.wait(60)

    def inject(self, prefix: str, kind: str, times: int = 1, **kwargs: Any) -> None:
        with self.lock:
            self.faults.extend(Fault(prefix, kind, **kwargs) for _ in range(times))

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if path.startswith(fault.prefix):
                    return self.faults.pop(i)
        return None

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for _, path in self.log if path.startswith(prefix))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command,
            split.path,
            parse_qs(split.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        with app.lock:
            app.log.append((self.command, split.path))
        if app.delay_s:
            time.sleep(app.delay_s)
        app.maybe_hang(split.path)
        fault = app.take_fault(split.path)
        if fault and self._fault(fault):
            return
        self._send(app.handle(request))

    def _fault(self, fault: Fault) -> bool:
        if fault.kind == "slow":
            time.sleep(fault.delay_s)
            return False
        if fault.kind == "drop":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"ResultSet": {"Result": [')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return True
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        self._send(Reply(fault.status, b"server trouble", headers))
        return True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish (SIGKILLed harvests, dropped faults) are expected


class Loopback:
    """Serves an `App` on 127.0.0.1:<free port> in a daemon thread (context manager)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.server = _QuietServer(("127.0.0.1", 0), _Handler)
        self.server.app = app  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.released.set()
        self.server.shutdown()
        self.server.server_close()


Route = Callable[[Request], Reply]
