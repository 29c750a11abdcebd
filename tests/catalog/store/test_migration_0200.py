"""Migration 0200 (file state -> item state) on a database made by the old schema.

An installation harvested before 0200 has `harvest_files` rows (path, size, mtime_ns);
after the upgrade its next harvest must still skip every unchanged file, and keep the
cached facts, checksums and errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from catalog.domain.identity import SYSTEM
from catalog.domain.records import RecordCreate
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.store.database import MIGRATIONS, make_engine
from harvesters.base import FileFacts, HarvestedRecord, Harvester, ItemError
from harvesters.registry import harvesters


class NoteHarvester(Harvester):
    """Each `.note` file is an acquisition titled by its content."""

    name = "note"
    version = "1"
    reads: list[str] = []

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        yield from sorted(location.glob("*.note"))

    def read(self, path: Path) -> list[FileFacts]:
        NoteHarvester.reads.append(path.name)
        return [FileFacts(path=path.name, kind="note", data={"title": path.read_text()})]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        yield HarvestedRecord("c", RecordCreate(level="collection", title="notes"))
        for fact in facts:
            record = RecordCreate(level="acquisition", title=fact.data["title"])
            yield HarvestedRecord(fact.path, record, "c")


def _alembic(connection_url: str, target: str) -> None:
    engine = make_engine(connection_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)
    engine.dispose()


def test_old_file_state_survives_and_keeps_harvests_incremental(
    db_url: str, tmp_path: Path
) -> None:
    harvesters.register("note", NoteHarvester)
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.note").write_text("cached title")  # content differs from the cached facts
    (site / "b.note").write_text("B")
    stat = (site / "a.note").stat()
    _alembic(db_url, "0003")  # the schema as an installation before 0200 has it
    engine = make_engine(db_url)
    facts = [{"path": "a.note", "kind": "note", "data": {"title": "from the old state"}}]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO harvest_files (source, path, size, mtime_ns, checksum, facts, error)"
                " VALUES (:s, :p, :size, :mtime, :c, :f, NULL)"
            ),
            {
                "s": f"note:{site.resolve()}",
                "p": "a.note",
                "size": stat.st_size,
                "mtime": stat.st_mtime_ns,
                "c": "sha256:old",
                "f": json.dumps(facts),
            },
        )
    engine.dispose()

    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data", database_url=db_url))
    try:
        tables = set(inspect(catalog.engine).get_table_names())
        assert "harvest_items" in tables and "harvest_files" not in tables
        with catalog.uow() as uow:
            [state] = uow.harvest.items(f"note:{site.resolve()}").values()
        assert (state.key, state.checksum, state.facts) == ("a.note", "sha256:old", facts)
        assert state.fingerprint == f"{stat.st_size}:{stat.st_mtime_ns}"

        NoteHarvester.reads = []
        report = catalog.harvest.run(SYSTEM, "note", str(site))
    finally:
        catalog.close()
    assert NoteHarvester.reads == ["b.note"]  # a.note was not read again
    assert (report.files_cached, report.files_read, report.created) == (1, 1, 3)


@pytest.fixture(autouse=True)
def _forget_note() -> Iterator[None]:
    yield
    NoteHarvester.reads = []
