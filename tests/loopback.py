"""The one loopback HTTP server of the test suite: service doubles with fault injection.

Remote sources (XNAT, Shanoir-NG) and DOI services (Zenodo, DataCite) are replaced in
tests by `App` subclasses whose `handle(request)` returns a `Reply`, served on
127.0.0.1 (a free port) by a threading stdlib server: `Loopback(app)` (`.url`) or
`serving(app)` (sets `app.base_url`). Both test packages and the benchmarks import it
as `loopback` (the suite's root conftest puts `tests/` on `sys.path`).

Every request is logged as `(method, path, status)`; `handle` runs under the app's
lock, so a double's state changes atomically. Faults are queued per (method, path
regex) and consumed in order (`times` answers each):

- `status`: answer a chosen status with headers and a JSON body, state untouched
  (500, 503, 409, 429 with `Retry-After`);
- `slow`: wait `delay_s`, then answer normally (timeouts);
- `drop`: send the headers and the start of a body, then close (a connection dropped
  mid-listing by a proxy);
- `drop-before`: close without acting (a request lost on the way in);
- `drop-after`: act, then close without answering (the answer lost on the way out,
  where a client cannot know whether the server did it).

`delay_s` makes every request wait like a real server on a LAN; `hang(pattern, nth)`
holds the nth matching request until the server stops (to SIGKILL a client mid-run).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """An answer: `body` is raw bytes, or any JSON value (None: no body)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status, value)

    @classmethod
    def text(cls, value: str, status: int = 200, kind: str = "text/plain") -> Reply:
        return cls(status, value.encode(), content_type=kind)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class Fault:
    """One injected misbehaviour for requests matching `method` (None: any) and the
    `pattern` regex (full match of the path)."""

    method: str | None
    pattern: str
    kind: str  # "status" | "slow" | "drop" | "drop-before" | "drop-after"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and re.fullmatch(self.pattern, path) is not None


class App:
    """Subclasses implement `handle`; the server adds delay, faults, hangs and the log."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.RLock()
        self.base_url = ""
        self.hang_at: tuple[str, int] | None = None
        self.hang_seen = 0
        self.hung = threading.Event()
        self.released = threading.Event()

    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- faults -------------------------------------------------------------------------
    def inject(self, method: str | None, pattern: str, kind: str, **options: Any) -> Fault:
        fault = Fault(method, pattern, kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def hang(self, pattern: str, nth: int) -> threading.Event:
        """Make the `nth` request whose path matches `pattern` hang until the server
        stops; the returned event is set when it arrives."""
        self.hang_at = (pattern, nth)
        return self.hung

    def maybe_hang(self, path: str) -> None:
        at = self.hang_at
        if at is None or re.fullmatch(at[0], path) is None:
            return
        with self.lock:
            self.hang_seen += 1
            hit = self.hang_seen == at[1]
        if hit:
            self.hung.set()
            self.released.wait(60)

    # ----- the log ------------------------------------------------------------------------
    def calls(self, method: str | None, pattern: str) -> list[tuple[str, str, int]]:
        """Logged requests for `method` (None: any) whose path matches `pattern`."""
        with self.lock:
            return [c for c in self.log if method in (None, c[0]) and re.fullmatch(pattern, c[1])]

    def record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.log.append((method, path, status))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return

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
        if app.delay_s:
            time.sleep(app.delay_s)
        app.maybe_hang(split.path)
        fault = app.take_fault(self.command, split.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_s)
            fault = None
        if fault is not None and fault.kind in ("drop", "drop-before"):
            app.record(self.command, split.path, 0)
            self._drop(fault.kind == "drop")
            return
        if fault is not None and fault.kind == "status":
            reply = Reply(fault.status, fault.body, dict(fault.headers))
        else:
            with app.lock:
                reply = app.handle(request)
        app.record(self.command, split.path, reply.status)
        if fault is not None and fault.kind == "drop-after":
            self.close_connection = True
            return
        self._send(reply)

    def _drop(self, mid_answer: bool) -> None:
        """Close the connection; `mid_answer`: after promising a body and sending a bit."""
        if mid_answer:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"ResultSet": {"Result": [')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _send(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if payload and "content-type" not in {k.lower() for k in reply.headers}:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish (SIGKILLed runs, dropped connections) are expected


class Loopback:
    """Serves an `App` on 127.0.0.1:<free port> in a daemon thread (context manager)."""

    def __init__(self, app: App, tls: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.server = _QuietServer(("127.0.0.1", 0), _Handler)
        self.server.app = app  # type: ignore[attr-defined]
        self.scheme = "http"
        if tls is not None:  # https with the given server context (e.g. a self-signed cert)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        app.base_url = self.url

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def serving(app: App) -> Iterator[App]:
    """Run `app` on a free loopback port for the block; `app.base_url` says where."""
    with Loopback(app):
        yield app
