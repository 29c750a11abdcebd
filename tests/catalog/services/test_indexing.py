"""Index consistency: outbox replay after failures, rebuild, cross-process visibility."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import RecordCreate
from catalog.domain.search import IndexDocument
from catalog.search.tantivy_backend import TantivyBackend
from catalog.services.container import Catalog
from catalog.services.indexing import IndexBusyError, file_lock
from catalog.services.records import SearchRequest
from catalog.settings import Settings


class FlakyBackend(TantivyBackend):
    """A real tantivy backend whose commits can be made to fail (a full disk, a crash)."""

    fail = False

    def index(self, docs: Sequence[IndexDocument]) -> None:
        if self.fail:
            raise OSError("No space left on device")
        super().index(docs)


def test_failed_index_update_is_replayed_not_lost(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data")
    backend = FlakyBackend(settings.index_dir)
    catalog = Catalog(settings, backend=backend)
    backend.fail = True
    rec = catalog.records.create(SYSTEM, RecordCreate(level="collection", title="Kept study"))
    assert catalog.records.get(ANONYMOUS, rec.id).title == "Kept study"  # the store has it
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="kept")).total == 0
    with catalog.uow() as uow:
        assert uow.outbox.count() == 1
    backend.fail = False
    assert catalog.index_sync.apply_pending() == 1
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="kept")).total == 1
    with catalog.uow() as uow:
        assert uow.outbox.count() == 0
    catalog.close()


def test_rebuild_recreates_the_index_from_the_store(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data")
    catalog = Catalog.open(settings)
    for i in range(5):
        catalog.records.create(SYSTEM, RecordCreate(level="collection", title=f"Study {i}"))
    catalog.close()
    shutil.rmtree(settings.index_dir)
    catalog = Catalog.open(settings)  # a missing index is derived again on open
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="study")).total == 5
    catalog.backend.clear()
    assert catalog.records.search(ANONYMOUS, SearchRequest()).total == 0
    seen: list[tuple[int, int]] = []
    assert catalog.index_sync.rebuild(lambda done, total: seen.append((done, total))) == 5
    assert seen[-1] == (5, 5)
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="study")).total == 5
    catalog.close()


def test_a_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "index.lock"
    # flock is per open file description, so a second open in this process competes
    # exactly like another process would
    with (
        file_lock(lock, timeout=1),
        pytest.raises(IndexBusyError, match="index lock"),
        file_lock(lock, timeout=0.2),
    ):
        pass


def test_changes_from_another_process_become_visible(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data")
    server = Catalog.open(settings)
    assert server.records.search(ANONYMOUS, SearchRequest()).total == 0
    script = (
        "from catalog.settings import Settings\n"
        "from catalog.services.container import Catalog\n"
        "from catalog.domain.identity import SYSTEM\n"
        "from catalog.domain.records import RecordCreate\n"
        f"c = Catalog.open(Settings.load(data_dir={str(settings.data_dir)!r}))\n"
        "c.records.create(SYSTEM, RecordCreate(level='collection', title='From the CLI'))\n"
        "c.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    page = server.records.search(ANONYMOUS, SearchRequest(text="cli"))
    assert [h.title for h in page.hits] == ["From the CLI"]
    server.close()
