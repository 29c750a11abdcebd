"""Hostile-input costs of issue 9, printed as ratios (never asserted: no timed tests).

- CKAN `package_show` of one record with 5k / 10k / 20k keywords (built past the
  validation cap on purpose, as records stored before the cap could be): the tag list
  used to be quadratic (0.13 / 0.54 / 1.65 s); the ratio 20k/5k should be ~4, not ~13.
- The sitemap: build time for N public records and the cost of a cached answer.

Run: `PYTHONPATH=. python benchmarks/robust_bench.py [--records N]` (small by default:
the machine is shared).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from catalog.domain.identity import SYSTEM
from catalog.domain.records import RecordCreate, RecordPublic
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.web.cache import stamp_generation
from catalog.web.sitemap import SitemapCache
from exporters.base import ExportContext
from exporters.ckan import package


def _best(function, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def keywords_bench() -> None:
    now = datetime.now(UTC)
    base = RecordPublic(id="r", level="collection", title="t", created=now, updated=now)
    context = ExportContext(base_url="http://127.0.0.1:8000")
    timings = {}
    for count in (5_000, 10_000, 20_000):
        record = base.model_copy(update={"keywords": [f"keyword {i}" for i in range(count)]})
        timings[count] = _best(lambda record=record: package(record, context))
        print(f"package_show with {count:>6} keywords: {timings[count] * 1000:8.1f} ms")
    print(f"ratio 20k/5k: {timings[20_000] / timings[5_000]:.1f} (linear: 4, quadratic: 16)")


def sitemap_bench(records: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        catalog = Catalog.open(Settings.load(data_dir=Path(folder) / "data"))
        try:
            for number in range(records):
                catalog.records.create(
                    SYSTEM, RecordCreate(level="collection", title=f"Study {number}")
                )
            stamp = catalog.index_sync.lock_path.with_suffix(".stamp")
            cache = SitemapCache(catalog.records, "http://x", stamp_generation(stamp))
            build = _best(cache.build)
            cache.document()
            cached = _best(cache.document, repeat=100)
            print(
                f"sitemap of {records} records: built in {build * 1000:.1f} ms, "
                f"cached answer {cached * 1e6:.1f} us ({build / cached:.0f}x)"
            )
        finally:
            catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()
    keywords_bench()
    sitemap_bench(args.records)


if __name__ == "__main__":
    main()
