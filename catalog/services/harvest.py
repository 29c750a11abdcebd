"""HarvestService: incremental harvesting from any registered harvester.

Files are compared with the cached state of the previous run (path, size, mtime; a
content checksum when those disagree), so only new or changed files are read. Records are
matched to earlier ones by their stable source key: created / updated / unchanged are
counted, and records whose source item disappeared become withdrawn tombstones (never a
silent delete). Bad items become error entries; they never stop the run nor remove what
was catalogued before.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pydantic

from catalog.domain.enums import RecordStatus
from catalog.domain.errors import ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordCreate, Term
from catalog.domain.results import HarvestReport
from catalog.services import collection_meta
from catalog.services.access import effective_access, require_writer
from catalog.services.indexing import IndexSync
from catalog.services.previews import PREVIEW_LEVELS, PreviewBuilder, PreviewJob
from catalog.services.records import body_of, build_stored, content_hash, origin_record_id
from catalog.store.repository import FileState, StoredRecord, UnitOfWork, utcnow
from harvesters.base import FileFacts, HarvestedRecord, Harvester, HarvestOptions, ItemError
from harvesters.registry import harvesters

Progress = Callable[[str, int, int | None], None]
Annotate = Callable[[RecordCreate, list[Term]], list[Term]]
READ_WORKERS = 4


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


class HarvestService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        index_sync: IndexSync,
        secret: bytes,
        annotate: Annotate | None = None,
        previews: PreviewBuilder | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.index_sync = index_sync
        self.secret = secret
        self.annotate = annotate
        self.previews = previews

    @staticmethod
    def parse_options(
        kind: str, values: dict[str, Any], spell: Callable[[str], str] = str
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

    def make_harvester(self, kind: str, options: HarvestOptions | None = None) -> Harvester:
        cls = harvesters.get(kind)
        opts = options or cls.Options()
        opts.secret = self.secret
        return cls(opts)

    def run(
        self,
        identity: Identity,
        kind: str,
        location: str,
        options: HarvestOptions | None = None,
        progress: Progress | None = None,
    ) -> HarvestReport:
        """Harvest `location` with the `kind` harvester; raises SourceUnusableError early."""
        require_writer(identity, "harvesting")
        harvester = self.make_harvester(kind, options)
        root = harvester.check_location(location).resolve()
        source = f"{kind}:{root}"
        report = HarvestReport(source=source)
        started = utcnow()
        with self.uow_factory() as uow:
            cached = uow.harvest.files(source)
            metadata = collection_meta.merged(harvester.options, uow.harvest.last_run(source))
        states = self._scan(harvester, root, cached, report, progress)
        facts = [FileFacts(**f) for s in states.values() for f in s.facts]
        produced = self._assemble(harvester, root, facts, report)
        collection_meta.apply(produced, metadata)  # --title etc., given now or before
        _attach_checksums(produced, {path: state.checksum for path, state in states.items()})
        changed = {path for path, state in states.items() if cached.get(path) is not state}
        previews = _preview_jobs(source, produced, changed)  # real paths, not pseudonymised
        _pseudonymise_paths(produced, _path_aliases(facts))
        with self.uow_factory() as uow:
            self._upsert(uow, source, produced, harvester, report, progress)
            fresh: list[FileState] = []
            for path, state in states.items():
                if path not in cached:
                    fresh.append(state)
                elif cached[path] != state:
                    uow.harvest.put(source, state)
            uow.harvest.add_many(source, fresh)
            uow.harvest.remove(source, [p for p in cached if p not in states])
            run = {**report.model_dump(mode="json"), collection_meta.REPORT_KEY: metadata}
            uow.harvest.add_run(source, started, run)
            uow.commit()
        self.index_sync.try_apply()
        if self.previews is not None:
            self.previews.build(root, previews)
        return report

    # ----- step 1: find and read files -------------------------------------------------
    def _scan(
        self,
        harvester: Harvester,
        root: Path,
        cached: dict[str, FileState],
        report: HarvestReport,
        progress: Progress | None,
    ) -> dict[str, FileState]:
        states: dict[str, FileState] = {}
        to_read: list[tuple[Path, str, os.stat_result]] = []
        for found in harvester.discover(root):
            if isinstance(found, ItemError):
                report.error(found.item, found.error)
                continue
            rel = _relative(found, root)
            try:
                stat = found.stat()
            except OSError as exc:
                report.error(rel, f"cannot stat file: {exc.strerror or exc}")
                _keep_previous(states, cached, rel)
                continue
            old = cached.get(rel)
            if (
                old
                and not old.error
                and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
            ):
                states[rel] = old
                report.files_cached += 1
            else:
                to_read.append((found, rel, stat))
        total = len(to_read)
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            jobs = [
                (
                    rel,
                    stat,
                    cached.get(rel),
                    pool.submit(self._read_one, harvester, path, cached.get(rel)),
                )
                for path, rel, stat in to_read
            ]
            for done, (rel, stat, old, job) in enumerate(jobs, 1):
                self._collect(rel, stat, old, job.result(), states, report)
                if progress:
                    progress("read", done, total)
        return states

    @staticmethod
    def _read_one(
        harvester: Harvester, path: Path, old: FileState | None
    ) -> tuple[str, list[dict] | None, str | None]:
        """(checksum, facts or None when unchanged, error message)."""
        try:
            checksum = sha256_file(path)
        except OSError as exc:
            return "", None, f"cannot read file: {exc.strerror or exc}"
        if old and not old.error and old.checksum == checksum:
            return checksum, None, None
        try:
            facts = harvester.read(path)
        except (ValueError, OSError, KeyError, IndexError, TypeError, EOFError) as exc:
            return checksum, None, str(exc) or exc.__class__.__name__
        # shallow: the facts were just built for us (dataclasses.asdict deep-copies them)
        return checksum, [{"path": f.path, "kind": f.kind, "data": f.data} for f in facts], None

    @staticmethod
    def _collect(
        rel: str,
        stat: os.stat_result,
        old: FileState | None,
        result: tuple[str, list[dict] | None, str | None],
        states: dict[str, FileState],
        report: HarvestReport,
    ) -> None:
        checksum, facts, error = result
        if error:
            report.error(rel, error)
            previous = old.facts if old else []  # keep what was catalogued before
            states[rel] = FileState(rel, stat.st_size, stat.st_mtime_ns, checksum, previous, error)
            return
        if facts is None and old is not None:
            states[rel] = FileState(rel, stat.st_size, stat.st_mtime_ns, checksum, old.facts)
            report.files_cached += 1
            return
        states[rel] = FileState(rel, stat.st_size, stat.st_mtime_ns, checksum, facts or [])
        report.files_read += 1

    # ----- step 2: build the hierarchy -------------------------------------------------
    @staticmethod
    def _assemble(
        harvester: Harvester, root: Path, facts: list[FileFacts], report: HarvestReport
    ) -> list[HarvestedRecord]:
        produced: list[HarvestedRecord] = []
        try:
            for item in harvester.assemble(root, facts):
                if isinstance(item, ItemError):
                    report.error(item.item, item.error)
                else:
                    produced.append(item)
        except Exception as exc:  # a harvester bug must not lose the catalogue
            report.error(str(root), f"{harvester.name} harvester failed while assembling: {exc}")
            raise
        return produced

    # ----- step 3: write records ---------------------------------------------------------
    def _upsert(
        self,
        uow: UnitOfWork,
        source: str,
        produced: Iterable[HarvestedRecord],
        harvester: Harvester,
        report: HarvestReport,
        progress: Progress | None,
    ) -> None:
        existing = uow.records.origins_with_prefix(source + "#")
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
            stored = self._upsert_one(uow, origin, item.record, parent, harvester, report)
            by_key[item.key] = stored
            if progress:
                progress("write", done, len(items))
        for origin, (record_id, status, _hash) in existing.items():
            if origin not in seen and status == RecordStatus.active.value:
                self._withdraw(uow, record_id)
                report.withdrawn += 1

    def _upsert_one(
        self,
        uow: UnitOfWork,
        origin: str,
        data: RecordCreate,
        parent: StoredRecord | None,
        harvester: Harvester,
        report: HarvestReport,
    ) -> StoredRecord:
        data.source.harvested_at = data.source.harvested_at or utcnow()
        data.source.harvester_version = data.source.harvester_version or harvester.version
        data.source.type = data.source.type or harvester.name
        data.parent_id = parent.id if parent else None
        old = uow.records.by_origin(origin)
        data.terms = self._terms(data, old)
        if old is None:
            stored = build_stored(origin_record_id(origin), data, parent, origin=origin)
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


def _preview_jobs(
    source: str, produced: list[HarvestedRecord], changed: set[str]
) -> list[PreviewJob]:
    """Thumbnail jobs for the acquisitions with a file new or changed in this run (an
    unchanged re-harvest touches no thumbnail and stats no file for them)."""
    return [
        PreviewJob(origin_record_id(f"{source}#{item.key}"), [f.path for f in item.record.files])
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


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _keep_previous(states: dict[str, FileState], cached: dict[str, FileState], rel: str) -> None:
    if rel in cached:
        states[rel] = cached[rel]
