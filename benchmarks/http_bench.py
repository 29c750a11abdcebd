"""HTTP throughput of the search endpoint, against a trivial endpoint measured in the same run.

Builds a temporary catalogue of synthetic acquisitions (straight through the store and
the index sync, which is much faster than one service call per record), starts
`uvicorn catalog.web.app:create_app --factory` with one worker (= one core) on 127.0.0.1,
and hammers it from a separate load-generator process: a minimal keep-alive HTTP/1.1
client on asyncio streams (cheaper per request than httpx, so the client is not the
bottleneck). Each phase sends a bounded number of requests, once per round; rounds are
interleaved so that the machine's speed drifts touch every phase. Reported per phase
(median round): req/s, req per server CPU-second (from /proc; = req/s per core) with
its spread over the rounds, and the ratio to the `/api/health` baseline. With two or
more CPUs the server is pinned to one and the load generator to the others.

    python benchmarks/http_bench.py                 # 10^4 records, 4,000 requests a phase
    python benchmarks/http_bench.py --records 2000 --requests 1000
    python benchmarks/http_bench.py --workers-compare 2   # `imagora serve --workers 1` vs 2

`--workers-compare N` starts `imagora serve --workers 1`, then `--workers N`, on the same
data (one after the other, twice, alternating), waits until every worker has started, and
sends the same distinct queries (every URL new to the response caches) to each; it prints
the distinct-query rates and the ratio N workers / 1 worker. Nothing is pinned there: the
load generator shares the machine's cores with the server, so on a small machine the
ratio is bounded by what the client leaves over (report it with `uptime`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODALITIES = [("MR", 9.4, "Bruker"), ("MR", 3.0, "Siemens"), ("PT", None, "GE"), ("CT", None, "GE")]
SEQUENCES = ["RARE", "FLASH", "EPI", "MPRAGE", "DTI"]


def populate(data_dir: Path, count: int) -> None:
    """`count` acquisitions under 10 collections, written in one unit of work, then indexed."""
    sys.path.insert(0, str(ROOT))
    from catalog.domain.identity import SYSTEM
    from catalog.domain.records import Concept, Imaging, RecordCreate, SubjectInfo
    from catalog.services.container import Catalog
    from catalog.services.records import build_stored
    from catalog.settings import Settings

    rat = Concept(iri="http://purl.obolibrary.org/obo/NCBITaxon_10116", label="Rattus norvegicus")
    catalog = Catalog.open(Settings.load(data_dir=data_dir))
    collections = [
        catalog.records.create(
            SYSTEM, RecordCreate(level="collection", title=f"Study {n}", license="CC-BY-4.0")
        ).id
        for n in range(10)
    ]
    with catalog.uow() as uow:
        parents = uow.records.get_many(collections)
        for n in range(count):
            modality, tesla, maker = MODALITIES[n % len(MODALITIES)]
            data = RecordCreate(
                level="acquisition",
                title=f"{SEQUENCES[n % 5]} brain scan {n}",
                description=f"Synthetic acquisition number {n} of a rat brain study.",
                parent_id=collections[n % 10],
                imaging=Imaging(
                    modality=modality,
                    field_strength_t=tesla,
                    manufacturer=maker,
                    sequence=SEQUENCES[n % 5],
                ),
                subject=SubjectInfo(species=rat),
            )
            parent = parents[collections[n % 10]]
            uow.records.save(build_stored(f"acq{n:06d}", data, parent), snapshot=False)
        uow.commit()
    catalog.index_sync.apply_pending(timeout=120)
    catalog.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IMAGORA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env["IMAGORA_BASE_URL"] = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "catalog.web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, preexec_fn=_pin(SERVER_CPUS))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("uvicorn did not start within 60 s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----- load generator (runs in its own process) ----------------------------------------
async def _worker(port: int, paths: list[str], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for path in paths:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(port: int, paths: list[str], concurrency: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    shares = [paths[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(_worker(port, share, statuses) for share in shares if share))
    return time.perf_counter() - started, statuses


def _load_process(port: int, paths: list[str], concurrency: int, queue) -> None:  # type: ignore[no-untyped-def]
    _pin(CLIENT_CPUS)()
    queue.put(asyncio.run(_load(port, paths, concurrency)))


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


#: With 2+ CPUs the server gets the last one and the load generator the others, so that
#: they never take turns on one CPU (which made runs vary far more, and costs the server
#: cache refills that a real deployment would not see).
SERVER_CPUS = _cpus()[-1:] if len(_cpus()) >= 2 else []
CLIENT_CPUS = _cpus()[:-1] if len(_cpus()) >= 2 else []


def _pin(cpus: list[int]) -> Callable[[], None]:
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    return pin


def run_phase(
    server: subprocess.Popen[bytes], port: int, paths: list[str], concurrency: int
) -> tuple[float, float, dict[int, int]]:
    """(req/s, server CPU seconds, status counts) for one bounded batch of requests."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    before = cpu_seconds(server.pid)
    process = context.Process(target=_load_process, args=(port, paths, concurrency, queue))
    process.start()
    elapsed, statuses = queue.get(timeout=600)
    process.join()
    return len(paths) / elapsed, cpu_seconds(server.pid) - before, statuses


#: Three spellings of the same query string: each round's URLs are new to the server's
#: response cache, while the search work stays the same.
_SPELLINGS = ("{q}&{f}", "{f}&{q}", "{q}&{f}&page=1")


def phases(requests: int, round_number: int = 0) -> dict[str, list[str]]:
    spelling = _SPELLINGS[round_number % len(_SPELLINGS)]

    def search(q: str, f: str) -> str:
        return "/api/records?" + spelling.format(q=q, f=f)

    return {
        "baseline GET /api/health": ["/api/health"] * requests,
        "search, one popular query (cache hits)": [search("q=brain+scan", "modality=MR")]
        * requests,
        "search, all queries distinct (cache misses)": [
            search(f"q=brain+scan+{n}", "modality=MR") for n in range(requests)
        ],
        # every URL distinct and each matching thousands of records: full facet counting
        "search, broad queries, all distinct": _broad_queries(requests, search),
        "record GET /api/records/{id} (store, no cache)": [
            f"/api/records/acq{n % 1000:06d}" for n in range(max(requests // 4, 1))
        ],
    }


def _broad_queries(count: int, search: Callable[[str, str], str]) -> list[str]:
    """Distinct URLs of queries that match 1,000s of records (pages x sorts x filters).

    Pages 1-10, where people look; deep pages sorted by title or date are slower (tantivy
    orders string fast fields in time linear in the offset).
    """
    urls = []
    for text in ("brain", "scan", "rat brain", "brain scan"):
        for sort in ("relevance", "title", "updated"):
            for modality in ("", "&modality=MR", "&modality=PT", "&modality=CT"):
                for page in range(1, 11):
                    q = f"q={text.replace(' ', '+')}"
                    urls.append(search(q, f"sort={sort}{modality}&page={page}"))
    return urls[: max(count, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=4_000, help="per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per phase")
    parser.add_argument(
        "--workers-compare",
        type=int,
        metavar="N",
        help="compare `imagora serve --workers 1` and `--workers N` on distinct queries",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagora-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        populate(data_dir, args.records)
        print(f"catalogue: {args.records} acquisitions in {time.perf_counter() - started:.1f} s")
        if args.workers_compare:
            compare_workers(data_dir, args)
            return
        port = free_port()
        server = start_server(data_dir, port)
        try:
            report(server, port, args)
        finally:
            server.terminate()
            server.wait(10)


def report(server: subprocess.Popen[bytes], port: int, args: argparse.Namespace) -> None:
    """Each phase runs once per round, rounds interleaved, so drifts in the machine's
    speed touch the baseline and the searches alike; the table shows the median round."""
    warm = [f"/api/records?q=warm+{n}&modality=MR" for n in range(300)]
    run_phase(server, port, ["/api/health"] * 200 + warm, 4)  # warm-up
    print(f"uvicorn, 1 worker (1 core); {args.concurrency} connections; {args.rounds} rounds")
    results: dict[str, list[tuple[float, float]]] = {}
    statuses: dict[str, dict[int, int]] = {}
    for round_number in range(args.rounds):
        for name, paths in phases(args.requests, round_number).items():
            rate, cpu, counts = run_phase(server, port, paths, args.concurrency)
            per_core = len(paths) / cpu if cpu > 0 else float("nan")
            results.setdefault(name, []).append((rate, per_core))
            for status, number in counts.items():
                statuses.setdefault(name, {}).setdefault(status, 0)
                statuses[name][status] += number
    header = f"{'phase':48} {'req/s':>8} {'req/CPU-s':>9} {'(min-max)':>13} {'ratio':>6}"
    print(header + "  statuses")
    baseline = statistics.median(per_core for _, per_core in results["baseline GET /api/health"])
    for name, rounds in results.items():
        rate = statistics.median(r for r, _ in rounds)
        per_core = statistics.median(p for _, p in rounds)
        spread = f"{min(p for _, p in rounds):.0f}-{max(p for _, p in rounds):.0f}"
        print(
            f"{name:48} {rate:8.0f} {per_core:9.0f} {spread:>13} {per_core / baseline:6.2f}"
            f"  {statuses[name]}"
        )
    print("req/CPU-s = requests per second of server CPU time, i.e. req/s per core;")
    print("ratio = req/CPU-s against the /api/health baseline of the same run")


# ----- `imagora serve --workers N` against one worker ------------------------------------


def start_imagora(data_dir: Path, port: int, workers: int) -> subprocess.Popen[str]:
    """`imagora serve --workers N` on 127.0.0.1, returned once every worker has said
    "Application startup complete" (a worker that answers early would hide the others)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMAGORA_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "catalog.cli.main", "--data-dir", str(data_dir), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert server.stderr is not None
    started, deadline = 0, time.monotonic() + 180
    while started < workers and time.monotonic() < deadline:
        line = server.stderr.readline()
        if not line and server.poll() is not None:
            raise SystemExit(f"imagora serve --workers {workers} exited ({server.returncode})")
        started += "Application startup complete" in line
    if started < workers:
        stop(server)
        raise SystemExit(f"imagora serve --workers {workers}: not every worker started")
    threading.Thread(target=_drain, args=(server.stderr,), daemon=True).start()
    return server


def _drain(stream: object) -> None:
    """Keep reading the server's log so a full pipe never blocks its workers."""
    for _ in stream:  # type: ignore[attr-defined]
        pass


def stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (the supervisor and its workers)."""
    pids = [pid, *_children(pid)]
    total = 0.0
    for one in pids:
        try:
            total += cpu_seconds(one)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        if children.is_file():
            found += [int(p) for p in children.read_text().split()]
    return found


def distinct_paths(count: int, offset: int) -> list[str]:
    """Search URLs that are all new to every response cache, each a full search with
    facets: a query that matches thousands of records, made distinct by excluding a
    word no record holds (`brain -zz17`), which changes no hit and no count."""
    texts = ("brain", "scan", "rat brain", "brain scan")
    return [
        f"/api/records?q={texts[n % 4].replace(' ', '+')}+-zz{offset + n}&page={1 + n % 5}"
        for n in range(count)
    ]


def compare_workers(data_dir: Path, args: argparse.Namespace) -> None:
    """Distinct-query rates of 1 and N workers, alternating (1, N, 1, N), medians."""
    many = args.workers_compare
    rates: dict[int, list[float]] = {1: [], many: []}
    per_cpu: dict[int, list[float]] = {1: [], many: []}
    offset = 0
    for round_number in range(args.rounds):
        for workers in (1, many):
            port = free_port()
            server = start_imagora(data_dir, port, workers)
            try:
                warm = distinct_paths(50 * workers, 10_000_000 + offset)
                _unpinned_phase(port, warm, args.concurrency)
                paths = distinct_paths(args.requests, offset)
                offset += args.requests
                before = tree_cpu_seconds(server.pid)
                rate, statuses = _unpinned_phase(port, paths, args.concurrency)
                cpu = tree_cpu_seconds(server.pid) - before
            finally:
                stop(server)
            if set(statuses) != {200}:
                raise SystemExit(f"--workers {workers}: answers other than 200: {statuses}")
            rates[workers].append(rate)
            per_cpu[workers].append(len(paths) / cpu if cpu > 0 else float("nan"))
            print(
                f"round {round_number + 1}: --workers {workers}: {rate:8.0f} distinct req/s, "
                f"server CPU {cpu:.1f} s, statuses {statuses}"
            )
    one, more = statistics.median(rates[1]), statistics.median(rates[many])
    print(f"imagora serve --workers 1: {one:.0f} distinct queries/s (median)")
    print(f"imagora serve --workers {many}: {more:.0f} distinct queries/s (median)")
    print(f"ratio {many} workers / 1 worker: {more / one:.2f}x on {len(_cpus()) or '?'} CPUs")
    cpu_one, cpu_more = statistics.median(per_cpu[1]), statistics.median(per_cpu[many])
    print(
        f"requests per server CPU-second: {cpu_one:.0f} (1 worker), {cpu_more:.0f} ({many}); "
        "equal figures mean the workers do not slow each other (no shared lock)"
    )
    print(f"load average while measuring: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _unpinned_phase(port: int, paths: list[str], concurrency: int) -> tuple[float, dict[int, int]]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_load_unpinned, args=(port, paths, concurrency, queue))
    process.start()
    elapsed, statuses = queue.get(timeout=600)
    process.join()
    return len(paths) / elapsed, statuses


def _load_unpinned(port: int, paths: list[str], concurrency: int, queue) -> None:  # type: ignore[no-untyped-def]
    queue.put(asyncio.run(_load(port, paths, concurrency)))


if __name__ == "__main__":
    main()
