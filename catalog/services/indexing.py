"""Keeps the derived search index in step with the store (the truth).

Every record write queues an outbox row in the same transaction. `IndexSync` drains the
outbox under an inter-process file lock (the CLI and the server may run at once), so one
writer applies changes at a time; rows are acknowledged only after the index commit, so an
interrupted update is replayed, never lost. `rebuild` recreates the index from the store.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.domain.errors import ImagoraError
from catalog.domain.rollup import CONTAINER_LEVELS, Rollup
from catalog.search.base import SearchBackend
from catalog.services.documents import Closure, to_document
from catalog.services.rollups import RollupBuilder, RollupMaintainer
from catalog.store.repository import RecordRepository, StoredRecord, UnitOfWork

log = logging.getLogger(__name__)


class IndexBusyError(ImagoraError):
    status = 503
    code = "index_busy"


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bulk index pass: it allocates millions of
    short-lived containers (none in cycles), and the collector's passes over every live
    object (the containers held for roll-ups) cost about a quarter of a rebuild. Once
    enabled again, the collector runs at the next allocations (its counters kept going)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def file_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive advisory lock shared by every process using the same data dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"another process holds the index lock {path}; try again later"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class IndexSync:
    """Applies the outbox to a search backend; the single index writer."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        backend: SearchBackend,
        lock_path: Path,
        batch_size: int = 5000,
        closure: Closure | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.backend = backend
        self.lock_path = lock_path
        self.batch_size = batch_size
        self.closure = closure
        self.rollups = RollupMaintainer()
        self._stamp = lock_path.with_suffix(".stamp")
        self._stamp_name = str(self._stamp)
        self._seen_stamp = -1

    def apply_pending(self, timeout: float = 10.0) -> int:
        """Drain the outbox; returns how many changes were applied."""
        applied = 0
        with file_lock(self.lock_path, timeout), gc_paused():
            while True:
                with self.uow_factory() as uow:
                    pending = uow.outbox.pending(self.batch_size)
                    if not pending:
                        break
                    ids = sorted({record_id for _, record_id in pending})
                    self._apply(uow, ids)
                    self.backend.commit()
                    uow.outbox.acknowledge(pending[-1][0])
                    uow.commit()
                    applied += len(ids)
            if applied:
                self._touch()
        return applied

    def try_apply(self) -> int:
        """Best effort after a service commit: a failure leaves the outbox for a replay."""
        try:
            return self.apply_pending(timeout=2.0)
        except Exception:
            log.warning("index update deferred; the outbox will replay it", exc_info=True)
            return 0

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Recreate the index from the store; returns the number of records indexed.

        Two reads of the store: the containers first (few: they stay in memory as every
        leaf's ancestors and wait for their roll-ups), then the leaves in batches, each
        indexed as it is read; the containers last, with their roll-ups."""
        done = 0
        with file_lock(self.lock_path, timeout=60.0), gc_paused(), self.uow_factory() as uow:
            up_to = uow.outbox.max_seq()
            total = uow.records.count()
            self.backend.clear()
            builder = RollupBuilder()
            cache: dict[str, StoredRecord] = {}
            for batch in uow.records.iter_levels(sorted(CONTAINER_LEVELS), self.batch_size):
                for record in batch:
                    builder.add(record)
                    cache[record.id] = record
            containers = list(cache.values())
            levels = sorted(CONTAINER_LEVELS)
            for batch in uow.records.iter_levels(levels, self.batch_size, exclude=True):
                for record in batch:
                    builder.add(record)
                self._index_batch(uow, batch, {}, cache)
                done += len(batch)
                if progress:
                    progress(done, total)
            rollups = builder.finish()
            uow.rollups.replace_all({i: r.stored() for i, r in rollups.items()})
            for start in range(0, len(containers), self.batch_size):
                chunk = containers[start : start + self.batch_size]
                self._index_batch(uow, chunk, rollups, cache)
                done += len(chunk)
                if progress:
                    progress(done, total)
            self.backend.commit()
            uow.outbox.acknowledge(up_to)
            uow.commit()
            self._touch()
        return done

    def refresh_if_changed(self) -> None:
        """Readers in other processes call this to see commits made elsewhere."""
        try:
            stamp = os.stat(self._stamp_name).st_mtime_ns  # os.stat: pathlib's costs 2x
        except FileNotFoundError:
            return
        if stamp != self._seen_stamp:
            self._seen_stamp = stamp
            self.backend.refresh()

    def _touch(self) -> None:
        self._stamp.touch()
        self._seen_stamp = self._stamp.stat().st_mtime_ns

    def _apply(self, uow: UnitOfWork, ids: list[str]) -> None:
        """Index the changed records, then recompute and re-index the roll-ups of the
        containers among and above them (they are written in the same transaction as
        the outbox acknowledgement)."""
        repo = uow.records
        records = repo.get_many(ids)
        missing = [i for i in ids if i not in records]
        if missing:
            self.backend.delete(missing)
        # every ancestor in one query per hierarchy level, not one lookup per record
        cache = repo.ancestors_many(list(records.values()))
        changed = self.rollups.refresh(
            repo, uow.rollups, list(records.values()), lambda r: _ancestors(repo, r, cache)
        )
        again = [cache[i] for i in changed if i in cache and i not in records]
        self._index_batch(uow, [*records.values(), *again], changed, cache)

    def _index_batch(
        self,
        uow: UnitOfWork,
        records: list[StoredRecord],
        rollups: dict[str, Rollup] | None = None,
        cache: dict[str, StoredRecord] | None = None,
    ) -> None:
        """Index these records; `cache` holds ancestors already read (it grows)."""
        repo = uow.records
        if cache is None:
            cache = {r.id: r for r in records}
        known = dict(rollups or {})
        wanted = [r.id for r in records if r.level in CONTAINER_LEVELS and r.id not in known]
        for record_id, data in uow.rollups.get_many(wanted).items():
            known[record_id] = Rollup.model_validate(data)
        docs = [
            to_document(record, _ancestors(repo, record, cache), self.closure, known.get(record.id))
            for record in records
        ]
        if docs:
            self.backend.index(docs)


def _ancestors(
    repo: RecordRepository, record: StoredRecord, cache: dict[str, StoredRecord]
) -> list[StoredRecord]:
    chain: list[StoredRecord] = []
    parent_id = record.parent_id
    seen = {record.id}
    while parent_id and parent_id not in seen:
        parent = cache.get(parent_id) or repo.get(parent_id)
        if parent is None:
            break
        cache[parent_id] = parent
        chain.append(parent)
        seen.add(parent_id)
        parent_id = parent.parent_id
    chain.reverse()
    return chain
