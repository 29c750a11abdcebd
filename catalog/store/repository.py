"""Repositories and the unit of work. They speak domain types, never leak ORM rows.

`StoredRecord` is the store's plain view of a record (body + bookkeeping); the services
turn it into `RecordPublic`. Every `save` also writes an index outbox row in the same
transaction, so the search index can always be brought up to date after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.domain.clean import clean_json, clean_text
from catalog.domain.results import ItemState
from catalog.store.database import EncodedJSON
from catalog.store.jobs import JobRepository
from catalog.store.models import (
    HarvestItemRow,
    HarvestRunRow,
    HarvestSourceRow,
    OaiWithheldRow,
    OutboxRow,
    PublicationRow,
    RecordRow,
    RecordVersionRow,
    RollupRow,
    TokenRow,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class StoredRecord:
    """A record as stored: the normalized body plus lifecycle and access bookkeeping."""

    id: str
    level: str
    title: str
    body: dict[str, Any]
    access: dict[str, Any]
    own_access: dict[str, Any] | None = None
    parent_id: str | None = None
    status: str = "active"
    origin: str | None = None
    content_hash: str = ""
    version: int = 1
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    withdrawn_at: datetime | None = None
    #: {"curated": {field: value}, "harvested": {field: value}}; None when never curated.
    curation: dict[str, Any] | None = None

    @property
    def visibility(self) -> str:
        return str(self.access.get("record", "public"))


def _from_columns(row: Any) -> StoredRecord:
    """A StoredRecord from a Core row of the records table: no ORM object, no identity
    map and no copies (the JSON values are decoded fresh for this row), several times
    cheaper than `_to_stored` for bulk reads."""
    return _stored(row, _same)


def _same(value: Any) -> Any:
    return value


def _shallow_copy(value: Any) -> Any:
    return dict(value) if value is not None else None


def _stored(row: Any, json_value: Any) -> StoredRecord:
    """One mapping from a records row (ORM or Core) to StoredRecord; `json_value` says
    whether the JSON columns are copied (ORM rows are shared through the identity map)."""
    return StoredRecord(
        id=row.id,
        level=row.level,
        title=row.title,
        body=json_value(row.body),
        access=json_value(row.access),
        own_access=json_value(row.own_access),
        parent_id=row.parent_id,
        status=row.status,
        origin=row.origin,
        content_hash=row.content_hash,
        version=row.version,
        created=_aware(row.created) or utcnow(),
        updated=_aware(row.updated) or utcnow(),
        withdrawn_at=_aware(row.withdrawn_at),
        curation=json_value(row.curation),
    )


_RECORDS = RecordRow.__table__
#: ids per IN (...) list: under SQLite's bound-parameter limit, few round trips elsewhere
_IN_CHUNK = 900


def _to_stored(row: RecordRow) -> StoredRecord:
    return _stored(row, _shallow_copy)


class RecordRepository:
    """Record persistence; each write queues the record for (re)indexing."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, record_id: str) -> StoredRecord | None:
        row = self.session.get(RecordRow, record_id)
        return _to_stored(row) if row is not None else None

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredRecord]:
        """Records by id (Core rows: writers flush before they return, so these reads
        see every saved record)."""
        found: dict[str, StoredRecord] = {}
        ids = list(ids)
        for start in range(0, len(ids), _IN_CHUNK):
            stmt = select(_RECORDS).where(_RECORDS.c.id.in_(ids[start : start + _IN_CHUNK]))
            found.update((row.id, _from_columns(row)) for row in self.session.execute(stmt))
        return found

    def by_origin(self, origin: str) -> StoredRecord | None:
        row = self.session.scalars(select(RecordRow).where(RecordRow.origin == origin)).first()
        return _to_stored(row) if row is not None else None

    def origins_with_prefix(self, prefix: str) -> dict[str, tuple[str, str, str]]:
        """origin -> (id, status, content_hash) for every record whose origin starts so."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = select(RecordRow.origin, RecordRow.id, RecordRow.status, RecordRow.content_hash)
        stmt = stmt.where(RecordRow.origin.like(escaped + "%", escape="\\"))
        return {o: (i, s, h) for o, i, s, h in self.session.execute(stmt)}

    def children_ids(self, record_id: str) -> list[str]:
        stmt = select(RecordRow.id).where(RecordRow.parent_id == record_id).order_by(RecordRow.id)
        return list(self.session.scalars(stmt))

    def children_of(self, parent_ids: Sequence[str], batch: int = 500) -> list[StoredRecord]:
        """The active children of several parents (one query per `batch` parents), for
        walks down a collection level by level."""
        found: list[StoredRecord] = []
        ids = list(parent_ids)
        for start in range(0, len(ids), batch):
            stmt = select(_RECORDS).where(_RECORDS.c.parent_id.in_(ids[start : start + batch]))
            stmt = stmt.where(_RECORDS.c.status == "active").order_by(_RECORDS.c.id)
            found.extend(_from_columns(row) for row in self.session.execute(stmt))
        return found

    def children_brief(self, parent_ids: Sequence[str]) -> list[StoredRecord]:
        """The active children of several parents without their bodies (`body` is
        empty): what roll-ups need to know about a child before its facts."""
        found: list[StoredRecord] = []
        ids = list(parent_ids)
        columns = (
            _RECORDS.c.id,
            _RECORDS.c.level,
            _RECORDS.c.parent_id,
            _RECORDS.c.status,
            _RECORDS.c.access,
        )
        for start in range(0, len(ids), _IN_CHUNK):
            stmt = select(*columns).where(_RECORDS.c.parent_id.in_(ids[start : start + _IN_CHUNK]))
            stmt = stmt.where(_RECORDS.c.status == "active").order_by(_RECORDS.c.id)
            found.extend(
                StoredRecord(id=i, level=lv, title="", body={}, access=a, parent_id=p, status=s)
                for i, lv, p, s, a in self.session.execute(stmt)
            )
        return found

    def count_children(self, record_id: str, *, visible_only: bool) -> int:
        stmt = select(func.count()).select_from(RecordRow).where(RecordRow.parent_id == record_id)
        stmt = stmt.where(RecordRow.status == "active")
        if visible_only:
            stmt = stmt.where(RecordRow.visibility == "public")
        return int(self.session.scalar(stmt) or 0)

    def ancestors(self, record: StoredRecord) -> list[StoredRecord]:
        """Parents from the root down to the direct parent (cycles are refused on write)."""
        chain: list[StoredRecord] = []
        seen = {record.id}
        parent_id = record.parent_id
        while parent_id and parent_id not in seen:
            parent = self.get(parent_id)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent.id)
            parent_id = parent.parent_id
        chain.reverse()
        return chain

    def save(self, record: StoredRecord, *, snapshot: bool = True) -> None:
        """Insert or update, keep a version snapshot, queue for indexing.

        Every writer passes here, so this is where text is cleaned and JSON values are
        bounded (see `catalog.domain.clean`): nothing stored can break a reader.
        """
        record.title = clean_text(record.title)
        record.body = clean_json(record.body)
        row = self.session.get(RecordRow, record.id)
        queued = [record.id]
        if row is None:
            row = RecordRow(id=record.id, created=record.created)
            self.session.add(row)
        else:
            if row.visibility != record.visibility:
                self._visibility_changed(record.id, row.visibility, record.visibility)
            if row.parent_id and row.parent_id != record.parent_id:
                # the former parent's roll-up (and its ancestors') loses this record
                queued.append(row.parent_id)
        row.level = record.level
        row.parent_id = record.parent_id
        row.title = record.title
        row.status = record.status
        row.own_access = record.own_access
        row.access = record.access
        row.visibility = record.visibility
        row.body = record.body
        row.origin = record.origin
        row.content_hash = record.content_hash
        row.version = record.version
        row.updated = record.updated
        row.withdrawn_at = record.withdrawn_at
        row.curation = record.curation
        self.session.flush()
        if snapshot:
            self._snapshot(record)
        self.enqueue(queued)

    def _visibility_changed(self, record_id: str, before: str, after: str) -> None:
        """Remember records that stop being public (OAI-PMH answers them as deleted);
        forget them when they become public again."""
        withheld = self.session.get(OaiWithheldRow, record_id)
        if before == "public" and withheld is None:
            self.session.add(OaiWithheldRow(record_id=record_id, since=utcnow()))
        elif after == "public" and withheld is not None:
            self.session.delete(withheld)

    def insert_new(self, records: Sequence[StoredRecord]) -> None:
        """Insert records known to be new (a harvest's first sight of them): one
        multi-row statement each for rows, version snapshots and outbox entries, instead
        of a lookup and a flush per record. Parents must come before their children."""
        if not records:
            return
        now = utcnow()
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            # Core inserts of the tables: the ORM's bulk path costs more than the SQL
            self.session.execute(insert(_RECORDS), [_row_values(r) for r in chunk])
            self.session.execute(
                insert(RecordVersionRow.__table__),
                [
                    {
                        "record_id": r.id,
                        "version": r.version,
                        "body": {"title": r.title, "level": r.level, **r.body},
                        "published": False,
                        "created": r.updated,
                    }
                    for r in chunk
                ],
            )
            self.session.execute(
                insert(OutboxRow.__table__), [{"record_id": r.id, "created": now} for r in chunk]
            )

    def _snapshot(self, record: StoredRecord) -> None:
        existing = self.session.get(RecordVersionRow, (record.id, record.version))
        if existing is not None and existing.published:
            return  # published versions are immutable; the service refuses edits earlier
        if existing is None:
            existing = RecordVersionRow(record_id=record.id, version=record.version)
            self.session.add(existing)
        existing.body = {"title": record.title, "level": record.level, **record.body}
        existing.created = record.updated

    def version_published(self, record_id: str, version: int) -> bool:
        row = self.session.get(RecordVersionRow, (record_id, version))
        return bool(row and row.published)

    def published_versions(self, record_id: str) -> list[int]:
        stmt = select(RecordVersionRow.version).where(
            RecordVersionRow.record_id == record_id, RecordVersionRow.published.is_(True)
        )
        return sorted(self.session.scalars(stmt))

    def mark_published(self, record_id: str, version: int) -> None:
        self.session.flush()
        self.session.execute(
            update(RecordVersionRow)
            .where(RecordVersionRow.record_id == record_id, RecordVersionRow.version == version)
            .values(published=True)
        )

    def enqueue(self, ids: Sequence[str]) -> None:
        now = utcnow()
        self.session.add_all(OutboxRow(record_id=i, created=now) for i in ids)

    def iter_all(self, batch: int = 1000) -> Iterator[list[StoredRecord]]:
        """Every record in id order, in batches (used by index rebuild)."""
        yield from self.iter_levels(None, batch)

    def iter_levels(
        self, levels: Sequence[str] | None, batch: int = 1000, *, exclude: bool = False
    ) -> Iterator[list[StoredRecord]]:
        """Records of these levels (every level when None; all others with `exclude`),
        in id order and batches: keyset pages of Core rows, not ORM objects."""
        last = ""
        while True:
            stmt = select(_RECORDS).where(_RECORDS.c.id > last)
            if levels is not None:
                chosen = _RECORDS.c.level.in_(list(levels))
                stmt = stmt.where(~chosen if exclude else chosen)
            rows = [
                _from_columns(row)
                for row in self.session.execute(stmt.order_by(_RECORDS.c.id).limit(batch))
            ]
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(RecordRow)) or 0)

    def ancestors_many(self, records: Sequence[StoredRecord]) -> dict[str, StoredRecord]:
        """Every ancestor of the given records, by id, one query per hierarchy level."""
        found: dict[str, StoredRecord] = {r.id: r for r in records}
        wanted = {r.parent_id for r in records if r.parent_id} - found.keys()
        ancestors: dict[str, StoredRecord] = {}
        while wanted:
            batch = self.get_many(sorted(wanted))
            ancestors.update(batch)
            found.update(batch)
            wanted = {r.parent_id for r in batch.values() if r.parent_id} - found.keys()
        return {**found, **ancestors}

    def count_children_many(self, ids: Sequence[str], *, visible_only: bool) -> dict[str, int]:
        """Active (and, if asked, public) children per parent id, in one query."""
        if not ids:
            return {}
        stmt = select(RecordRow.parent_id, func.count()).where(
            RecordRow.parent_id.in_(list(ids)), RecordRow.status == "active"
        )
        if visible_only:
            stmt = stmt.where(RecordRow.visibility == "public")
        stmt = stmt.group_by(RecordRow.parent_id)
        return {str(parent): int(count) for parent, count in self.session.execute(stmt)}

    def published_versions_many(self, ids: Sequence[str]) -> dict[str, list[int]]:
        if not ids:
            return {}
        stmt = select(RecordVersionRow.record_id, RecordVersionRow.version).where(
            RecordVersionRow.record_id.in_(list(ids)), RecordVersionRow.published.is_(True)
        )
        versions: dict[str, list[int]] = {}
        for record_id, version in self.session.execute(stmt.order_by(RecordVersionRow.version)):
            versions.setdefault(record_id, []).append(version)
        return versions

    def public_pages(self) -> list[tuple[str, datetime]]:
        """(id, updated) of every public, active record, by id: one query (sitemap)."""
        stmt = (
            select(RecordRow.id, RecordRow.updated)
            .where(RecordRow.visibility == "public", RecordRow.status == "active")
            .order_by(RecordRow.id)
        )
        return [(row.id, row.updated) for row in self.session.execute(stmt)]

    def change_stamp(self) -> str:
        """The latest record update time: every write (create, update, access change,
        withdrawal) sets `updated` and records are never deleted, so it moves on every
        change. One step down the `updated` index, so derived figures can be cached."""
        return str(self.session.scalar(select(func.max(RecordRow.updated))))

    def acquisitions_per_year(self, public_only: bool) -> dict[int, int]:
        """Active acquisitions per year of `imaging.acquisition_date` (one grouped query)."""
        year = func.substr(RecordRow.body["imaging"]["acquisition_date"].as_string(), 1, 4)
        stmt = select(year, func.count()).where(
            RecordRow.level == "acquisition", RecordRow.status == "active"
        )
        if public_only:
            stmt = stmt.where(RecordRow.visibility == "public")
        counts: dict[int, int] = {}
        for value, count in self.session.execute(stmt.group_by(year)):
            if value and str(value).isdigit():
                counts[int(value)] = int(count)
        return counts


def _row_values(record: StoredRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "level": record.level,
        "parent_id": record.parent_id,
        "title": record.title,
        "status": record.status,
        "own_access": record.own_access,
        "access": record.access,
        "visibility": record.visibility,
        "body": record.body,
        "origin": record.origin,
        "content_hash": record.content_hash,
        "version": record.version,
        "created": record.created,
        "updated": record.updated,
        "withdrawn_at": record.withdrawn_at,
    }


class OutboxRepository:
    """Reads and acknowledges queued index changes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def pending(self, limit: int) -> list[tuple[int, str]]:
        stmt = select(OutboxRow.seq, OutboxRow.record_id).order_by(OutboxRow.seq).limit(limit)
        return [(s, r) for s, r in self.session.execute(stmt)]

    def acknowledge(self, up_to_seq: int) -> None:
        self.session.execute(delete(OutboxRow).where(OutboxRow.seq <= up_to_seq))

    def max_seq(self) -> int:
        return int(self.session.scalar(select(func.max(OutboxRow.seq))) or 0)

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


@dataclass
class StoredToken:
    id: str
    user: str
    role: str
    revoked: bool
    created: datetime


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token_id: str, user: str, role: str, token_hash: str) -> None:
        self.session.add(
            TokenRow(id=token_id, user=user, role=role, token_hash=token_hash, created=utcnow())
        )

    def by_hash(self, token_hash: str) -> StoredToken | None:
        row = self.session.scalars(
            select(TokenRow).where(TokenRow.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return StoredToken(row.id, row.user, row.role, row.revoked, _aware(row.created) or utcnow())

    def list(self) -> list[StoredToken]:
        rows = self.session.scalars(select(TokenRow).order_by(TokenRow.created))
        return [
            StoredToken(r.id, r.user, r.role, r.revoked, _aware(r.created) or utcnow())
            for r in rows
        ]

    def revoke(self, token_id: str) -> bool:
        result = self.session.execute(
            update(TokenRow).where(TokenRow.id == token_id).values(revoked=True)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class HarvestStateRepository:
    """Per-source file states (incremental harvesting) and run reports."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def items(self, source: str, keys: Sequence[str] | None = None) -> dict[str, ItemState]:
        """The stored states of a source, with their facts (all, or those of `keys`)."""
        query = select(HarvestItemRow).where(HarvestItemRow.source == source)
        if keys is None:
            return _states(self.session.scalars(query))
        found: dict[str, ItemState] = {}
        keys = list(keys)
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            found.update(_states(self.session.scalars(query.where(HarvestItemRow.key.in_(chunk)))))
        return found

    def fingerprints(self, source: str) -> dict[str, str | None]:
        """key -> stored fingerprint (None when the item failed last run), and nothing else.

        What an incremental run compares against: two columns of one Core select, no
        facts decoded and no ORM objects, so a source of 10^5 unchanged items is checked
        in a fraction of a second (the facts are loaded only when something changed).
        """
        rows = self.session.execute(
            select(HarvestItemRow.key, HarvestItemRow.fingerprint, HarvestItemRow.error).where(
                HarvestItemRow.source == source
            )
        )
        return {key: (None if error else fingerprint) for key, fingerprint, error in rows}

    def stamps(self, source: str, keys: Sequence[str]) -> dict[str, ItemState]:
        """The states of `keys` without their facts (`facts` is empty): fingerprint,
        checksum and error, what deciding "content unchanged" needs."""
        columns = (
            HarvestItemRow.key,
            HarvestItemRow.fingerprint,
            HarvestItemRow.checksum,
            HarvestItemRow.error,
        )
        found: dict[str, ItemState] = {}
        keys = list(keys)
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            rows = self.session.execute(
                select(*columns).where(
                    HarvestItemRow.source == source,
                    HarvestItemRow.key.in_(keys[start : start + 500]),
                )
            )
            found.update(
                {k: ItemState(k, fp, checksum, [], error) for k, fp, checksum, error in rows}
            )
        return found

    def restamp(self, source: str, states: Sequence[ItemState]) -> None:
        """Store new fingerprints, checksums and errors of stored items, keeping their
        facts as they are (a touched but identical file; an item unreadable this time)."""
        if states:
            self.session.execute(
                update(HarvestItemRow),
                [
                    {
                        "source": source,
                        "key": s.key,
                        "fingerprint": s.fingerprint,
                        "checksum": s.checksum,
                        "error": s.error,
                    }
                    for s in states
                ],
            )

    def put_many(self, source: str, states: Sequence[ItemState], new: bool = False) -> None:
        """Insert or replace the states of these items (one delete, one insert); `new`
        says none of them is stored yet (a first harvest), so the delete is skipped."""
        if not states:
            return
        if not new:
            self.remove(source, [s.key for s in states])
        self.session.execute(
            insert(HarvestItemRow.__table__),  # Core executemany: no ORM bookkeeping per row
            [
                {
                    "source": source,
                    "key": s.key,
                    "fingerprint": s.fingerprint,
                    "checksum": s.checksum,
                    "facts": s.facts if s.encoded is None else EncodedJSON(s.encoded),
                    "error": s.error,
                }
                for s in states
            ],
        )

    def remove(self, source: str, keys: Sequence[str]) -> None:
        keys = list(keys)
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            self.session.execute(
                delete(HarvestItemRow).where(
                    HarvestItemRow.source == source,
                    HarvestItemRow.key.in_(keys[start : start + 500]),
                )
            )

    def add_run(self, source: str, started: datetime, report: dict[str, Any]) -> None:
        self.session.add(
            HarvestRunRow(source=source, started=started, finished=utcnow(), report=report)
        )

    def runs(self, limit: int, offset: int = 0) -> tuple[int, list[StoredRun]]:
        """(total, newest runs first)."""
        total = self.session.scalar(select(func.count()).select_from(HarvestRunRow)) or 0
        rows = self.session.scalars(
            select(HarvestRunRow).order_by(HarvestRunRow.id.desc()).limit(limit).offset(offset)
        )
        return total, [
            StoredRun(r.id, r.source, _aware(r.started), _aware(r.finished), dict(r.report))  # type: ignore[arg-type]
            for r in rows
        ]

    def last_run(self, source: str, having: str | None = None) -> dict[str, Any] | None:
        """The report of the source's latest run (the latest that holds the key `having`,
        if given: a run that failed before it started keeps no such key), None before."""
        stmt = select(HarvestRunRow.report).where(HarvestRunRow.source == source)
        stmt = stmt.order_by(HarvestRunRow.id.desc()).limit(1 if having is None else 50)
        for report in self.session.scalars(stmt):
            if having is None or having in (report or {}):
                return report
        return None


@dataclass
class StoredRun:
    id: int
    source: str
    started: datetime
    finished: datetime | None
    report: dict[str, Any]


@dataclass
class StoredSource:
    name: str
    kind: str
    location: str
    options: dict[str, Any]
    interval_minutes: int | None = None
    enabled: bool = True
    last_run: datetime | None = None
    last_report: dict[str, Any] | None = None


class SourceRepository:
    """Registered harvest sources."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str) -> StoredSource | None:
        row = self.session.get(HarvestSourceRow, name)
        return _to_source(row) if row is not None else None

    def list(self) -> list[StoredSource]:
        rows = self.session.scalars(select(HarvestSourceRow).order_by(HarvestSourceRow.name))
        return [_to_source(r) for r in rows]

    def save(self, source: StoredSource) -> None:
        row = self.session.get(HarvestSourceRow, source.name)
        if row is None:
            row = HarvestSourceRow(name=source.name)
            self.session.add(row)
        row.kind, row.location, row.options = source.kind, source.location, source.options
        row.interval_minutes, row.enabled = source.interval_minutes, source.enabled
        row.last_run, row.last_report = source.last_run, source.last_report

    def remove(self, name: str) -> bool:
        result = self.session.execute(delete(HarvestSourceRow).where(HarvestSourceRow.name == name))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _states(rows: Iterable[HarvestItemRow]) -> dict[str, ItemState]:
    return {
        r.key: ItemState(r.key, r.fingerprint, r.checksum, list(r.facts), r.error) for r in rows
    }


def _to_source(row: HarvestSourceRow) -> StoredSource:
    return StoredSource(
        name=row.name,
        kind=row.kind,
        location=row.location,
        options=dict(row.options),
        interval_minutes=row.interval_minutes,
        enabled=row.enabled,
        last_run=_aware(row.last_run),
        last_report=row.last_report,
    )


@dataclass
class StoredPublication:
    """One record version's deposit with one DOI service, and how far it got."""

    record_id: str
    target: str
    version: int
    state: str = "started"
    remote_id: str | None = None
    doi: str | None = None
    concept_doi: str | None = None
    url: str | None = None
    checkpoint: dict[str, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    published_at: datetime | None = None


class PublicationRepository:
    """Deposits per (record, target, version); the key forbids a second deposit."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, record_id: str, target: str, version: int) -> StoredPublication | None:
        row = self.session.get(PublicationRow, (record_id, target, version))
        return _to_publication(row) if row else None

    def for_record(self, record_id: str) -> list[StoredPublication]:
        """Every deposit of a record, newest version first."""
        stmt = (
            select(PublicationRow)
            .where(PublicationRow.record_id == record_id)
            .order_by(PublicationRow.version.desc(), PublicationRow.target)
        )
        return [_to_publication(row) for row in self.session.scalars(stmt)]

    def save(self, item: StoredPublication) -> None:
        row = self.session.get(PublicationRow, (item.record_id, item.target, item.version))
        if row is None:
            row = PublicationRow(
                record_id=item.record_id,
                target=item.target,
                version=item.version,
                created=item.created,
            )
            self.session.add(row)
        row.state = item.state
        row.remote_id = item.remote_id
        row.doi = item.doi
        row.concept_doi = item.concept_doi
        row.url = item.url
        row.checkpoint = dict(item.checkpoint)
        row.updated = utcnow()
        row.published_at = item.published_at
        self.session.flush()


def _to_publication(row: PublicationRow) -> StoredPublication:
    return StoredPublication(
        record_id=row.record_id,
        target=row.target,
        version=row.version,
        state=row.state,
        remote_id=row.remote_id,
        doi=row.doi,
        concept_doi=row.concept_doi,
        url=row.url,
        checkpoint=dict(row.checkpoint or {}),
        created=_aware(row.created) or utcnow(),
        updated=_aware(row.updated) or utcnow(),
        published_at=_aware(row.published_at),
    )


class RollupRepository:
    """Containers' roll-ups (derived data, plain dicts in the store's JSON form)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, record_id: str) -> dict[str, Any] | None:
        row = self.session.get(RollupRow, record_id)
        return dict(row.rollup) if row is not None else None

    def get_many(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            stmt = select(RollupRow.record_id, RollupRow.rollup).where(
                RollupRow.record_id.in_(chunk)
            )
            found.update({rid: dict(data) for rid, data in self.session.execute(stmt)})
        return found

    def put(self, record_id: str, rollup: dict[str, Any]) -> None:
        row = self.session.get(RollupRow, record_id)
        if row is None:
            self.session.add(RollupRow(record_id=record_id, rollup=rollup, updated=utcnow()))
        else:
            row.rollup, row.updated = rollup, utcnow()

    def put_many(self, rollups: dict[str, dict[str, Any]]) -> None:
        """Insert or replace several roll-ups (a delete and an insert per 900)."""
        now = utcnow()
        ids = list(rollups)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            self.session.execute(delete(RollupRow).where(RollupRow.record_id.in_(chunk)))
            rows = [{"record_id": i, "rollup": rollups[i], "updated": now} for i in chunk]
            self.session.execute(insert(RollupRow.__table__), rows)

    def clear(self) -> None:
        self.session.execute(delete(RollupRow))

    def replace_all(self, rollups: dict[str, dict[str, Any]]) -> None:
        """Drop every roll-up and insert these (the rebuild: one bulk insert)."""
        self.clear()
        now = utcnow()
        rows = [{"record_id": i, "rollup": r, "updated": now} for i, r in rollups.items()]
        for start in range(0, len(rows), 1000):
            self.session.execute(insert(RollupRow), rows[start : start + 1000])


class UnitOfWork:
    """One transaction: `with uow_factory() as uow: ...; uow.commit()`; rollback otherwise."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.records = RecordRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.tokens = TokenRepository(self.session)
        self.harvest = HarvestStateRepository(self.session)
        self.sources = SourceRepository(self.session)
        self.rollups = RollupRepository(self.session)
        self.publications = PublicationRepository(self.session)
        self.jobs = JobRepository(self.session)
        return self

    def commit(self) -> None:
        self.session.commit()

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if exc_type is not None:
            self.session.rollback()
        self.session.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
