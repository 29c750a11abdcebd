"""The write rules every service shares: create, harvested update, curation, withdraw.

RecordService (curators' PATCHes, deposits, DELETE) and HarvestService (and the remote
harvesters built on it) change records only through these functions, so the rules live in
one place:

- **create**: access inherited from the parent, a content hash of what the record says.
- **update**: a new content hash; when the current version was published (a DOI points at
  it), the version number goes up first, so the published snapshot stays as it was.
- **curated overrides win over harvests**: a curator's edit of a field is kept apart from
  the harvested value (`StoredRecord.curation = {"curated": {...}, "harvested": {...}}`);
  the stored body always holds the merged (effective) value, so readers, exporters and
  the index need no merge of their own. A re-harvest of an unchanged source leaves the
  record unchanged; when the source itself changes a curated field, the curated value
  still wins and the change is reported as a conflict (record + field) so a curator can
  look, instead of being silently undone or silently ignored.
- **withdraw**: a tombstone (status withdrawn, dates kept), never a delete.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from catalog.domain.clean import clean_json
from catalog.domain.enums import RecordStatus
from catalog.domain.imaging import normalise_imaging
from catalog.domain.records import RecordCreate, RecordUpdate
from catalog.services.access import effective_access
from catalog.store.repository import StoredRecord, UnitOfWork, utcnow

_BODY_EXCLUDE = {"id", "level", "title", "parent_id", "access"}

#: Fields a curator's PATCH turns into overrides that harvests never undo (access has
#: its own rules: `own_access` is never written by harvests).
CURATED_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "creators",
    "license",
    "keywords",
    "identifiers",
    "imaging",
    "subject",
    "bids",
    "terms",
    "related",
    "files",
)
#: Curated fields whose harvested value is not compared for conflicts: terms are
#: recomputed by the annotator on every harvest, so a difference says nothing about the
#: source.
_NO_CONFLICT = frozenset({"terms"})

#: Curated fields where null is a value ("no description"); elsewhere a null override
#: (a PATCH that cleared a structured field) never replaces the harvested value.
_NULLABLE = frozenset({"description", "license"})

WriteAction = Literal["created", "updated", "unchanged"]


def origin_record_id(origin: str) -> str:
    """Deterministic ids for harvested records: the same source item keeps its URL."""
    return hashlib.blake2b(origin.encode("utf-8"), digest_size=8).hexdigest()


def body_of(data: RecordCreate) -> dict[str, Any]:
    """The stored body: cleaned of what no reader can render (see `catalog.domain.clean`)
    and normalised at write time (nominal field strength, vendor name)."""
    body = normalise_imaging(clean_json(data.model_dump(mode="json", exclude=_BODY_EXCLUDE)))
    if body.get("publication") is None:  # only publications carry it; keeps older hashes
        body.pop("publication", None)
    return body


def content_hash(level: str, title: str, parent_id: str | None, body: dict[str, Any]) -> str:
    """Hash of what a record says (not its access policy, which curators own), ignoring
    harvest timestamps: equal hashes mean a re-harvest found nothing new."""
    source = {k: v for k, v in (body.get("source") or {}).items() if k != "harvested_at"}
    payload = {
        "level": level,
        "title": title,
        "parent": parent_id,
        "body": {**body, "source": source},
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def rehash(stored: StoredRecord) -> None:
    stored.content_hash = content_hash(stored.level, stored.title, stored.parent_id, stored.body)


def build_stored(
    record_id: str, data: RecordCreate, parent: StoredRecord | None, origin: str | None = None
) -> StoredRecord:
    """A new StoredRecord from validated input (access inherited from the parent)."""
    own = data.access.model_dump(mode="json", exclude={"inherited"}) if data.access else None
    body = body_of(data)
    now = utcnow()
    return StoredRecord(
        id=record_id,
        level=data.level.value,
        title=data.title,
        body=body,
        own_access=own,
        access=effective_access(own, parent.access if parent else None),
        parent_id=parent.id if parent else None,
        origin=origin,
        content_hash=content_hash(
            data.level.value, data.title, parent.id if parent else None, body
        ),
        created=now,
        updated=now,
    )


def create(
    uow: UnitOfWork,
    record_id: str,
    data: RecordCreate,
    parent: StoredRecord | None,
    origin: str | None = None,
) -> StoredRecord:
    """Insert a new record (the caller checked that the id is free)."""
    stored = build_stored(record_id, data, parent, origin=origin)
    uow.records.save(stored)
    return stored


def bump_if_published(uow: UnitOfWork, stored: StoredRecord) -> None:
    """A published version is immutable: changes go to the next version."""
    if uow.records.version_published(stored.id, stored.version):
        stored.version += 1


# ----- curation ------------------------------------------------------------------------
@dataclass
class Curation:
    """A record's curated overrides and the harvested values they replace (JSON values)."""

    curated: dict[str, Any] = field(default_factory=dict)
    harvested: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, stored: StoredRecord) -> Curation:
        raw = copy.deepcopy(stored.curation or {})
        return cls(curated=raw.get("curated") or {}, harvested=raw.get("harvested") or {})

    def as_json(self) -> dict[str, Any] | None:
        if not self.curated:
            return None
        return {"curated": self.curated, "harvested": self.harvested}


def field_value(stored: StoredRecord, name: str) -> Any:
    return stored.title if name == "title" else copy.deepcopy(stored.body.get(name))


def apply_patch(uow: UnitOfWork, stored: StoredRecord, changes: dict[str, Any]) -> None:
    """A curator's edit (JSON values of RecordUpdate fields, access excluded).

    For a harvested record each edited field becomes an override: the harvested value it
    replaces is remembered (the first time only: a second edit replaces the override, not
    the harvested value), so curators see both and later harvests cannot undo the edit.
    """
    changes = clean_json(_complete(changes))
    bump_if_published(uow, stored)
    if stored.origin:
        curation = Curation.of(stored)
        for name in changes:
            if name in CURATED_FIELDS and name not in curation.curated:
                curation.harvested[name] = field_value(stored, name)
        curation.curated.update(copy.deepcopy(changes))
        stored.curation = curation.as_json()
    if "title" in changes:
        stored.title = changes.pop("title")
    stored.body = normalise_imaging({**stored.body, **changes})
    stored.updated = utcnow()
    rehash(stored)


def _complete(changes: dict[str, Any]) -> dict[str, Any]:
    """The changed fields with every default filled in (a PATCH dumped with `exclude_unset`
    omits nested defaults, and a stored value must equal what a harvest would store)."""
    full = RecordUpdate.model_validate(changes).model_dump(mode="json")
    return {name: full[name] for name in changes}


def set_terms(stored: StoredRecord, terms: list[dict[str, Any]]) -> None:
    """Terms changed by curation (accept, reject, add): a curated terms list follows."""
    stored.body = {**stored.body, "terms": terms}
    curation = Curation.of(stored)
    if "terms" in curation.curated:
        curation.curated["terms"] = copy.deepcopy(terms)
        stored.curation = curation.as_json()
    stored.updated = utcnow()
    rehash(stored)


# ----- harvested writes ----------------------------------------------------------------
@dataclass
class HarvestWrite:
    """What writing one harvested record did; `conflicts` names curated fields whose
    harvested value changed at the source (the curated value was kept)."""

    record: StoredRecord
    action: WriteAction
    conflicts: list[str] = field(default_factory=list)


def write_harvested(
    uow: UnitOfWork,
    origin: str,
    data: RecordCreate,
    parent: StoredRecord | None,
    old: StoredRecord | None = None,
) -> HarvestWrite:
    """Create or update the record of one harvested item (found by `origin`).

    Curated overrides are merged over the harvested values before hashing, so an
    unchanged source re-harvests as "unchanged" and curators' edits stay.
    """
    data.parent_id = parent.id if parent else None
    if old is None:
        old = uow.records.by_origin(origin)
    if old is None:
        return HarvestWrite(create(uow, origin_record_id(origin), data, parent, origin), "created")
    curation = Curation.of(old)
    conflicts = _refresh_harvested(curation, data)
    merged = _merge(curation, data)
    body = body_of(merged)
    parent_id = parent.id if parent else None
    new_hash = content_hash(merged.level.value, merged.title, parent_id, body)
    active = old.status == RecordStatus.active.value
    if new_hash == old.content_hash and active and old.parent_id == parent_id:
        if conflicts:  # only the remembered harvested values moved
            old.curation = curation.as_json()
            uow.records.save(old, snapshot=False)
        return HarvestWrite(old, "unchanged", conflicts)
    bump_if_published(uow, old)
    old.title, old.body, old.parent_id, old.content_hash = merged.title, body, parent_id, new_hash
    old.curation = curation.as_json()
    old.access = effective_access(old.own_access, parent.access if parent else None)
    old.status, old.withdrawn_at, old.updated = RecordStatus.active.value, None, utcnow()
    uow.records.save(old)
    return HarvestWrite(old, "updated", conflicts)


def _harvested_json(data: RecordCreate, name: str) -> Any:
    if name == "title":
        return data.title
    return data.model_dump(mode="json", include={name}).get(name)


def _refresh_harvested(curation: Curation, data: RecordCreate) -> list[str]:
    """Remember the source's current value of each curated field; name those it changed."""
    conflicts: list[str] = []
    for name in curation.curated:
        if name not in CURATED_FIELDS:
            continue
        fresh = _harvested_json(data, name)
        known = name in curation.harvested and name not in _NO_CONFLICT
        if known and curation.harvested[name] != fresh:
            conflicts.append(name)
        curation.harvested[name] = fresh
    return conflicts


def _merge(curation: Curation, data: RecordCreate) -> RecordCreate:
    """The harvested record with the curated overrides on top."""
    if not curation.curated:
        return data
    overrides = {
        k: v
        for k, v in curation.curated.items()
        if k in CURATED_FIELDS and (v is not None or k in _NULLABLE)
    }
    merged = data.model_dump(mode="json")
    merged.update(copy.deepcopy(overrides))
    return RecordCreate.model_validate(merged)


# ----- withdraw ------------------------------------------------------------------------
def withdraw(uow: UnitOfWork, stored: StoredRecord) -> None:
    """A tombstone: the record stays (its URL answers "withdrawn"), it is no longer listed."""
    stored.status = RecordStatus.withdrawn.value
    stored.withdrawn_at = stored.updated = utcnow()
    uow.records.save(stored, snapshot=False)
