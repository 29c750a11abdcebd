"""OAI-PMH harvest benchmark: a full ListRecords (oai_datacite) with resumption tokens.

    python benchmarks/oai_bench.py [--records 2000] [--page 100]

Builds two catalogues of public collection records (N/4 and N), harvests each completely
through the ASGI app in this process, and prints records/s and the largest Python memory
allocated while answering one request (tracemalloc peak). Keyset paging means a response
costs one page whatever the catalogue's size: the ratio of the two peaks stays near 1,
while an offset- or list-based server would grow with N.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from catalog.domain.records import RecordCreate
from catalog.services.container import Catalog
from catalog.services.records import build_stored
from catalog.settings import Settings
from catalog.web.app import create_app

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def build(data_dir: Path, count: int, page: int) -> Catalog:
    catalog = Catalog.open(Settings.load(data_dir=data_dir, oai_page_size=page))
    with catalog.uow() as uow:
        for number in range(count):
            data = RecordCreate(
                level="collection",
                title=f"Study {number:06d}",
                description="Structural MRI of adult rat brains at 9.4 T, benchmark record.",
                creators=[{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097"}],
                license="CC-BY-4.0",
                keywords=["rat", "brain"],
            )
            uow.records.save(build_stored(f"b{number:06d}", data, None), snapshot=False)
        uow.commit()
    catalog.index_sync.rebuild()
    return catalog


def harvest(catalog: Catalog) -> tuple[int, float, int]:
    """(records, seconds, peak bytes allocated by one request)."""
    client = TestClient(create_app(catalog=catalog))
    params = {"verb": "ListRecords", "metadataPrefix": "oai_datacite"}
    seen, peak, started = 0, 0, time.perf_counter()
    while True:
        tracemalloc.start()
        response = client.get("/oai", params=params)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        root = etree.fromstring(response.content)
        seen += len(root.findall(f".//{OAI}record"))
        token = root.findtext(f".//{OAI}resumptionToken")
        if not token:
            return seen, time.perf_counter() - started, peak
        params = {"verb": "ListRecords", "resumptionToken": token}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    results = []
    for count in (args.records // 4, args.records):
        with tempfile.TemporaryDirectory() as tmp:
            catalog = build(Path(tmp) / "data", count, args.page)
            try:
                seen, seconds, peak = harvest(catalog)
            finally:
                catalog.close()
        assert seen == count, (seen, count)
        results.append(peak)
        print(
            f"{count:>7} records: {seconds:6.2f} s, {count / seconds:7.0f} records/s, "
            f"peak per request {peak / 1e6:6.2f} MB"
        )
    print(f"peak memory ratio (N / N/4): {results[1] / results[0]:.2f} (constant memory: ~1)")


if __name__ == "__main__":
    main()
