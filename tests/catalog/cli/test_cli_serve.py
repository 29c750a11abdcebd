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


def _locked_inodes() -> dict[int, set[int]]:
    """Inode -> pids holding a POSIX or flock lock on it, from /proc/locks."""
    held: dict[int, set[int]] = {}
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, listed under the lock it waits for
            fields.remove("->")
        pid, where = fields[4], fields[5]
        held.setdefault(int(where.rsplit(":", 1)[1]), set()).add(int(pid))
    return held


def test_each_worker_reads_the_index_and_store_itself_and_holds_no_lock(
    server: str, data_dir: Path
) -> None:
    """N workers are N independent readers: each maps the index segments and opens the
    store itself, and none keeps the index's write lock while it serves searches (a
    global lock would make two workers no faster than one)."""
    pids = _pids(data_dir)
    assert len(pids) == 2, "expected two worker processes"
    for n in range(16):  # new connections, so both workers search
        answer = httpx.get(f"{server}/api/records?q=brain+{n}", headers={"Connection": "close"})
        assert answer.status_code == 200
    index_dir, store = str(data_dir / "index"), str(data_dir / "catalog.db")
    for pid in pids:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert index_dir in maps, f"worker {pid} has not mapped the index"
        fds = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir() if fd.is_symlink()}
        assert store in fds, f"worker {pid} has no connection of its own to the store"
    locks = _locked_inodes()
    lock_files = [data_dir / "index.lock", *Path(index_dir).glob("*.lock")]
    for path in lock_files:
        if path.exists():
            holders = locks.get(path.stat().st_ino, set())
            assert not holders & pids, f"{path.name} is held by a worker: {holders & pids}"
