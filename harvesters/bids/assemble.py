"""Facts of one BIDS location to its record hierarchy (deterministic, sorted).

Keys: "collection"; "subject:<label>"; "session:<sub>/<ses>" ("session:<sub>/_" when a
subject has no session folders); "file:<relative path without extension>" for raw
acquisitions and derived files; "dataset:derivatives/<pipeline>" for each derivative
dataset.  Records depend only on the facts they are built from (an acquisition on its
own files, the sidecars that apply to it and the scans.tsv row that lists it), so a
changed sidecar updates only the acquisitions it applies to.  Files a `.bidsignore`
matches never get here: `discover` leaves them out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from catalog.domain.enums import Level, RelationType
from catalog.domain.records import (
    BidsInfo,
    FileEntry,
    Imaging,
    RecordCreate,
    Related,
    SourceInfo,
    SubjectInfo,
    Term,
)
from harvesters.base import FileFacts, HarvestedRecord, HarvestOptions, ItemError
from harvesters.bids import metadata as meta
from harvesters.bids import normalize, validation
from harvesters.bids.inheritance import Sidecar, SidecarIndex
from harvesters.bids.paths import (
    DATA_EXTENSIONS,
    DERIVED_EXTENSIONS,
    BidsName,
    dataset_root,
    parse_name,
    relative_to_root,
    strip_extension,
)
from harvesters.bids.scans import ScanRow, scan_rows
from harvesters.privacy import pseudonym

COLLECTION_KEY = "collection"


@dataclass
class _Dataset:
    """The facts of one dataset (the raw one, or one derivative), by kind."""

    root: str
    description: dict[str, Any] | None = None
    readme: str | None = None
    participants: dict[str, Any] | None = None
    participants_sidecar: dict[str, Any] = field(default_factory=dict)
    sidecars: list[Sidecar] = field(default_factory=list)
    files: dict[str, FileFacts] = field(default_factory=dict)
    scans_files: list[str] = field(default_factory=list)
    scans: dict[str, ScanRow] = field(default_factory=dict)
    """scans.tsv rows by the path (relative to the location) of the file they list."""

    def scan_of(self, paths: Iterable[str]) -> ScanRow | None:
        """The scans.tsv row of the first of `paths` that one lists."""
        return next((self.scans[p] for p in paths if p in self.scans), None)


@dataclass
class _Subject:
    label: str
    info: SubjectInfo
    terms: list[Term]
    row: dict[str, Any]


class Assembly:
    """One `assemble` call: groups facts by dataset, then yields records parents-first."""

    def __init__(self, location: Path, options: HarvestOptions, version: str) -> None:
        self.location = location
        self.options = options
        self.version = version
        self.datasets: dict[str, _Dataset] = {}
        self.errors: list[ItemError] = []
        self.scan_issues: list[validation.Issue] = []

    # -- grouping ------------------------------------------------------------------------

    def load(self, facts: Iterable[FileFacts]) -> None:
        for fact in sorted(facts, key=lambda f: (f.path, f.kind)):
            rel = self._relative(fact.path)
            if rel is None:
                self.errors.append(ItemError(fact.path, f"not under {self.location}"))
                continue
            root = dataset_root(rel)
            dataset = self.datasets.setdefault(root, _Dataset(root))
            self._file(dataset, rel, fact)

    def _relative(self, path: str) -> str | None:
        candidate = PurePosixPath(Path(path).as_posix())
        if not candidate.is_absolute():
            return str(candidate)
        try:
            return str(candidate.relative_to(PurePosixPath(self.location.as_posix())))
        except ValueError:
            return None

    def _file(self, dataset: _Dataset, rel: str, fact: FileFacts) -> None:
        inner = relative_to_root(rel, dataset.root)
        if fact.kind == "dataset_description" and inner == "dataset_description.json":
            dataset.description = fact.data
        elif fact.kind == "readme" and "/" not in inner:
            dataset.readme = str(fact.data.get("text") or "")
        elif fact.kind == "participants" and inner == "participants.tsv":
            dataset.participants = fact.data
        elif fact.kind == "participants_sidecar" and inner == "participants.json":
            dataset.participants_sidecar = fact.data
        elif fact.kind == "sidecar":
            self._sidecar(dataset, rel, fact)
        elif fact.kind == "scans":
            self._scans(dataset, rel, fact)
        else:
            dataset.files[rel] = fact

    @staticmethod
    def _sidecar(dataset: _Dataset, rel: str, fact: FileFacts) -> None:
        name = parse_name(rel)
        if name is None or name.suffix is None:
            return
        directory = rel.rpartition("/")[0]
        metadata = fact.data.get("metadata") or {}
        dataset.sidecars.append(Sidecar(rel, directory, name.entities, name.suffix, metadata))

    def _scans(self, dataset: _Dataset, rel: str, fact: FileFacts) -> None:
        dataset.scans_files.append(rel)
        for target, row in scan_rows(rel, fact.data):
            dataset.scans.setdefault(target, row)
            if row.issue is not None:
                self.scan_issues.append(row.issue)

    # -- records -------------------------------------------------------------------------

    def records(self) -> Iterator[HarvestedRecord | ItemError]:
        raw = self.datasets.get("") or _Dataset("")
        yield from self.errors
        builder = _RawBuilder(self, raw)
        yield from builder.build()
        for root in sorted(r for r in self.datasets if r):
            yield from _DerivedBuilder(self, self.datasets[root], builder).build()

    def source(self, external_id: str, raw: dict[str, Any]) -> SourceInfo:
        return SourceInfo(
            type="bids",
            location=str(self.location),
            external_id=external_id,
            harvester_version=self.version,
            raw=raw,
        )


class _RawBuilder:
    """Collection, subjects, sessions and acquisitions of the raw dataset."""

    def __init__(self, assembly: Assembly, dataset: _Dataset) -> None:
        self.assembly = assembly
        self.dataset = dataset
        self.description = dataset.description or {}
        self.name = str(self.description.get("Name") or assembly.location.name or "BIDS dataset")
        self.index = SidecarIndex(dataset.sidecars)
        self.issues: list[dict[str, str]] = []
        self.subjects: dict[str, _Subject] = {}
        self._beside: dict[str, list[tuple[str, BidsName]]] | None = None
        self._rows: dict[str, dict[str, Any]] | None = None

    @property
    def title(self) -> str:
        return self.assembly.options.collection_title or self.name

    def dataset_identifier(self) -> Related:
        """How derived records point at this dataset: its DOI, else a bids: path."""
        doi = normalize.doi(self.description.get("DatasetDOI"))
        if doi:
            return Related(identifier=doi, scheme="DOI", relation=RelationType.IsDerivedFrom)
        return Related(
            identifier=f"bids:{self.assembly.location}",
            scheme="bids",
            relation=RelationType.IsDerivedFrom,
        )

    def build(self) -> Iterator[HarvestedRecord]:
        acquisitions = self._group_acquisitions()
        children = [self._acquisition(stem, files) for stem, files in acquisitions]
        subject_labels = sorted({rel.split("/")[0][4:] for rel, _ in acquisitions})
        self._validate(subject_labels)
        yield self._collection()
        for label in subject_labels:
            yield self._subject_record(label)
        yield from self._sessions(acquisitions)
        yield from children

    # -- grouping ------------------------------------------------------------------------

    def _group_acquisitions(self) -> list[tuple[str, list[tuple[str, FileFacts]]]]:
        """Data files grouped by stem (sub-01_T1w.nii and .nii.gz are one acquisition)."""
        groups: dict[str, list[tuple[str, FileFacts]]] = defaultdict(list)
        for rel, fact in self.dataset.files.items():
            name = parse_name(rel)
            if name and name.extension in DATA_EXTENSIONS and rel.startswith("sub-"):
                groups[strip_extension(rel)].append((rel, fact))
        return sorted(groups.items())

    def _companions(self, rel: str, name: BidsName) -> list[str]:
        """Non-JSON, non-data files beside `rel` with the same entities (bval, events)."""
        if self._beside is None:
            self._beside = defaultdict(list)
            for other in self.dataset.files:
                other_name = parse_name(other)
                if other_name and other_name.extension not in DATA_EXTENSIONS:
                    self._beside[other.rpartition("/")[0]].append((other, other_name))
        directory = rel.rpartition("/")[0]
        return [path for path, other in self._beside[directory] if other.entities == name.entities]

    # -- records -------------------------------------------------------------------------

    def _collection(self) -> HarvestedRecord:
        description = self.description
        quality = {**validation.report_header(), "issues": _sorted_issues(self.issues)}
        record = RecordCreate(
            level=Level.collection,
            title=self.title,
            description=(self.dataset.readme or "").strip() or None,
            creators=meta.creators(description),
            license=normalize.spdx_license(description.get("License")),
            keywords=meta.keywords(description),
            identifiers=meta.identifiers(description),
            related=meta.references(description) + meta.pipeline_links(description),
            source=self.assembly.source(
                "dataset_description.json",
                {
                    "dataset_description": description,
                    "generated_by": meta.generated_by(description),
                },
            ),
            quality=quality,
        )
        return HarvestedRecord(COLLECTION_KEY, record, None)

    def _subject_record(self, label: str) -> HarvestedRecord:
        subject = self.subject(label)
        record = RecordCreate(
            level=Level.subject,
            title=f"sub-{label}",
            subject=subject.info,
            terms=subject.terms,
            bids=BidsInfo(entities={"sub": label}),
            source=self.assembly.source(f"sub-{label}", {"participant": subject.row}),
        )
        return HarvestedRecord(f"subject:{label}", record, COLLECTION_KEY)

    def _sessions(self, acquisitions: list[tuple[str, Any]]) -> Iterator[HarvestedRecord]:
        seen = sorted({_session_of(rel) for rel, _ in acquisitions})
        for subject, session in seen:
            entities = {"sub": subject} | ({"ses": session} if session != "_" else {})
            title = f"sub-{subject} ses-{session}" if session != "_" else f"sub-{subject}"
            record = RecordCreate(
                level=Level.session,
                title=title,
                subject=self.subject(subject).info,
                bids=BidsInfo(entities=entities),
                source=self.assembly.source(f"sub-{subject}/ses-{session}", {}),
            )
            yield HarvestedRecord(f"session:{subject}/{session}", record, f"subject:{subject}")

    def _acquisition(self, stem: str, files: list[tuple[str, FileFacts]]) -> HarvestedRecord:
        rel = files[0][0]
        name = parse_name(rel) or BidsName()
        metadata, sources = self.index.merged(rel, name, "")
        header = next((f.data.get("header") for _, f in files if f.data.get("header")), None)
        scan = self.dataset.scan_of(r for r, _ in files)
        issues = validation.sidecar_issues(rel, name, metadata)
        issues += [scan.issue] if scan and scan.issue else []
        issues += _empty_images(files)
        self.issues.extend(issues)
        subject, session = _session_of(rel)
        raw = {"sidecar": metadata, "sidecar_files": sources, "nifti": header}
        record = RecordCreate(
            level=Level.acquisition,
            title=stem.rpartition("/")[2],
            imaging=_dated(meta.imaging(metadata, name.datatype, header), scan, raw),
            subject=self.subject(subject).info,
            bids=BidsInfo(
                datatype=name.datatype, suffix=name.suffix, entities=name.entities, rule="bids:path"
            ),
            files=self._file_entries([r for r, _ in files] + self._companions(rel, name)),
            source=self.assembly.source(stem, raw),
            quality={"issues": issues} if issues else {},
        )
        return HarvestedRecord(f"file:{stem}", record, f"session:{subject}/{session}")

    def _file_entries(self, paths: list[str]) -> list[FileEntry]:
        return [_file_entry(path, self.dataset.files[path]) for path in sorted(set(paths))]

    # -- subjects ------------------------------------------------------------------------

    def subject(self, label: str) -> _Subject:
        if label not in self.subjects:
            self.subjects[label] = self._make_subject(label)
        return self.subjects[label]

    def _participant_rows(self) -> dict[str, dict[str, Any]]:
        if self._rows is None:
            table = self.dataset.participants or {}
            self._rows = {}
            for row in table.get("rows", []):
                participant = str(row.get("participant_id") or "")
                self._rows[participant.removeprefix("sub-")] = row
        return self._rows

    def _make_subject(self, label: str) -> _Subject:
        row = self._participant_rows().get(label, {})
        species, term = self._species(row.get("species"))
        age_units = (self.dataset.participants_sidecar.get("age") or {}).get("Units")
        secret = self.assembly.options.secret
        info = SubjectInfo(
            pseudonym=pseudonym(secret, "bids", self.name, label) if secret else None,
            species=species,
            strain=row.get("strain"),
            sex=normalize.sex(row.get("sex")),
            age=normalize.age(row.get("age"), age_units if isinstance(age_units, str) else None),
        )
        return _Subject(label, info, [term] if term else [], row)

    def _species(self, value: str | None) -> tuple[Any, Term | None]:
        """Species from participants.tsv, else the harvest option, else BIDS' human default."""
        if value:
            concept, rule = normalize.species_concept(value), "bids:participants.species"
            if concept is None:
                self.issues.append(
                    validation.issue(
                        "SPECIES_UNMAPPED",
                        "warning",
                        "participants.tsv",
                        f"species {value!r} has no NCBITaxon mapping; subjects keep no species",
                    )
                )
        elif self.assembly.options.species:
            value, rule = self.assembly.options.species, "option:species"
            concept = normalize.species_concept(value)
        else:
            value, rule = "homo sapiens (BIDS default)", normalize.DEFAULT_SPECIES_RULE
            concept = normalize.human()
        if concept is None:
            return None, None
        term = Term(
            iri=concept.iri,
            label=concept.label,
            scheme="NCBITaxon",
            rule=rule,
            evidence={"species": value},
            status="accepted",
        )
        return concept, term

    # -- validation ----------------------------------------------------------------------

    def _validate(self, subject_labels: list[str]) -> None:
        description = self.dataset.description
        self.issues.extend(validation.description_issues(description, "dataset_description.json"))
        licence = self.description.get("License")
        if licence and normalize.spdx_license(licence) is None:
            self.issues.append(
                validation.issue(
                    "LICENSE_NOT_SPDX",
                    "warning",
                    "dataset_description.json",
                    f"License {licence!r} is not a known SPDX identifier; the record has none",
                )
            )
        raw_paths = [r for r in self.dataset.files]
        raw_paths += [s.path for s in self.dataset.sidecars] + self.dataset.scans_files
        self.issues.extend(validation.filename_issues(sorted(raw_paths)))
        listed = None
        if self.dataset.participants is not None:
            listed = set(self._participant_rows())
        self.issues.extend(validation.participants_issues(listed, set(subject_labels)))
        for label in subject_labels:
            self.subject(label)  # species issues are found while building subjects
        self.issues.extend(self.assembly.scan_issues)  # derivatives' scans.tsv included


def _session_of(rel: str) -> tuple[str, str]:
    parts = rel.split("/")
    subject = parts[0][4:]
    session = parts[1][4:] if len(parts) > 2 and parts[1].startswith("ses-") else "_"
    return subject, session


def _dated(imaging: Imaging, scan: ScanRow | None, raw: dict[str, Any]) -> Imaging:
    """`imaging` with the scans.tsv date; the row's other columns go to `raw["scans"]`."""
    if scan is None:
        return imaging
    raw["scans"] = scan.columns
    if scan.acquired is None:
        return imaging
    return imaging.model_copy(update={"acquisition_date": scan.acquired})


def _empty_images(files: list[tuple[str, FileFacts]]) -> list[dict[str, str]]:
    """A 0-byte NIfTI is an error (the BIDS validator's EMPTY_FILE): the acquisition is
    still catalogued from its path and sidecars, and the issue says the image is missing."""
    return [
        validation.issue("EMPTY_FILE", "error", rel, f"{rel}: the image file is empty (0 bytes)")
        for rel, fact in files
        if fact.kind == "image" and fact.data.get("size") == 0
    ]


def _sorted_issues(issues: list[dict[str, str]]) -> list[dict[str, str]]:
    unique = {(i["location"], i["code"], i["message"]): i for i in issues}
    return [unique[key] for key in sorted(unique)]


class _DerivedBuilder:
    """A derivative dataset: one collection plus one `derived` record per output file."""

    def __init__(self, assembly: Assembly, dataset: _Dataset, raw: _RawBuilder) -> None:
        self.assembly = assembly
        self.dataset = dataset
        self.raw = raw
        self.description = dataset.description or {}
        self.index = SidecarIndex(dataset.sidecars)
        self.key = f"dataset:{dataset.root}"

    def _origin(self) -> list[Related]:
        declared = meta.source_dataset_links(self.description)
        return declared or [self.raw.dataset_identifier()]

    def _pipeline_name(self) -> str:
        pipelines = meta.generated_by(self.description)
        if pipelines and pipelines[0].get("Name"):
            return str(pipelines[0]["Name"])
        return self.dataset.root.rpartition("/")[2]

    def build(self) -> Iterator[HarvestedRecord]:
        yield self._collection()
        groups: dict[str, list[str]] = defaultdict(list)
        for rel in self.dataset.files:
            name = parse_name(rel)
            inner = relative_to_root(rel, self.dataset.root)
            if name and name.extension in DERIVED_EXTENSIONS and inner.startswith("sub-"):
                groups[strip_extension(rel)].append(rel)
        for stem, paths in sorted(groups.items()):
            yield self._derived(stem, sorted(paths))

    def _collection(self) -> HarvestedRecord:
        name = self.description.get("Name")
        title = name if name and name != self.raw.name else None
        title = title or f"{self.raw.title}: {self._pipeline_name()} derivatives"
        record = RecordCreate(
            level=Level.collection,
            title=title,
            description=(self.dataset.readme or "").strip() or None,
            creators=meta.creators(self.description),
            license=normalize.spdx_license(self.description.get("License")),
            keywords=meta.keywords(self.description),
            identifiers=meta.identifiers(self.description),
            related=self._origin() + meta.pipeline_links(self.description),
            source=self.assembly.source(
                f"{self.dataset.root}/dataset_description.json",
                {
                    "dataset_description": self.description,
                    "generated_by": meta.generated_by(self.description),
                },
            ),
        )
        return HarvestedRecord(self.key, record, COLLECTION_KEY)

    def _derived(self, stem: str, paths: list[str]) -> HarvestedRecord:
        name = parse_name(paths[0]) or BidsName()
        metadata, sources = self.index.merged(paths[0], name, self.dataset.root)
        facts = [self.dataset.files[path] for path in paths]
        header = next((f.data.get("header") for f in facts if f.data.get("header")), None)
        info = self.raw.subject(name.subject).info if name.subject else SubjectInfo()
        raw = {
            "sidecar": metadata,
            "sidecar_files": sources,
            "nifti": header,
            "pipeline": self._pipeline_name(),
        }
        scan = self.dataset.scan_of(paths)
        imaging = _dated(meta.imaging(metadata, name.datatype, header), scan, raw)
        record = RecordCreate(
            level=Level.derived,
            title=stem.rpartition("/")[2],
            imaging=imaging,
            subject=info,
            bids=BidsInfo(
                datatype=name.datatype, suffix=name.suffix, entities=name.entities, rule="bids:path"
            ),
            related=self._origin(),
            files=[_file_entry(path, fact) for path, fact in zip(paths, facts, strict=True)],
            source=self.assembly.source(stem, raw),
        )
        return HarvestedRecord(f"file:{stem}", record, self.key)


def _file_entry(path: str, fact: FileFacts) -> FileEntry:
    extension = path.rpartition("/")[2].partition(".")[2]
    return FileEntry(path=path, size=fact.data.get("size"), format=extension or None)
