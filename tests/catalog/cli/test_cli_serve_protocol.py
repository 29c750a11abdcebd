"""`imagora serve` answers requests its HTTP parser refuses in JSON too (issue 9): a URL
too long for the parser is a JSON 414, a malformed request a JSON 400 (it used to be
uvicorn's plain text "Invalid HTTP request received.")."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port(data_dir: Path) -> Iterator[int]:
    number = _free_port()
    found = shutil.which("imagora", path=str(Path(sys.executable).parent))
    command = [found] if found else [sys.executable, "-m", "catalog.cli.main"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "serve", "--port", str(number)],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{number}/api/health", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("imagora serve did not answer within 90 s")
        yield number
    finally:
        process.terminate()
        process.wait(30)


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send raw bytes; (status line, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        # the server may answer and stop reading before all is sent: read the answer
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def test_long_query_strings_get_a_json_414(port: int) -> None:
    for size in (17_000, 70_000, 200_000):  # the app's limit, then the parser's
        status, headers, body = _raw(port, _get("/api/records?q=" + "a" * size))
        assert status.startswith("HTTP/1.1 414"), (size, status)
        assert headers["content-type"] == "application/json"
        error = json.loads(body)
        assert error["error"] == "uri_too_long"
        assert "16384 bytes" in error["message"]


def test_malformed_request_gets_a_json_400(port: int) -> None:
    status, headers, body = _raw(port, b"BLAH /\x01 NOPE\r\n\r\n")
    assert status.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "bad_request"
    assert "not valid HTTP/1.1" in json.loads(body)["message"]
