"""A full re-read of Shanoir-NG, over HTTP against the loopback server.

Shanoir-NG's listings carry no update date, and an acquisition's protocol (which holds
`magneticFieldStrength`) is in no listing row: a protocol changed alone keeps every
fingerprint, so an incremental run misses it. `full` re-reads every item and picks it
up, with record ids unchanged; a full run over an unchanged source rebuilds nothing, and
does not count as a change of mapping (the next incremental run is settled at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loopback import Loopback
from shanoir_fake import FakeShanoir, realistic

from catalog.domain.identity import SYSTEM
from catalog.domain.results import HarvestReport
from catalog.services.container import Catalog
from catalog.services.harvest import VERSION_KEY
from catalog.web.app import create_app

ALICE = {"user": "alice", "password": "pw", "backoff_s": 0.01}


@pytest.fixture
def shanoir() -> Iterator[Loopback]:
    with Loopback(FakeShanoir(realistic())) as server:
        yield server


def harvest(catalog: Catalog, server: Loopback, **options: Any) -> HarvestReport:
    opts = catalog.harvest.parse_options("shanoir", {**ALICE, **options})
    return catalog.harvest.run(SYSTEM, "shanoir", server.url, opts)


def records(catalog: Catalog) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with catalog.uow() as uow:
        for batch in uow.records.iter_all():
            for r in batch:
                key = (r.origin or "").split("#", 1)[-1]
                found[key] = {"id": r.id, "version": r.version, "body": r.body}
    return found


def mapping_stamp(catalog: Catalog, source: str) -> str:
    with catalog.uow() as uow:
        return uow.harvest.items(source, [VERSION_KEY])[VERSION_KEY].fingerprint


def field_strength(catalog: Catalog, key: str) -> float:
    return records(catalog)[key]["body"]["imaging"]["field_strength_t"]


def test_protocol_change_alone_is_seen_only_by_a_full_run(
    catalog: Catalog, shanoir: Loopback
) -> None:
    first = harvest(catalog, shanoir)
    assert (first.created, first.failed, first.full) == (16, 0, False), first.errors
    ids = {k: v["id"] for k, v in records(catalog).items()}
    assert field_strength(catalog, "acquisition:1001") == 3.0
    shanoir.app.data.exams[101].acquisitions[0].field_t = 7.0  # type: ignore[attr-defined]

    missed = harvest(catalog, shanoir)
    assert (missed.files_read, missed.updated, missed.unchanged) == (0, 0, 16)
    assert field_strength(catalog, "acquisition:1001") == 3.0  # the documented blind spot

    full = harvest(catalog, shanoir, full=True)
    assert full.full is True and full.failed == 0, full.errors
    assert full.files_read == first.files_read  # every item read again
    assert (full.created, full.updated, full.withdrawn) == (0, 1, 0), full
    now = records(catalog)
    assert now["acquisition:1001"]["body"]["imaging"]["field_strength_t"] == 7.0
    assert {k: v["id"] for k, v in now.items()} == ids  # record ids stable


def test_full_run_over_an_unchanged_source_rebuilds_nothing(
    catalog: Catalog, shanoir: Loopback
) -> None:
    first = harvest(catalog, shanoir)
    before = records(catalog)
    stamp = mapping_stamp(catalog, first.source)

    full = harvest(catalog, shanoir, full=True)
    assert full.full is True and full.files_read == first.files_read
    assert (full.created, full.updated, full.withdrawn, full.unchanged) == (0, 0, 0, 16)
    assert records(catalog) == before  # same bodies, same versions
    assert mapping_stamp(catalog, first.source) == stamp  # `full` is not a mapping change

    settled = harvest(catalog, shanoir)
    assert (settled.files_read, settled.updated, settled.unchanged) == (0, 0, 16)


def test_kept_run_reports_say_which_runs_were_full(catalog: Catalog, shanoir: Loopback) -> None:
    harvest(catalog, shanoir)
    harvest(catalog, shanoir, full=True)
    admin = {"Authorization": f"Bearer {catalog.tokens.create(SYSTEM, 'root', 'admin')}"}
    with TestClient(create_app(catalog=catalog)) as client:
        body = client.get("/api/harvests", headers=admin).json()
        page = client.get("/harvests", headers=admin)
    newest, oldest = body["runs"]
    assert (newest["report"]["full"], oldest["report"]["full"]) == (True, False)
    assert page.status_code == 200 and page.text.count("(full re-read)") == 1
