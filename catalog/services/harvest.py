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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic

from catalog.domain.enums import RecordStatus
from catalog.domain.errors import PluginUnavailableError, SourceUnusableError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordCreate, Term
from catalog.domain.results import Conflict, HarvestReport, HarvestRun, HarvestRunPage, ItemState
from catalog.services import collection_meta, writes
from catalog.services.access import require_admin, require_writer
from catalog.services.indexing import IndexSync
from catalog.services.path_privacy import PathAliases
from catalog.services.previews import PREVIEW_LEVELS, PreviewBuilder, PreviewJob
from catalog.services.source_lock import SourceLocks, source_key
from catalog.store.database import json_copy
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
from harvesters.staging import StageLimits, StageRequest

Progress = Callable[[str, int, int | None], None]
Annotate = Callable[[RecordCreate, list[Term]], list[Term]]
CHECKPOINT_ITEMS = 256
#: A state row holding the harvester name:version of the last run: another version may
#: map the same facts differently, so the "nothing changed" shortcut is off after upgrades.
VERSION_KEY = "@harvester"


@dataclass(frozen=True)
class HarvesterHelp:
    """A harvester type as help texts show it: what LOCATION is and a real command line."""

    name: str
    summary: str
    example: str
    internal: bool = False


def _first_line(doc: str | None) -> str:
    text = (doc or "").strip()
    return text.splitlines()[0].rstrip(".") if text else ""


@dataclass
class _Scan:
    """What discovery found: the states of the items fetched this run, and the keys of
    those whose stored state stands (fingerprint unchanged, or unreadable this time)."""

    fresh: dict[str, ItemState] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)


class _Pending:
    """Item states fetched since the last checkpoint, sorted by how they are stored: new
    items inserted, changed ones replaced, and those whose stored facts stand (content
    unchanged, or unreadable this time) re-stamped without their facts being touched."""

    def __init__(self, source: str, known: dict[str, str | None]) -> None:
        self.source = source
        self.known = known
        self.new: list[ItemState] = []
        self.replaced: list[ItemState] = []
        self.restamped: list[ItemState] = []

    def __len__(self) -> int:
        return len(self.new) + len(self.replaced) + len(self.restamped)

    def add(self, state: ItemState, stands: bool) -> None:
        if stands:
            self.restamped.append(state)
        elif state.key in self.known:
            self.replaced.append(state)
        else:
            self.new.append(state)

    def write(self, uow: UnitOfWork) -> None:
        uow.harvest.put_many(self.source, self.new, new=True)
        uow.harvest.put_many(self.source, self.replaced)
        uow.harvest.restamp(self.source, self.restamped)
        self.new, self.replaced, self.restamped = [], [], []


@dataclass(frozen=True)
class _Pass:
    """What one run's write pass works from: the items' states (and those of the last
    run, to tell which changed) and the collection metadata to apply."""

    source: str
    states: dict[str, ItemState]
    cached: dict[str, ItemState]
    metadata: dict[str, str]


class HarvestService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        index_sync: IndexSync,
        secret: bytes,
        annotate: Annotate | None = None,
        previews: PreviewBuilder | None = None,
        credentials_file: Path | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.credentials_file = credentials_file
        self.index_sync = index_sync
        self.secret = secret
        self.annotate = annotate
        self.checkpoint_items = CHECKPOINT_ITEMS
        self.previews = previews
        self.locks = SourceLocks(index_sync.lock_path.parent / "harvest-locks")

    @staticmethod
    def kinds() -> list[str]:
        """The registered harvester types."""
        return harvesters.names()

    @staticmethod
    def describe(kind: str) -> HarvesterHelp:
        """What a harvester reads and an example, from the harvester itself (help texts);
        an unavailable plugin (a missing dependency) says so instead of raising."""
        try:
            cls = harvesters.get(kind)
        except PluginUnavailableError as exc:
            return HarvesterHelp(kind, f"unavailable: {exc.message}", "")
        return HarvesterHelp(
            kind, cls.summary or _first_line(cls.__doc__), cls.example, cls.internal
        )

    @staticmethod
    def user_kinds() -> list[HarvesterHelp]:
        """The types people harvest by hand (`harvest --help`, `sources add --help`):
        every registered one except those Imagora runs itself (job outputs)."""
        found = map(HarvestService.describe, HarvestService.kinds())
        return [info for info in found if not info.internal]

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

    def stage(
        self, kind: str, request: StageRequest, dest: Path, limits: StageLimits
    ) -> list[Path]:
        """Fetch a remote record's files under `dest` through its harvester, with the
        credentials its harvest would use: the registered source's options (secrets
        file) for that location, else the settings' credentials file for the host."""
        harvester = self.make_harvester(kind, self._source_options(kind, request.location))
        self._with_site_credentials(harvester, request.location)
        dest.mkdir(parents=True, exist_ok=True)
        return harvester.stage(request, dest, limits)

    def _source_options(self, kind: str, location: str) -> HarvestOptions | None:
        wanted = strip_userinfo(location).rstrip("/")
        with self.uow_factory() as uow:
            sources = uow.sources.list()
        for source in sources:
            if source.kind == kind and strip_userinfo(source.location).rstrip("/") == wanted:
                return self.parse_options(kind, source.options)
        return None

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
        short) before anything in the catalogue changes, `HarvestRunningError` when
        another process is harvesting the same source. Fetched item states are
        checkpointed as the run goes, so a run killed half-way resumes where it stopped;
        records are written in one transaction at the end, from every item's facts.
        """
        require_writer(identity, "harvesting")
        with self.locks.hold(source_key(kind, strip_userinfo(location))):
            return self._open_and_run(kind, location, options, progress)

    def _open_and_run(
        self,
        kind: str,
        location: str,
        options: HarvestOptions | None,
        progress: Progress | None,
    ) -> HarvestReport:
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
            known = uow.harvest.fingerprints(source)  # no facts: most runs never need them
            marker = uow.harvest.items(source, [VERSION_KEY]).get(VERSION_KEY)
            last = uow.harvest.last_run(source, having=collection_meta.REPORT_KEY)
        known.pop(VERSION_KEY, None)
        metadata = collection_meta.merged(harvester.options, last)
        scan = self._scan(harvester, where, source, known, report, progress)
        removed = [k for k in known if k not in scan.kept and k not in scan.fresh]
        previews: list[PreviewJob] = []
        with self.uow_factory() as uow:
            if not _settled(uow, source, marker, _mapping_stamp(harvester), removed, report):
                run = _write_pass(uow, source, scan, metadata)
                written, previews = self._write(uow, harvester, where, run, report, progress)
                stamp = ItemState(VERSION_KEY, _mapping_stamp(harvester), _digest(written), [])
                uow.harvest.put_many(source, [stamp])
            uow.harvest.remove(source, removed)
            report.duration_s = round(time.monotonic() - started, 3)
            report.requests = harvester.requests_made()
            run = {**report.model_dump(mode="json"), collection_meta.REPORT_KEY: metadata}
            uow.harvest.add_run(source, started_at, run)
            uow.commit()
        self.index_sync.try_apply()
        if self.previews is not None and isinstance(where, Path):
            self.previews.build(where, previews)
        return report

    def _write(
        self,
        uow: UnitOfWork,
        harvester: ItemHarvester[Any],
        where: Any,
        run: _Pass,
        report: HarvestReport,
        progress: Progress | None,
    ) -> tuple[set[str], list[PreviewJob]]:
        """Assemble the hierarchy from every item's facts and upsert it: the origins
        written, and the thumbnails to make (acquisitions with a new or changed file)."""
        facts = _assembly_facts(run.states)
        produced = self._assemble(harvester, where, facts, report)
        collection_meta.apply(produced, run.metadata)  # --title etc., given now or before
        _attach_checksums(produced, {key: state.checksum for key, state in run.states.items()})
        previews: list[PreviewJob] = []
        if isinstance(where, Path):  # thumbnails are of local files only (see `_run`)
            changed = {k for k, state in run.states.items() if run.cached.get(k) is not state}
            previews = _preview_jobs(run.source, produced, changed)  # real paths, not aliased
        _hide_identifying_names(produced, facts, where, report)
        written = self._upsert(uow, run.source, produced, harvester, report, progress)
        return written, previews

    # ----- step 1: discover items, fetch the changed ones ---------------------------------
    def _scan(
        self,
        harvester: ItemHarvester[Any],
        where: Any,
        source: str,
        known: dict[str, str | None],
        report: HarvestReport,
        progress: Progress | None,
    ) -> _Scan:
        """Compare every discovered item's fingerprint with the stored one (a dict lookup:
        no hashing, no SQL per item) and fetch the items that differ -- or, with the `full`
        option, every item: what a fingerprint misses (a Shanoir-NG protocol changed
        alone, a file rewritten with its size and mtime restored) is then read too. The
        harvester still confirms with its checksum, so unchanged content stays cached."""
        scan = _Scan()
        changed: list[ItemRef] = []
        kept = scan.kept
        cached = 0  # counted here, not on the report model: this loop runs 10^5 times
        full = report.full = bool(getattr(harvester.options, "full", False))
        for found in harvester.discover_items(where):
            if isinstance(found, ItemError):
                report.error(found.item, found.error)
                if found.item in known:  # keep what was catalogued before
                    kept.add(found.item)
            elif not full and found.fingerprint == known.get(found.key):  # None: retried
                kept.add(found.key)
                cached += 1
            else:
                changed.append(found)
        report.files_cached += cached
        if changed:
            self._fetch(harvester, where, source, changed, known, scan, report, progress)
        return scan

    def _fetch(
        self,
        harvester: ItemHarvester[Any],
        where: Any,
        source: str,
        changed: list[ItemRef],
        known: dict[str, str | None],
        scan: _Scan,
        report: HarvestReport,
        progress: Progress | None,
    ) -> None:
        """Fetch changed items, committing their states every `CHECKPOINT_ITEMS` (only the
        harvest state: the catalogue itself changes at the end of the run)."""
        previous = self._previous_states(source, [ref.key for ref in changed if ref.key in known])
        pending = _Pending(source, known)
        for done, fetched in enumerate(harvester.fetch(where, _with_old(changed, previous)), 1):
            state, stands = _merge(fetched, previous.get(fetched.key), report)
            if stands:  # the stored facts stand: only the fingerprint etc. change
                scan.kept.add(state.key)
            else:
                scan.fresh[state.key] = state
            pending.add(state, stands)
            if len(pending) >= self.checkpoint_items:
                self._checkpoint(pending)
            if progress:
                progress("read", done, len(changed))
        self._checkpoint(pending)

    def _previous_states(self, source: str, keys: list[str]) -> dict[str, ItemState]:
        """What `fetch` is told of the changed items stored before: fingerprint, checksum
        (a touched but identical file is "content unchanged") and error; not the facts."""
        if not keys:
            return {}
        with self.uow_factory() as uow:
            return uow.harvest.stamps(source, keys)

    def _checkpoint(self, pending: _Pending) -> None:
        if len(pending):
            with self.uow_factory() as uow:
                pending.write(uow)
                uow.commit()

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
                stored = uow.records.get(record_id)
                if stored is not None:
                    writes.withdraw(uow, stored)
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
        old = uow.records.by_origin(origin) if known else None
        data.terms = self._terms(data, old)
        if old is None and not known:  # inserted in bulk by the caller
            data.parent_id = parent.id if parent else None
            report.created += 1
            return writes.build_stored(writes.origin_record_id(origin), data, parent, origin)
        result = writes.write_harvested(uow, origin, data, parent, old)
        setattr(report, result.action, getattr(report, result.action) + 1)
        for name in result.conflicts:
            report.conflicts.append(
                Conflict(
                    record=result.record.id,
                    field=name,
                    message=f"the source changed '{name}', which a curator edited; "
                    "the curated value was kept",
                )
            )
        return result.record

    def _terms(self, data: RecordCreate, old: StoredRecord | None) -> list[Term]:
        """Fresh annotations, keeping curators' decisions from the previous version."""
        previous = [Term.model_validate(t) for t in (old.body.get("terms") or [])] if old else []
        if self.annotate is not None:
            return self.annotate(data, previous)
        curated = [t for t in previous if t.rule == "manual" or t.status != "proposed"]
        blocked = {t.iri for t in curated}
        return curated + [t for t in data.terms if t.iri not in blocked]


def _preview_jobs(
    source: str, produced: list[HarvestedRecord], changed: set[str]
) -> list[PreviewJob]:
    """Thumbnail jobs for the acquisitions with a file new or changed in this run (an
    unchanged re-harvest touches no thumbnail and stats no file for them)."""
    return [
        PreviewJob(
            writes.origin_record_id(f"{source}#{item.key}"), [f.path for f in item.record.files]
        )
        for item in produced
        if item.record.level.value in PREVIEW_LEVELS
        and any(_lookup_key(f.path, changed) for f in item.record.files)
    ]


def _lookup_key(path: str, keys: set[str]) -> bool:
    """Whether a listed path names one of `keys` (harvest-state paths, which may lack
    the listed path's leading folders; see `_lookup`)."""
    parts = path.split("/")
    return any("/".join(parts[start:]) in keys for start in range(min(len(parts), 4)))


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


def _hide_identifying_names(
    produced: list[HarvestedRecord], facts: list[FileFacts], where: Any, report: HarvestReport
) -> None:
    """Folder names that embed a subject's id or name never reach records nor the report:
    every record text and listed path goes through the aliases the harvester found, and
    a local source is named by its (pseudonymised) folder name, its path staying in
    `location` for curators and admins."""
    aliases = PathAliases.from_facts(facts)
    aliases.apply(produced)
    if isinstance(where, Path):
        _name_source(produced, aliases.component(where.name) or str(where))
    for entry in report.errors:
        entry.item, entry.error = aliases.path(entry.item), aliases.text(entry.error)


def _name_source(produced: list[HarvestedRecord], name: str) -> None:
    """What the public sees of a local source: the harvested folder's name."""
    for item in produced:
        item.record.source.name = item.record.source.name or name


def _as_stored(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts exactly as the store will hand them back next run (tuples become lists,
    number subclasses plain numbers): a run that read a file and the next run that takes
    its facts from the cache must build the same records, or every change would need two
    runs to settle."""
    try:
        return json_copy(facts)  # the store's own round trip (orjson, NaN as null)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the harvester produced facts that cannot be stored: {exc}") from None


def _assembly_facts(states: dict[str, ItemState]) -> list[FileFacts]:
    """Every item's facts for `assemble`, in key order (the same whichever items this run
    fetched). Not copied: the fetched states were stored by the last checkpoint before
    the write pass starts, so nothing `assemble` does to its input can reach the cache."""
    facts: list[FileFacts] = []
    for key in sorted(states):
        facts.extend(FileFacts(**f) for f in states[key].facts)
    return facts


def _with_old(
    changed: list[ItemRef], previous: dict[str, ItemState]
) -> list[tuple[ItemRef, ItemState | None]]:
    return [(ref, previous.get(ref.key)) for ref in changed]


def _write_pass(uow: UnitOfWork, source: str, scan: _Scan, metadata: dict[str, str]) -> _Pass:
    """What the write pass works from: every item's state with its facts (loaded now, as
    only a run that changes something needs them) and the stored states that stand."""
    stored = uow.harvest.items(source) if scan.kept else {}  # a first run has it all
    cached = {key: stored[key] for key in scan.kept if key in stored}
    return _Pass(source, {**cached, **scan.fresh}, cached, metadata)


def _mapping_stamp(harvester: ItemHarvester[Any]) -> str:
    """What, besides the facts, decides the records: the harvester's version and options
    (e.g. `--species`); secrets are masked in the dump, so they do not count."""
    tuning = set(getattr(harvester.options, "tuning", ()))  # how fast, never what
    per_run = set(getattr(harvester.options, "per_run", ()))  # which items, never how
    options = harvester.options.model_dump(mode="json", exclude={"secret", *tuning, *per_run})
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


def _merge(
    fetched: Fetched, old: ItemState | None, report: HarvestReport
) -> tuple[ItemState, bool]:
    """The item's new state, and whether its stored facts stand: an error keeps the facts
    catalogued before (and is retried next run), "content unchanged" keeps them under
    the new fingerprint; only the fingerprint, checksum and error are then stored."""
    key = fetched.key
    if fetched.error:
        report.error(key, fetched.error)
        return ItemState(key, fetched.fingerprint, fetched.checksum, [], fetched.error), bool(old)
    if fetched.facts is None and old is not None:
        report.files_cached += 1
        return ItemState(key, fetched.fingerprint, fetched.checksum, []), True
    if fetched.encoded is not None and fetched.facts is not None:  # the stored form already
        report.files_read += 1
        state = ItemState(key, fetched.fingerprint, fetched.checksum, fetched.facts)
        state.encoded = fetched.encoded
        return state, False
    try:
        facts = _as_stored(fetched.facts or [])
    except ValueError as exc:
        report.error(key, str(exc))
        return ItemState(key, fetched.fingerprint, fetched.checksum, [], str(exc)), bool(old)
    report.files_read += 1
    return ItemState(key, fetched.fingerprint, fetched.checksum, facts), False
