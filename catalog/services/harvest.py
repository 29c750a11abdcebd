"""HarvestService: incremental harvesting from any registered harvester.

Items (local files, remote sessions, portal packages) are compared with the stored state
of the previous run by fingerprint only -- what a fingerprint is belongs to the harvester
(size and mtime confirmed by SHA-256 for files, `last_modified` / version stamps for
remote items) -- so only new or changed items are fetched. Fetched states are
checkpointed during the run, so a killed run resumes without fetching again. Records are
matched to earlier ones by their stable source key: created / updated / unchanged are
counted, and records whose source item disappeared become withdrawn tombstones (never a
silent delete). Bad items become error entries; they never stop the run nor remove what
was catalogued before.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic

from catalog.domain.enums import RecordStatus
from catalog.domain.errors import SourceUnusableError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordCreate, Term
from catalog.domain.results import HarvestReport, HarvestRun, HarvestRunPage, ItemState
from catalog.services.access import effective_access, require_admin, require_writer
from catalog.services.indexing import IndexSync
from catalog.services.records import body_of, build_stored, content_hash, origin_record_id
from catalog.store.repository import StoredRecord, UnitOfWork, utcnow
from harvesters.base import (
    Fetched,
    FileFacts,
    HarvestedRecord,
    HarvestOptions,
    ItemError,
    ItemHarvester,
    ItemRef,
)
from harvesters.http import strip_userinfo
from harvesters.registry import harvesters
from harvesters.remote import RemoteOptions, site_credentials

Progress = Callable[[str, int, int | None], None]
Annotate = Callable[[RecordCreate, list[Term]], list[Term]]
CHECKPOINT_ITEMS = 256
#: A state row holding the harvester name:version of the last run: another version may
#: map the same facts differently, so the "nothing changed" shortcut is off after upgrades.
VERSION_KEY = "@harvester"


class HarvestService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        index_sync: IndexSync,
        secret: bytes,
        annotate: Annotate | None = None,
        credentials_file: Path | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.credentials_file = credentials_file
        self.index_sync = index_sync
        self.secret = secret
        self.annotate = annotate
        self.checkpoint_items = CHECKPOINT_ITEMS

    def kinds(self) -> list[str]:
        """The registered harvester types."""
        return harvesters.names()

    def parse_options(
        self, kind: str, values: dict[str, Any], spell: Callable[[str], str] = str
    ) -> HarvestOptions:
        """The harvester's typed `Options` from plain values; unknown names are refused
        with the list of those the harvester takes (`spell` writes a name as the caller
        knows it, e.g. as a command-line flag)."""
        cls = harvesters.get(kind)
        fields = set(cls.Options.model_fields) - {"secret"}
        given = {name: value for name, value in values.items() if value is not None}
        unknown = sorted(name for name in given if name not in fields)
        if unknown:
            takes = ", ".join(spell(n) for n in sorted(fields)) or "no options"
            refused = ", ".join(spell(n) for n in unknown)
            raise ValidationError(
                f"the {kind} harvester does not take {refused}; it takes: {takes}",
                field="options",
            )
        try:
            return cls.Options(**given)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "options"
            raise ValidationError(
                f"invalid {spell(name)} for the {kind} harvester: {first['msg']}", field=name
            ) from None

    def make_harvester(
        self, kind: str, options: HarvestOptions | None = None
    ) -> ItemHarvester[Any]:
        cls = harvesters.get(kind)
        opts = options or cls.Options()
        opts.secret = self.secret
        return cls(opts)

    def _with_site_credentials(self, harvester: ItemHarvester[Any], location: str) -> None:
        """Remote harvests given no credentials take the host's from the settings' file."""
        if self.credentials_file is not None and isinstance(harvester.options, RemoteOptions):
            harvester.options.fill_from(site_credentials(self.credentials_file, location))

    def run(
        self,
        identity: Identity,
        kind: str,
        location: str,
        options: HarvestOptions | None = None,
        progress: Progress | None = None,
    ) -> HarvestReport:
        """Harvest `location` with the `kind` harvester.

        Raises `SourceUnusableError` (unreachable, refused credentials, a listing cut
        short) before anything in the catalogue changes. Fetched item states are
        checkpointed as the run goes, so a run killed half-way resumes where it stopped;
        records are written in one transaction at the end, from every item's facts.
        """
        require_writer(identity, "harvesting")
        harvester = self.make_harvester(kind, options)
        started = utcnow()
        self._with_site_credentials(harvester, location)
        try:
            where = harvester.open(location)
            try:
                return self._run(harvester, where, progress)
            finally:
                harvester.close()
        except SourceUnusableError as exc:
            self._keep_failure(f"{kind}:{strip_userinfo(location)}", started, exc)
            raise

    def _keep_failure(self, source: str, started: datetime, exc: SourceUnusableError) -> None:
        """A run that could not happen is kept too, so admins see why (no secrets: the
        message went through the HTTP client's redaction)."""
        report = HarvestReport(source=source)
        report.error(source, exc.message)
        with self.uow_factory() as uow:
            uow.harvest.add_run(source, started, report.model_dump(mode="json"))
            uow.commit()

    def runs(self, identity: Identity, page: int = 1, size: int = 20) -> HarvestRunPage:
        """Kept run reports, newest first (admins only: they name sources and errors)."""
        require_admin(identity, "reading harvest reports")
        if page < 1 or not 1 <= size <= 100:
            raise ValidationError("page starts at 1 and size is 1-100", field="size")
        with self.uow_factory() as uow:
            total, stored = uow.harvest.runs(size, (page - 1) * size)
        runs = [
            HarvestRun(
                id=r.id,
                source=r.source,
                started=r.started,
                finished=r.finished,
                report=HarvestReport.model_validate(r.report),
            )
            for r in stored
        ]
        return HarvestRunPage(total=total, page=page, size=size, runs=runs)

    def _run(
        self, harvester: ItemHarvester[Any], where: Any, progress: Progress | None
    ) -> HarvestReport:
        source = harvester.source_id(where)
        report = HarvestReport(source=source)
        started = time.monotonic()
        started_at = utcnow()
        with self.uow_factory() as uow:
            cached = uow.harvest.items(source)
        marker = cached.pop(VERSION_KEY, None)
        states = self._scan(harvester, where, source, cached, report, progress)
        removed = [k for k in cached if k not in states]
        with self.uow_factory() as uow:
            if not _settled(uow, source, marker, _mapping_stamp(harvester), removed, report):
                written = self._write(uow, harvester, where, source, states, report, progress)
                stamp = ItemState(VERSION_KEY, _mapping_stamp(harvester), _digest(written), [])
                uow.harvest.put_many(source, [stamp])
            uow.harvest.remove(source, removed)
            report.duration_s = round(time.monotonic() - started, 3)
            report.requests = harvester.requests_made()
            uow.harvest.add_run(source, started_at, report.model_dump(mode="json"))
            uow.commit()
        self.index_sync.try_apply()
        return report

    def _write(
        self,
        uow: UnitOfWork,
        harvester: ItemHarvester[Any],
        where: Any,
        source: str,
        states: dict[str, ItemState],
        report: HarvestReport,
        progress: Progress | None,
    ) -> set[str]:
        """Assemble the hierarchy from every item's facts and upsert it; the origins
        written."""
        facts = [FileFacts(**f) for s in states.values() for f in s.facts]
        produced = self._assemble(harvester, where, facts, report)
        _attach_checksums(produced, {key: state.checksum for key, state in states.items()})
        _pseudonymise_paths(produced, _path_aliases(facts))
        return self._upsert(uow, source, produced, harvester, report, progress)

    # ----- step 1: discover items, fetch the changed ones ---------------------------------
    def _scan(
        self,
        harvester: ItemHarvester[Any],
        where: Any,
        source: str,
        cached: dict[str, ItemState],
        report: HarvestReport,
        progress: Progress | None,
    ) -> dict[str, ItemState]:
        states: dict[str, ItemState] = {}
        changed: list[tuple[ItemRef, ItemState | None]] = []
        for found in harvester.discover_items(where):
            if isinstance(found, ItemError):
                report.error(found.item, found.error)
                if found.item in cached:  # keep what was catalogued before
                    states[found.item] = cached[found.item]
                continue
            old = cached.get(found.key)
            if old and not old.error and old.fingerprint == found.fingerprint:
                states[found.key] = old
                report.files_cached += 1
            else:
                changed.append((found, old))
        self._fetch(harvester, where, source, changed, states, report, progress)
        return states

    def _fetch(
        self,
        harvester: ItemHarvester[Any],
        where: Any,
        source: str,
        changed: list[tuple[ItemRef, ItemState | None]],
        states: dict[str, ItemState],
        report: HarvestReport,
        progress: Progress | None,
    ) -> None:
        """Fetch changed items, committing their states every `CHECKPOINT_ITEMS` (only the
        harvest state: the catalogue itself changes at the end of the run)."""
        previous = {ref.key: old for ref, old in changed}
        pending: list[ItemState] = []
        for done, fetched in enumerate(harvester.fetch(where, changed), 1):
            state = _merge(fetched, previous.get(fetched.key), report)
            states[state.key] = state
            pending.append(state)
            if len(pending) >= self.checkpoint_items:
                self._checkpoint(source, pending)
            if progress:
                progress("read", done, len(changed))
        self._checkpoint(source, pending)

    def _checkpoint(self, source: str, pending: list[ItemState]) -> None:
        if pending:
            with self.uow_factory() as uow:
                uow.harvest.put_many(source, pending)
                uow.commit()
            pending.clear()

    # ----- step 2: build the hierarchy -------------------------------------------------
    @staticmethod
    def _assemble(
        harvester: ItemHarvester[Any], where: Any, facts: list[FileFacts], report: HarvestReport
    ) -> list[HarvestedRecord]:
        produced: list[HarvestedRecord] = []
        try:
            for item in harvester.assemble(where, facts):
                if isinstance(item, ItemError):
                    report.error(item.item, item.error)
                else:
                    produced.append(item)
        except Exception as exc:  # a harvester bug must not lose the catalogue
            report.error(str(where), f"{harvester.name} harvester failed while assembling: {exc}")
            raise
        return produced

    # ----- step 3: write records ---------------------------------------------------------
    def _upsert(
        self,
        uow: UnitOfWork,
        source: str,
        produced: Iterable[HarvestedRecord],
        harvester: ItemHarvester[Any],
        report: HarvestReport,
        progress: Progress | None,
    ) -> set[str]:
        existing = uow.records.origins_with_prefix(source + "#")
        fresh: list[StoredRecord] = []  # inserted together at the end (parents first)
        pending: set[str] = set()
        written: set[str] = set()
        by_key: dict[str, StoredRecord] = {}
        seen: set[str] = set()
        items = list(produced)
        for done, item in enumerate(items, 1):
            origin = f"{source}#{item.key}"
            if origin in seen:
                report.error(item.key, "the harvester produced this key twice; kept the first")
                continue
            seen.add(origin)
            parent = by_key.get(item.parent_key) if item.parent_key else None
            if item.parent_key and parent is None:
                report.error(item.key, f"parent '{item.parent_key}' was not harvested")
                continue
            known = origin in existing  # a first harvest need not look each record up
            if known and parent is not None and parent.id in pending:
                # an existing record moves under a new parent: insert the new ones first
                uow.records.insert_new(fresh)
                fresh.clear()
                pending.clear()
            stored = self._upsert_one(uow, origin, item.record, parent, harvester, report, known)
            if not known:
                fresh.append(stored)
                pending.add(stored.id)
            by_key[item.key] = stored
            written.add(origin)
            if progress:
                progress("write", done, len(items))
        uow.records.insert_new(fresh)
        for origin, (record_id, status, _hash) in existing.items():
            if origin not in seen and status == RecordStatus.active.value:
                self._withdraw(uow, record_id)
                report.withdrawn += 1
        return written

    def _upsert_one(
        self,
        uow: UnitOfWork,
        origin: str,
        data: RecordCreate,
        parent: StoredRecord | None,
        harvester: ItemHarvester[Any],
        report: HarvestReport,
        known: bool = True,
    ) -> StoredRecord:
        data.source.harvested_at = data.source.harvested_at or utcnow()
        data.source.harvester_version = data.source.harvester_version or harvester.version
        data.source.type = data.source.type or harvester.name
        data.parent_id = parent.id if parent else None
        old = uow.records.by_origin(origin) if known else None
        data.terms = self._terms(data, old)
        if old is None:
            stored = build_stored(origin_record_id(origin), data, parent, origin=origin)
            if known:  # a withdrawn-and-purged edge case: write it now
                uow.records.save(stored)
            report.created += 1
            return stored
        body = body_of(data)
        parent_id = parent.id if parent else None
        new_hash = content_hash(data.level.value, data.title, parent_id, body)
        if new_hash == old.content_hash and old.status == RecordStatus.active.value:
            report.unchanged += 1
            return old
        if uow.records.version_published(old.id, old.version):
            old.version += 1
        old.title, old.body, old.parent_id, old.content_hash = data.title, body, parent_id, new_hash
        old.access = effective_access(old.own_access, parent.access if parent else None)
        old.status, old.withdrawn_at, old.updated = RecordStatus.active.value, None, utcnow()
        uow.records.save(old)
        report.updated += 1
        return old

    def _terms(self, data: RecordCreate, old: StoredRecord | None) -> list[Term]:
        """Fresh annotations, keeping curators' decisions from the previous version."""
        previous = [Term.model_validate(t) for t in (old.body.get("terms") or [])] if old else []
        if self.annotate is not None:
            return self.annotate(data, previous)
        curated = [t for t in previous if t.rule == "manual" or t.status != "proposed"]
        blocked = {t.iri for t in curated}
        return curated + [t for t in data.terms if t.iri not in blocked]

    @staticmethod
    def _withdraw(uow: UnitOfWork, record_id: str) -> None:
        stored = uow.records.get(record_id)
        if stored is None:
            return
        stored.status = RecordStatus.withdrawn.value
        stored.withdrawn_at = stored.updated = utcnow()
        uow.records.save(stored, snapshot=False)


def _attach_checksums(produced: list[HarvestedRecord], checksums: dict[str, str]) -> None:
    """Provenance: each listed file gets the SHA-256 the incremental state computed."""
    for item in produced:
        record = item.record
        for entry in record.files:
            found = _lookup(checksums, entry.path)
            if found and not entry.checksum:
                entry.checksum = found
            if entry.checksum:
                record.source.checksums.setdefault(entry.path, entry.checksum)


def _lookup(checksums: dict[str, str], path: str) -> str | None:
    """The checksum of a listed path; harvesters may list paths relative to a folder above
    the harvested one (e.g. with the study folder's name), so leading parts may go."""
    parts = path.split("/")
    for start in range(min(len(parts), 4)):
        found = checksums.get("/".join(parts[start:]))
        if found:
            return found
    return None


def _path_aliases(facts: list[FileFacts]) -> dict[str, str]:
    """Path components a harvester found to embed a subject's id or name (e.g. a PACS
    export folder `DOE^JOHN/` or a ParaVision study `..._RatA01_1_1`) -> their
    pseudonymised form."""
    aliases: dict[str, str] = {}
    for fact in facts:
        for pair in fact.data.get("path_aliases") or []:
            if len(pair) == 2:
                aliases[str(pair[0])] = str(pair[1])
    return aliases


def _pseudonymise_paths(produced: list[HarvestedRecord], aliases: dict[str, str]) -> None:
    """Listed file paths (and the checksum keys) never show those components."""
    if not aliases:
        return
    for item in produced:
        source = item.record.source
        for entry in item.record.files:
            public = "/".join(aliases.get(part, part) for part in entry.path.split("/"))
            if public != entry.path:
                if entry.path in source.checksums:
                    source.checksums[public] = source.checksums.pop(entry.path)
                entry.path = public


def _mapping_stamp(harvester: ItemHarvester[Any]) -> str:
    """What, besides the facts, decides the records: the harvester's version and options
    (e.g. `--species`); secrets are masked in the dump, so they do not count."""
    options = harvester.options.model_dump(mode="json", exclude={"secret"})
    text = json.dumps(options, sort_keys=True, default=str)
    return f"{harvester.name}:{harvester.version}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _digest(origins: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(origins)).encode()).hexdigest()


def _settled(
    uow: UnitOfWork,
    source: str,
    marker: ItemState | None,
    stamp: str,
    removed: list[str],
    report: HarvestReport,
) -> bool:
    """True when this run changes nothing, so assembling, re-annotating and hashing every
    record can be skipped -- what makes an unchanged re-harvest cheap. That holds when no
    item was fetched, removed or failing (the facts are those of the last run), the
    harvester's version and options are the same (so is the mapping), and the active
    records of the source are exactly those the last run wrote (a record a curator
    withdrew is restored by the full path, as before)."""
    if report.files_read or report.failed or removed:
        return False
    if marker is None or marker.fingerprint != stamp:
        return False
    existing = uow.records.origins_with_prefix(source + "#")
    active = [
        o for o, (_id, status, _hash) in existing.items() if status == RecordStatus.active.value
    ]
    if _digest(active) != marker.checksum:  # withdrawn by the harvest: not written either
        return False
    report.unchanged = len(active)
    return True


def _merge(fetched: Fetched, old: ItemState | None, report: HarvestReport) -> ItemState:
    """The item's new state; an error keeps the facts catalogued before (and is retried
    next run), "content unchanged" keeps the stored facts under the new fingerprint."""
    key = fetched.key
    if fetched.error:
        report.error(key, fetched.error)
        previous = old.facts if old else []
        return ItemState(key, fetched.fingerprint, fetched.checksum, previous, fetched.error)
    if fetched.facts is None and old is not None:
        report.files_cached += 1
        return ItemState(key, fetched.fingerprint, fetched.checksum, old.facts)
    report.files_read += 1
    return ItemState(key, fetched.fingerprint, fetched.checksum, fetched.facts or [])
