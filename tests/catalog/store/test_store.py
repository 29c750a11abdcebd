"""Store tests: migrations, repositories, outbox and versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from catalog.domain.errors import ConfigurationError
from catalog.domain.results import ItemState
from catalog.services.container import Catalog
from catalog.store.database import MIGRATIONS, make_engine, migrate
from catalog.store.models import Base
from catalog.store.repository import StoredRecord


def _record(record_id: str, parent: str | None = None, level: str = "acquisition") -> StoredRecord:
    return StoredRecord(
        id=record_id,
        level=level,
        title=f"Record {record_id}",
        body={"imaging": {"modality": "MR"}, "source": {"type": "deposit"}},
        access={"record": "public", "files": "open", "grants": []},
        parent_id=parent,
        origin=f"test:/data#{record_id}",
        content_hash="h" + record_id,
    )


def test_migrations_create_every_table_and_are_idempotent(catalog: Catalog) -> None:
    migrate(catalog.engine)  # a second run is a no-op, not an error
    tables = set(inspect(catalog.engine).get_table_names())
    assert {
        "records",
        "record_versions",
        "index_outbox",
        "tokens",
        "harvest_items",
        "harvest_runs",
        "alembic_version",
    } <= tables
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        # the migrations build exactly what the models declare (no forgotten migration)
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_save_get_roundtrip_keeps_body_and_timezone(catalog: Catalog) -> None:
    with catalog.uow() as uow:
        uow.records.save(_record("c1", level="collection"))
        uow.records.save(_record("a1", parent="c1"))
        uow.commit()
    with catalog.uow() as uow:
        got = uow.records.get("a1")
        assert got is not None
        assert got.body["imaging"] == {"modality": "MR"}
        assert got.parent_id == "c1"
        assert got.created.tzinfo is not None
        assert [a.id for a in uow.records.ancestors(got)] == ["c1"]
        assert uow.records.children_ids("c1") == ["a1"]
        assert uow.records.by_origin("test:/data#a1").id == "a1"  # type: ignore[union-attr]


def test_every_save_writes_an_outbox_row_in_the_same_transaction(catalog: Catalog) -> None:
    with catalog.uow() as uow:
        before = uow.outbox.count()
        uow.records.save(_record("x1", level="collection"))
        # rolled back: neither the record nor its outbox row survive
    with catalog.uow() as uow:
        assert uow.records.get("x1") is None
        assert uow.outbox.count() == before
        uow.records.save(_record("x2", level="collection"))
        uow.commit()
    with catalog.uow() as uow:
        assert [r for _, r in uow.outbox.pending(10)] == ["x2"]


def test_origin_prefix_lookup_escapes_like_wildcards(catalog: Catalog) -> None:
    with catalog.uow() as uow:
        a = _record("p1", level="collection")
        a.origin = "dicom:/data/a_b#collection"
        b = _record("p2", level="collection")
        b.origin = "dicom:/data/aXb#collection"
        uow.records.save(a)
        uow.records.save(b)
        uow.commit()
    with catalog.uow() as uow:
        found = uow.records.origins_with_prefix("dicom:/data/a_b#")
    assert list(found) == ["dicom:/data/a_b#collection"]


def test_published_version_snapshot_is_immutable(catalog: Catalog) -> None:
    with catalog.uow() as uow:
        rec = _record("v1", level="collection")
        uow.records.save(rec)
        uow.records.mark_published("v1", 1)
        uow.commit()
    with catalog.uow() as uow:
        rec.title = "changed"
        uow.records.save(rec)  # same version number: the snapshot must not change
        uow.commit()
        assert uow.records.published_versions("v1") == [1]
        snap = uow.session.execute(
            text("SELECT body FROM record_versions WHERE record_id='v1' AND version=1")
        ).scalar()
    assert "changed" not in str(snap)


def test_harvest_item_state_roundtrip(catalog: Catalog) -> None:
    state = ItemState(
        "a/b.dcm", "10:123", "sha256:00", [{"path": "a/b.dcm", "kind": "x", "data": {"k": 1}}]
    )
    with catalog.uow() as uow:
        uow.harvest.put_many("dicom:/d", [state])
        uow.commit()
    changed = ItemState("a/b.dcm", "11:124", "sha256:01", [], "bad header")
    with catalog.uow() as uow:
        assert uow.harvest.items("dicom:/d") == {"a/b.dcm": state}
        uow.harvest.put_many("dicom:/d", [changed])  # replaces, never duplicates
        uow.commit()
    with catalog.uow() as uow:
        assert uow.harvest.items("dicom:/d") == {"a/b.dcm": changed}
        uow.harvest.remove("dicom:/d", ["a/b.dcm"])
        uow.commit()
    with catalog.uow() as uow:
        assert uow.harvest.items("dicom:/d") == {}


def test_bad_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a database URL"):
        make_engine("not a url at all")
    with pytest.raises(ConfigurationError, match="postgres"):
        make_engine("postgresql+nosuchdriver://u@h/db")
