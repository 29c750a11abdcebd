"""`imagora serve --workers N`: several server processes over one installation; a write
answered by one of them is seen by every other at once, cached answers included."""

from __future__ import annotations

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
from cli_support import Invoke, Seeded

from catalog.domain.identity import ANONYMOUS
from catalog.services.container import Catalog
from catalog.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _imagora() -> list[str]:
    found = shutil.which("imagora", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "catalog.cli.main"]


@pytest.fixture
def server(data_dir: Path, seeded: Seeded) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "IMAGORA_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [*_imagora(), "--data-dir", str(data_dir), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("imagora serve --workers 2 did not answer within 90 s")
        yield base
    finally:
        process.terminate()
        process.wait(30)


def _pids(data_dir: Path) -> set[int]:
    """Worker processes serving this data dir (children of the uvicorn supervisor)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and str(data_dir).encode() in environ:
                found.add(int(entry.name))
    return found


def test_workers_see_each_others_writes(
    server: str, invoke: Invoke, data_dir: Path, seeded: Seeded
) -> None:
    assert len(_pids(data_dir)) == 2, "expected two worker processes"
    token = invoke("tokens", "create", "--user", "carol", "--role", "curator").stdout.strip()
    search = f"{server}/api/records?q=tractography"
    for _ in range(12):  # new connections: both workers answer, and cache, the empty result
        assert httpx.get(search, headers={"Connection": "close"}).json()["total"] == 0
    created = httpx.post(
        f"{server}/api/records",
        json={"level": "acquisition", "title": "Tractography of the rat brain"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    for _ in range(12):
        body = httpx.get(search, headers={"Connection": "close"}).json()
        assert body["total"] == 1 and body["hits"][0]["id"] == created.json()["id"]
    catalog = Catalog.open(Settings.load(data_dir=data_dir))
    try:
        stored = catalog.records.get(ANONYMOUS, created.json()["id"])
        assert stored.title == "Tractography of the rat brain"
    finally:
        catalog.close()
