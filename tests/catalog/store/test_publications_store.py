"""The `publications` table (migration 0300): one row per (record, service, version)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.store.models import PublicationRow
from catalog.store.repository import StoredPublication, StoredRecord


def _roundtrip(catalog: Catalog) -> None:
    with catalog.uow() as uow:
        uow.records.save(StoredRecord(id="c1", level="collection", title="C", body={}, access={}))
        uow.publications.save(
            StoredPublication("c1", "zenodo", 1, checkpoint={"step": "draft", "remote_id": "7"})
        )
        uow.commit()
    with catalog.uow() as uow:
        item = uow.publications.get("c1", "zenodo", 1)
        assert item is not None and item.checkpoint == {"step": "draft", "remote_id": "7"}
        item.state, item.doi = "published", "10.5072/zenodo.7"
        uow.publications.save(item)
        uow.publications.save(StoredPublication("c1", "zenodo", 2))
        uow.commit()
    with catalog.uow() as uow:
        assert [(p.version, p.state) for p in uow.publications.for_record("c1")] == [
            (2, "started"),
            (1, "published"),
        ]
        assert uow.publications.get("c1", "zenodo", 1).created.tzinfo is not None  # type: ignore[union-attr]
    # the key forbids a second row (a second deposition) for one record version
    with catalog.uow() as uow, pytest.raises(IntegrityError):
        uow.session.add(
            PublicationRow(
                record_id="c1",
                target="zenodo",
                version=1,
                state="started",
                checkpoint={},
                created=item.created,
                updated=item.created,
            )
        )
        uow.session.flush()


def test_publications_on_sqlite(tmp_path: Path) -> None:
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        _roundtrip(catalog)
    finally:
        catalog.close()


@pytest.mark.postgres
def test_publications_on_postgres(tmp_path: Path, pg_database: str) -> None:
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data", database_url=pg_database))
    try:
        _roundtrip(catalog)
    finally:
        catalog.close()
