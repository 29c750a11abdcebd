"""Remote harvest benchmark against the loopback XNAT (and Shanoir-NG) test servers.

    python benchmarks/remote_harvest_bench.py [--acquisitions 10000] [--delay-ms 5]
        [--scans-per-session 10] [--kind xnat|shanoir|all] [--profile] [--no-resources]
        [--fetch-only]

For each source kind: a full harvest into a fresh catalogue (acquisitions/s), then an
unchanged re-harvest (the ratio full / unchanged), and the HTTP requests made per
acquisition (target <= 0.1 for XNAT with `columns=`). Every request waits `--delay-ms`
in the server, like a real one on a LAN. `--fetch-only` adds the harvester's own part
(discover, fetch, assemble: HTTP, parsing, mapping rows to records) without the
catalogue's writes, as acquisitions/s and its share of the full harvest's time. Small
sizes are fine on a shared machine (`--acquisitions 1000`); the issue's figure is 10^4
with 5 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "harvesters" / "remote"))
sys.path.insert(0, str(ROOT / "tests"))  # the shared loopback server

from loopback import App, Loopback  # noqa: E402

from catalog.domain.identity import SYSTEM  # noqa: E402
from catalog.services.container import Catalog  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from harvesters.base import FileFacts  # noqa: E402


def _server(kind: str, acquisitions: int, per_session: int) -> tuple[App, dict[str, Any]]:
    if kind == "xnat":
        from xnat_fake import FakeXnat, bulk

        return FakeXnat(bulk(acquisitions, per_session)), {"user": "admin", "password": "s3cret!"}
    from shanoir_fake import FakeShanoir, bulk_study

    return FakeShanoir(bulk_study(acquisitions)), {"user": "alice", "password": "pw"}


def bench(kind: str, args: argparse.Namespace) -> dict[str, float]:
    app, creds = _server(kind, args.acquisitions, args.scans_per_session)
    app.delay_s = args.delay_ms / 1000
    with tempfile.TemporaryDirectory() as tmp, Loopback(app) as server:
        catalog = Catalog.open(Settings.load(data_dir=Path(tmp) / "data", secret_key="bench"))
        try:
            extra = {"resources": False} if kind == "xnat" and args.no_resources else {}
            options = catalog.harvest.parse_options(kind, {**creds, "concurrency": 8, **extra})
            if catalog.harvest.annotate is not None:  # load the vocabularies outside the timing
                from catalog.domain.records import RecordCreate

                catalog.harvest.annotate(RecordCreate(level="collection", title="warm"), [])
            profile = cProfile.Profile() if args.profile else None
            start = time.perf_counter()
            if profile:
                profile.enable()
            full = catalog.harvest.run(SYSTEM, kind, server.url, options)
            full_s = time.perf_counter() - start
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            profile = cProfile.Profile() if args.profile else None
            start = time.perf_counter()
            if profile:
                profile.enable()
            again = catalog.harvest.run(SYSTEM, kind, server.url, options)
            again_s = time.perf_counter() - start
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        finally:
            catalog.close()
        if args.fetch_only:
            fetch_s, produced = harvester_only(catalog, kind, server.url, options)
    acquisitions = args.acquisitions
    if args.fetch_only:
        print(
            f"{kind}: harvester alone (discover + fetch + assemble, {produced} records) "
            f"{fetch_s:.2f} s = {acquisitions / fetch_s:,.0f} acquisitions/s, "
            f"{fetch_s / full_s:.0%} of the full harvest",
            flush=True,
        )
    result = {
        "full_acq_per_s": acquisitions / full_s,
        "unchanged_ratio": full_s / again_s,
        "requests_per_acq": full.requests / acquisitions,
    }
    print(
        f"{kind}: {acquisitions} acquisitions, {args.delay_ms} ms/request; full harvest "
        f"{full_s:.2f} s = {result['full_acq_per_s']:,.0f} acquisitions/s "
        f"({full.created} records, {full.requests} requests = "
        f"{result['requests_per_acq']:.3f}/acquisition); unchanged re-harvest {again_s:.2f} s "
        f"({again.requests} requests) = {result['unchanged_ratio']:.1f}x faster",
        flush=True,
    )
    return result


def harvester_only(catalog: Catalog, kind: str, url: str, options: Any) -> tuple[float, int]:
    """The harvester's part of a full harvest, every item treated as new; no writes."""
    harvester = catalog.harvest.make_harvester(kind, options)
    start = time.perf_counter()
    where = harvester.open(url)
    try:
        refs = [r for r in harvester.discover_items(where) if not hasattr(r, "error")]
        facts = [
            FileFacts(fact["path"], fact["kind"], fact.get("data") or {})
            for fetched in harvester.fetch(where, [(ref, None) for ref in refs])
            for fact in fetched.facts or []
        ]
        produced = sum(1 for _ in harvester.assemble(where, facts))
    finally:
        harvester.close()
    return time.perf_counter() - start, produced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--acquisitions", type=int, default=10_000)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--scans-per-session", type=int, default=10)
    parser.add_argument("--kind", choices=["xnat", "shanoir", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--no-resources", action="store_true", help="XNAT: skip the scans' resources"
    )
    parser.add_argument(
        "--fetch-only",
        action="store_true",
        help="also time the harvester alone (discover, fetch, assemble), without writes",
    )
    args = parser.parse_args()
    kinds = ["xnat", "shanoir"] if args.kind == "all" else [args.kind]
    for kind in kinds:
        bench(kind, args)


if __name__ == "__main__":
    main()
