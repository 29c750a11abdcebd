"""Build the record hierarchy of one Bruker location from its cached file facts.

Output order is fixed (collection, subjects, sessions, acquisitions; each sorted by key)
and nothing time-dependent is added, so the same facts always give identical records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from catalog.domain.enums import Level
from catalog.domain.records import (
    Concept,
    FileEntry,
    Imaging,
    RecordCreate,
    SourceInfo,
    SubjectInfo,
)
from harvesters.base import FileFacts, HarvestedRecord, HarvestOptions, ItemError
from harvesters.bruker.layout import Layout, Scan, is_archive, virtual_path
from harvesters.bruker.mapping import (
    ScanParams,
    build_imaging,
    enum_name,
    guess_bids,
    species_concept,
)

_SEX = {"male": "male", "female": "female", "other": "other"}
_KIND_ORDER = ("acqp", "method", "visu_pars", "reco")


@dataclass
class Session:
    label: str
    study_dir: str
    subject: FileFacts | None = None
    scans: list[Scan] = field(default_factory=list)

    def visu(self) -> list[dict[str, Any]]:
        return [s.data("visu_pars") for s in self.scans if s.data("visu_pars")]

    @property
    def pseudonym(self) -> str | None:
        if self.subject and self.subject.data.get("pseudonym"):
            return self.subject.data["pseudonym"]
        return next((v["pseudonym"] for v in self.visu() if v.get("pseudonym")), None)

    @property
    def study_date(self) -> date | None:
        subject = self.subject.data if self.subject else {}
        candidates = [subject.get("study_date")]
        candidates += [v.get("study_date") for v in self.visu()]
        candidates.append(min(_scan_dates(self.scans), default=None))
        candidates.append(subject.get("written"))
        found = next((c for c in candidates if c), None)
        return date.fromisoformat(found) if found else None


def _scan_dates(scans: list[Scan]) -> list[str]:
    dates = []
    for scan in scans:
        found = scan.data("acqp").get("acq_date") or scan.data("visu_pars").get("acq_date")
        if found:
            dates.append(found)
    return dates


def _scan_order(scan: Scan) -> tuple[int, str]:
    return (int(scan.number) if scan.number.isdigit() else 1 << 30, scan.number)


class RecordBuilder:
    """Turns facts into `HarvestedRecord`s (and `ItemError`s for bad archive members)."""

    def __init__(self, location: Path, options: HarvestOptions, version: str) -> None:
        self.location = location
        self.options = options
        self.version = version
        self.errors: list[ItemError] = []
        self.aliases: dict[str, str] = {}

    def build(self, facts: Iterable[FileFacts]) -> Iterator[HarvestedRecord | ItemError]:
        layout = Layout()
        for fact in sorted(facts, key=lambda f: (f.path, f.kind)):
            if fact.kind == "error":
                self.errors.append(ItemError(fact.path, str(fact.data.get("error"))))
            else:
                layout.add(virtual_path(fact.path, self.location.parent), fact)
        self.aliases = _folder_aliases(layout)
        sessions = self._sessions(layout)
        self.species = _SpeciesLookup(layout.species_maps, self._default_species())
        yield from self.errors
        yield self._collection()
        yield from self._subjects(sessions)
        for session in sessions:
            yield self._session(session)
        for session in sessions:
            for scan in session.scans:
                yield self._acquisition(session, scan)

    # -- grouping ---------------------------------------------------------------------------

    def _sessions(self, layout: Layout) -> list[Session]:
        sessions: dict[str, Session] = {}
        for scan in layout.scans.values():
            if not scan.usable:
                continue
            label = self._redact(layout.session_label(scan, self.location))
            session = sessions.setdefault(label, Session(label, str(scan.dir.parent)))
            session.subject = session.subject or layout.subjects.get(scan.dir.parent)
            session.scans.append(scan)
        for session in sessions.values():
            session.scans.sort(key=_scan_order)
        return [sessions[label] for label in sorted(sessions)]

    def _default_species(self) -> Concept | None:
        if not self.options.species:
            return None
        try:
            return species_concept(self.options.species)
        except ValueError as exc:
            self.errors.append(ItemError("options.species", str(exc)))
            return None

    # -- records ----------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        """`text` with study folder names that embed a subject id replaced (see read)."""
        for folder, redacted in self.aliases.items():
            text = text.replace(folder, redacted)
        return text

    def _source(self, external_id: str | None, raw: dict[str, Any]) -> SourceInfo:
        return SourceInfo(
            type="bruker",
            location=str(self.location),
            external_id=self._redact(external_id) if external_id else external_id,
            harvester_version=self.version,
            raw=raw,
        )

    def _collection(self) -> HarvestedRecord:
        name = self.location.stem if is_archive(self.location) else self.location.name
        title = self.options.collection_title or name or "Bruker ParaVision data"
        record = RecordCreate(
            level=Level.collection,
            title=title,
            description=f"Bruker ParaVision MRI data harvested from {self.location.name}",
            imaging=Imaging(modality="MR", manufacturer="Bruker"),
            source=self._source(self.location.name, {}),
        )
        return HarvestedRecord(key="collection", record=record)

    def _subjects(self, sessions: list[Session]) -> Iterator[HarvestedRecord]:
        firsts: dict[str, Session] = {}
        for session in sessions:
            if session.pseudonym and session.pseudonym not in firsts:
                firsts[session.pseudonym] = session
        for name in sorted(firsts):
            info = self._subject_info(firsts[name], with_age=False)
            record = RecordCreate(
                level=Level.subject,
                title=f"Subject {name}",
                subject=info,
                source=self._source(name, {}),
            )
            yield HarvestedRecord(key=f"subject:{name}", record=record, parent_key="collection")

    def _subject_info(self, session: Session, *, with_age: bool) -> SubjectInfo:
        name = session.pseudonym
        params = session.subject.data.get("params", {}) if session.subject else {}
        visu = next(iter(session.visu()), {}).get("params", {})
        sex = enum_name(params.get("SUBJECT_sex") or params.get("SUBJECT_gender"))
        sex = sex or enum_name(visu.get("VisuSubjectSex"))
        species, strain = self.species.lookup(name)
        return SubjectInfo(
            pseudonym=name,
            species=species,
            strain=strain,
            sex=_SEX.get(sex.lower(), "unknown") if sex else None,
            weight_kg=_weight_kg(params.get("SUBJECT_weight"), visu.get("VisuSubjectWeight")),
            age=session.subject.data.get("age") if with_age and session.subject else None,
        )

    def _session(self, session: Session) -> HarvestedRecord:
        first = session.scans[0]
        imaging = self._imaging(first)
        studied = session.study_date
        number = (session.subject.data.get("params", {}) if session.subject else {}).get(
            "SUBJECT_study_nr"
        )
        title = f"ParaVision study {studied.isoformat() if studied else '(undated)'}"
        record = RecordCreate(
            level=Level.session,
            title=title + (f" #{number}" if number else ""),
            imaging=Imaging(
                modality="MR",
                manufacturer=imaging.manufacturer,
                field_strength_t=imaging.field_strength_t,
                software_version=imaging.software_version,
                acquisition_date=studied,
            ),
            subject=self._subject_info(session, with_age=True),
            files=self._files(
                [(session.subject.path, session.subject.data.get("size"))]
                if session.subject
                else []
            ),
            source=self._source(session.study_dir, self._session_raw(session)),
        )
        parent = f"subject:{session.pseudonym}" if session.pseudonym else "collection"
        return HarvestedRecord(key=f"study:{session.label}", record=record, parent_key=parent)

    def _session_raw(self, session: Session) -> dict[str, Any]:
        if not session.subject:
            return {}
        data = session.subject.data
        return {"subject": data.get("params", {}), "paravision_version": data.get("version")}

    def _files(self, files: list[tuple[str, int | None]]) -> list[FileEntry]:
        entries = []
        for path, size in sorted(files):
            shown = (
                str(virtual_path(path, self.location.parent)) if Path(path).is_absolute() else path
            )
            entries.append(FileEntry(path=shown, size=size, format="JCAMP-DX"))
        return entries

    def _imaging(self, scan: Scan) -> Imaging:
        params = ScanParams(
            acqp=scan.data("acqp").get("params", {}),
            method=scan.data("method").get("params", {}),
            visu=scan.data("visu_pars").get("params", {}),
        )
        software = enum_name(
            params.pick("ACQ_sw_version", "VisuCreatorVersion", "VisuAcqSoftwareVersion")
        ) or next((scan.data(k).get("version") for k in _KIND_ORDER if scan.data(k)), None)
        return build_imaging(params, software, _manufacturer(scan))

    def _acquisition(self, session: Session, scan: Scan) -> HarvestedRecord:
        imaging = self._imaging(scan)
        acquired = scan.data("acqp").get("acq_date") or scan.data("visu_pars").get("acq_date")
        imaging.acquisition_date = date.fromisoformat(acquired) if acquired else session.study_date
        label = imaging.series_description or imaging.sequence or "scan"
        record = RecordCreate(
            level=Level.acquisition,
            title=f"Scan {scan.number}: {label}",
            imaging=imaging,
            subject=self._subject_info(session, with_age=True),
            bids=guess_bids(imaging),
            files=self._files(scan.files),
            source=self._source(str(scan.dir), _scan_raw(scan)),
            quality=_scan_quality(scan),
        )
        key = f"scan:{session.label}/{scan.number}"
        return HarvestedRecord(key=key, record=record, parent_key=f"study:{session.label}")


def _scan_quality(scan: Scan) -> dict[str, Any]:
    """Parameters the reader kept as raw text (see `jcamp.parse_jcamp(strict=False)`)."""
    warnings = [w for kind in _KIND_ORDER for w in scan.data(kind).get("warnings", [])]
    return {"warnings": warnings} if warnings else {}


def _manufacturer(scan: Scan) -> str | None:
    texts = [scan.data(k).get("origin", "") for k in _KIND_ORDER]
    texts.append(str(scan.data("visu_pars").get("params", {}).get("VisuManufacturer", "")))
    return "Bruker" if any("bruker" in t.lower() for t in texts) else None


def _scan_raw(scan: Scan) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for kind in _KIND_ORDER:
        if scan.data(kind):
            raw[kind] = scan.data(kind).get("params", {})
    version = next((scan.data(k).get("version") for k in _KIND_ORDER if scan.data(k)), None)
    if version:
        raw["paravision_version"] = version
    groups = scan.data("visu_pars").get("params", {}).get("VisuFGOrderDesc")
    if isinstance(groups, list) and groups:
        groups = groups if isinstance(groups[0], list) else [groups]
        raw["frame_groups"] = [g[1] for g in groups if len(g) > 1]
    return raw


class _SpeciesLookup:
    """Species per subject pseudonym: mapping file rows, then its default, then the option."""

    def __init__(self, maps: list[FileFacts], fallback: Concept | None) -> None:
        self.subjects: dict[str, dict[str, Any]] = {}
        self.default: dict[str, Any] | None = None
        for fact in sorted(maps, key=lambda f: f.path):
            self.subjects.update(fact.data.get("subjects", {}))
            self.default = self.default or fact.data.get("default")
        self.fallback = fallback

    def lookup(self, name: str | None) -> tuple[Concept | None, str | None]:
        entry = self.subjects.get(name or "") or self.default
        if entry:
            return Concept(iri=entry["iri"], label=entry["label"]), entry.get("strain")
        return self.fallback, None


def _folder_aliases(layout: Layout) -> dict[str, str]:
    """Study folder name -> the same name with the subject id pseudonymised."""
    aliases: dict[str, str] = {}
    for fact in layout.subjects.values():
        pair = fact.data.get("folder_alias")
        if pair and len(pair) == 2:
            aliases[str(pair[0])] = str(pair[1])
    return aliases


def _weight_kg(subject_grams: object, visu_kg: object) -> float | None:
    """The subject's weight in kg: the subject file's `SUBJECT_weight` is in grams, the
    reconstruction's `VisuSubjectWeight` in kg. Zero or negative means "not entered"."""
    for value, scale in ((subject_grams, 0.001), (visu_kg, 1.0)):
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return round(float(value) * scale, 6)
    return None
