"""SummaryService: a dataset's contents at a glance, from the descendants a caller sees.

A collection's landing page opens with species, field strengths, modalities, sequences,
counts, dates, size and a subject x session x modality grid. They are computed here by
walking the record's descendants level by level (one store query per level), skipping
withdrawn records and every record the caller may not see (and, with it, its branch), so
a summary never counts what a search would hide.

Why not the search index: the summary needs every descendant's files and sizes, which
the index does not hold; the walk reads only the record's own branch.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from threading import Lock
from typing import Any, Generic, TypeVar

from catalog.domain.errors import NotFoundError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordPage
from catalog.domain.summary import CatalogueGlance, Count, DatasetSummary, GridRow
from catalog.services.access import can_see
from catalog.services.records import SearchRequest
from catalog.store.repository import StoredRecord, UnitOfWork

#: Grid rows shown at most (a 10^4-subject cohort's page stays readable; the rest are
#: counted in `grid_rows_total`).
MAX_GRID_ROWS = 200
#: Deepest level walked below the record (collection > subject > session > acquisition
#: > derived leaves room for one more).
MAX_DEPTH = 6
NO_SESSION = "\u2014"
V = TypeVar("V")


@dataclass
class _Place:
    """The subject and session a record sits under (ids and titles)."""

    subject: StoredRecord | None = None
    session: StoredRecord | None = None


@dataclass
class _Tally:
    levels: Counter[str] = field(default_factory=Counter)
    modalities: Counter[str] = field(default_factory=Counter)
    strengths: Counter[str] = field(default_factory=Counter)
    sequences: Counter[str] = field(default_factory=Counter)
    species: dict[str, set[str]] = field(default_factory=dict)
    files: int = 0
    size: int = 0
    dates: list[date] = field(default_factory=list)
    grid: dict[tuple[str, str], GridRow] = field(default_factory=dict)
    columns: Counter[str] = field(default_factory=Counter)


class StampedMemo(Generic[V]):
    """A bounded LRU memo whose entries hold while the store's change stamp does: any
    record write moves the stamp, and every entry made before it is ignored."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: Hashable, stamp: Hashable) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != stamp:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, stamp: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _reader_key(identity: Identity) -> Hashable:
    """Callers who see the same records share summaries."""
    return "*" if identity.sees_everything else tuple(sorted(identity.reader_keys()))


class SummaryService:
    """Dataset summaries, remembered per (record, kind of reader) until a record changes:
    a big collection's page would otherwise read its whole branch on every view."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], memo_size: int = 256) -> None:
        self.uow_factory = uow_factory
        self._memo: StampedMemo[DatasetSummary] = StampedMemo(memo_size)

    def dataset_summary(self, identity: Identity, record_id: str) -> DatasetSummary:
        """The summary of `record_id` and its visible descendants; 404 when invisible."""
        with self.uow_factory() as uow:
            root = uow.records.get(record_id)
            if root is None or not can_see(identity, root):
                raise NotFoundError(f"no record with id '{record_id}'")
            key, stamp = (record_id, _reader_key(identity)), uow.records.change_stamp()
            known = self._memo.get(key, stamp)
            if known is not None:
                return known
            tally = _Tally()
            _count(tally, root, _place_of_root(uow, root))
            for record, place in _descendants(uow, identity, root):
                _count(tally, record, place)
        summary = _summary(record_id, tally)
        self._memo.put(key, stamp, summary)
        return summary


def _place_of_root(uow: UnitOfWork, root: StoredRecord) -> _Place:
    place = _Place()
    for ancestor in [*uow.records.ancestors(root), root]:
        place = _step(place, ancestor)
    return place


def _step(place: _Place, record: StoredRecord) -> _Place:
    if record.level == "subject":
        return _Place(subject=record)
    if record.level == "session":
        return _Place(subject=place.subject, session=record)
    return place


def _descendants(
    uow: UnitOfWork, identity: Identity, root: StoredRecord
) -> Iterable[tuple[StoredRecord, _Place]]:
    """Visible active descendants, level by level, each with its subject and session."""
    places = {root.id: _place_of_root(uow, root)}
    frontier = [root.id]
    for _ in range(MAX_DEPTH):
        if not frontier:
            return
        children = [c for c in uow.records.children_of(frontier) if can_see(identity, c)]
        frontier = []
        for child in children:
            place = _step(places[child.parent_id or root.id], child)
            places[child.id] = place
            frontier.append(child.id)
            yield child, place


def _count(tally: _Tally, record: StoredRecord, place: _Place) -> None:
    body = record.body
    tally.levels[record.level] += 1
    for entry in body.get("files") or []:
        tally.files += 1
        tally.size += int(entry.get("size") or 0)
    subject = body.get("subject") or {}
    species = (subject.get("species") or {}).get("label")
    if species:
        # the pseudonym names one animal or person across raw and derived records
        who = subject.get("pseudonym") or (place.subject.id if place.subject else record.id)
        tally.species.setdefault(species, set()).add(who)
    if record.level == "acquisition":  # derived data is counted, not described again
        _count_scan(tally, body, place)


def _count_scan(tally: _Tally, body: dict[str, Any], place: _Place) -> None:
    imaging = body.get("imaging") or {}
    bids = body.get("bids") or {}
    modality = imaging.get("modality")
    if modality:
        tally.modalities[modality] += 1
    strength = imaging.get("field_strength_nominal_t") or imaging.get("field_strength_t")
    if isinstance(strength, int | float) and strength > 0:
        tally.strengths[f"{round(float(strength), 1):g} T"] += 1
    sequence = imaging.get("sequence") or bids.get("suffix")
    if sequence:
        tally.sequences[str(sequence)] += 1
    acquired = imaging.get("acquisition_date")
    if acquired:
        # a malformed date is a quality issue of the record, not of the page
        with suppress(ValueError):
            tally.dates.append(date.fromisoformat(str(acquired)[:10]))
    column = bids.get("datatype") or modality or "other"
    tally.columns[column] += 1
    _grid_cell(tally, place, column)


def _grid_cell(tally: _Tally, place: _Place, column: str) -> None:
    subject, session = place.subject, place.session
    key = (subject.id if subject else "", session.id if session else "")
    row = tally.grid.get(key)
    if row is None:
        row = GridRow(
            subject_id=subject.id if subject else None,
            subject=subject.title if subject else NO_SESSION,
            session_id=session.id if session else None,
            session=session.title if session else NO_SESSION,
        )
        tally.grid[key] = row
    row.cells[column] = row.cells.get(column, 0) + 1


def _counts(counter: Counter[str]) -> list[Count]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [Count(value=value, count=count) for value, count in ordered]


def _summary(record_id: str, tally: _Tally) -> DatasetSummary:
    rows = sorted(tally.grid.values(), key=lambda r: (r.subject, r.session))
    species = Counter({label: len(who) for label, who in tally.species.items()})
    return DatasetSummary(
        record_id=record_id,
        subjects=tally.levels["subject"],
        sessions=tally.levels["session"],
        acquisitions=tally.levels["acquisition"],
        derived=tally.levels["derived"],
        files=tally.files,
        total_bytes=tally.size,
        first_date=min(tally.dates) if tally.dates else None,
        last_date=max(tally.dates) if tally.dates else None,
        species=_counts(species),
        modalities=_counts(tally.modalities),
        field_strengths=_counts(tally.strengths),
        sequences=_counts(tally.sequences),
        columns=[c.value for c in _counts(tally.columns)],
        grid=rows[:MAX_GRID_ROWS],
        grid_rows_total=len(rows),
    )


#: Facet (search field) -> CatalogueGlance attribute.
GLANCE_FACETS = {
    "modality": "modalities",
    "field_strength": "field_strengths",
    "species": "species",
}

Search = Callable[[Identity, SearchRequest], RecordPage]


class GlanceService:
    """The home page's charts: facet counts of the acquisitions a caller may see (one
    search, so visibility is the index's) and acquisitions per year (one grouped store
    query, remembered until a record changes: at 10^6 records it reads every row)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], search: Search) -> None:
        self.uow_factory = uow_factory
        self.search = search
        #: public only? -> years, while the store's change stamp holds.
        self._years: StampedMemo[list[Count]] = StampedMemo(2)

    def glance(self, identity: Identity) -> CatalogueGlance:
        page = self.search(identity, SearchRequest(level="acquisition", size=1))
        values: dict[str, list[Count]] = {}
        for facet, attribute in GLANCE_FACETS.items():
            values[attribute] = [
                Count(value=v.value, label=v.label, count=v.count)
                for v in page.facets.get(facet) or []
            ]
        return CatalogueGlance(
            acquisitions=page.total,
            years=self._years_for(not identity.sees_everything),
            **values,
        )

    def _years_for(self, public_only: bool) -> list[Count]:
        with self.uow_factory() as uow:
            stamp = uow.records.change_stamp()
            cached = self._years.get(public_only, stamp)
            if cached is not None:
                return cached
            counts = uow.records.acquisitions_per_year(public_only)
        years = [Count(value=str(year), count=counts[year]) for year in sorted(counts)]
        self._years.put(public_only, stamp, years)
        return years
