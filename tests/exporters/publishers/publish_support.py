"""Helpers shared by the publishing tests: a fake clock, a package, a sample deposit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog.domain.records import RecordPublic
from exporters.publishers.base import Deposit, Package, PackageFile
from exporters.publishers.http import RetryPolicy

WHEN = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
BASE = "https://imagora.example.org"


@dataclass
class FakeClock:
    """Time that only moves when the client sleeps; records every wait."""

    now: float = 1_800_000_000.0
    waits: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now

    def policy(self, attempts: int = 6) -> RetryPolicy:
        return RetryPolicy(attempts=attempts, backoff_s=0.5, sleep=self.sleep, clock=self.time)


def package_of(tmp_path: Path, files: dict[str, bytes]) -> Package:
    entries = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        entries.append(
            PackageFile(
                name=name,
                path=path,
                size=len(data),
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return Package(files=tuple(entries))


def sample_record(**fields: Any) -> RecordPublic:
    data: dict[str, Any] = {
        "id": "rat-study",
        "level": "collection",
        "title": "Rat brain MRI at 9.4 T",
        "description": "Structural MRI of adult rat brains acquired at 9.4 T with RARE.",
        "creators": [{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Inria"}],
        "license": "CC-BY-4.0",
        "keywords": ["rat", "MRI"],
        "terms": [
            {
                "iri": "http://purl.obolibrary.org/obo/NCBITaxon_10116",
                "label": "Rattus norvegicus",
                "scheme": "NCBITaxon",
                "status": "accepted",
            }
        ],
        "related": [{"identifier": "10.1234/paper", "scheme": "DOI", "relation": "IsSupplementTo"}],
        "identifiers": [{"identifier": "10.13039/501100000780::675191", "scheme": "grant"}],
        "created": WHEN,
        "updated": WHEN,
    }
    data.update(fields)
    return RecordPublic.model_validate(data)


def deposit_of(record: RecordPublic, package: Package, version: int = 1, previous=None) -> Deposit:  # type: ignore[no-untyped-def]
    return Deposit(
        record=record,
        version=version,
        landing_url=f"{BASE}/records/{record.id}",
        publisher_name="Imagora test",
        package=package,
        previous=previous,
        publication_date="2026-12-02",
    )
