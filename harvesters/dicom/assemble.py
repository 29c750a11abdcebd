"""Build the record hierarchy of one harvested location from per-file facts.

collection (the location) -> subject (PatientID pseudonym) -> session (StudyInstanceUID)
-> acquisition (SeriesInstanceUID). Everything is sorted before records are built and
no clock or random value is used, so the same facts always give identical records and
an unchanged folder re-harvests as "unchanged".
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.domain.enums import Level
from catalog.domain.records import (
    BidsInfo,
    Concept,
    FileEntry,
    Imaging,
    RecordCreate,
    SourceInfo,
    SubjectInfo,
)
from harvesters.base import FileFacts, HarvestedRecord, ItemError
from harvesters.dicom.bids_guess import guess, view_from_facts

MAX_LISTED_FILES = 50
TIMES = "\u00d7"  # the multiplication sign of "256 x 240 x 192"
_REQUIRED = ("subject", "study_uid", "series_uid", "imaging")


@dataclass
class Series:
    uid: str
    files: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.files[0][1]


@dataclass
class Study:
    uid: str
    subject: str
    series: dict[str, Series] = field(default_factory=dict)


@dataclass
class Context:
    """Per-run constants every record needs."""

    location: Path
    harvester_version: str
    collection_title: str | None = None
    species: Concept | None = None
    """From the harvest option; DICOM itself only names species for veterinary data."""

    def source(self, external_id: str, raw: dict[str, Any] | None = None) -> SourceInfo:
        return SourceInfo(
            type="dicom",
            location=str(self.location),
            external_id=external_id,
            harvester_version=self.harvester_version,
            raw=raw or {},
        )


def assemble(context: Context, facts: Iterable[FileFacts]) -> Iterator[HarvestedRecord | ItemError]:
    """Records, parents before children, in a deterministic order; bad facts as errors."""
    studies: dict[str, Study] = {}
    owners: dict[str, str] = {}
    dicomdirs: list[FileFacts] = []
    for item in sorted(facts, key=lambda f: f.path):
        if item.kind == "dicomdir":
            dicomdirs.append(item)
        elif item.kind == "dicom":
            error = _add(studies, owners, _relative(context.location, item.path), item.data)
            if error:
                yield ItemError(item.path, error)
    yield _collection(context, studies, dicomdirs)
    for subject in sorted({study.subject for study in studies.values()}):
        subject_studies = [s for _, s in sorted(studies.items()) if s.subject == subject]
        yield _subject_record(context, subject, subject_studies)
        for study in subject_studies:
            yield _session_record(context, study)
            for series in _ordered_series(study):
                yield _acquisition_record(context, study, series)


def _relative(location: Path, path: str) -> str:
    prefix = f"{location}/"
    rest = path[len(prefix) - 1 :]
    if path.startswith(prefix) and not ("//" in rest or "/." in rest or rest.endswith("/")):
        return path[len(prefix) :]  # the common case, once per file: no relpath
    try:
        return Path(os.path.relpath(path, location)).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _add(
    studies: dict[str, Study], owners: dict[str, str], path: str, data: dict[str, Any]
) -> str | None:
    """File one file's facts under its study and series; a message if it cannot be."""
    missing = [key for key in _REQUIRED if not data.get(key)]
    if missing:
        return f"cached facts lack {', '.join(missing)}; re-read the file"
    owner = owners.setdefault(data["series_uid"], data["study_uid"])
    if owner != data["study_uid"]:
        return (
            f"series {data['series_uid']} also appears in study {owner}; "
            "files of one series must share their StudyInstanceUID"
        )
    study = studies.setdefault(data["study_uid"], Study(data["study_uid"], data["subject"]))
    study.series.setdefault(data["series_uid"], Series(data["series_uid"])).files.append(
        (path, data)
    )
    return None


def _ordered_series(study: Study) -> list[Series]:
    for series in study.series.values():
        series.files.sort(key=lambda f: (_number(f[1].get("instance_number")), f[0]))
    return sorted(
        study.series.values(), key=lambda s: (_number(s.first.get("series_number")), s.uid)
    )


def _number(value: int | None) -> float:
    return float(value) if value is not None else float("inf")


def _collection(
    context: Context, studies: dict[str, Study], dicomdirs: list[FileFacts]
) -> HarvestedRecord:
    all_series = [series for study in studies.values() for series in study.series.values()]
    modalities = sorted({s.first["imaging"].get("modality") or "?" for s in all_series})
    subjects = {study.subject for study in studies.values()}
    files = sum(len(s.files) for s in all_series)
    description = (
        f"DICOM data: {len(subjects)} subject(s), {len(studies)} session(s), "
        f"{len(all_series)} series, {files} file(s)"
        + (f"; modalities {', '.join(modalities)}" if modalities else "")
    )
    raw: dict[str, Any] = {"files": files, "modalities": modalities}
    if dicomdirs:
        raw["dicomdir"] = _dicomdir_summary(context, dicomdirs, all_series)
    record = RecordCreate(
        level=Level.collection,
        title=context.collection_title or context.location.name or str(context.location),
        description=description,
        keywords=[m for m in modalities if m != "?"],
        imaging=Imaging(modality=modalities[0]) if len(modalities) == 1 else Imaging(),
        source=context.source(str(context.location), raw),
    )
    return HarvestedRecord(key="collection", record=record, parent_key=None)


def _dicomdir_summary(
    context: Context, dicomdirs: list[FileFacts], all_series: list[Series]
) -> dict[str, Any]:
    """How many files the DICOMDIRs reference and how many of those were not harvested."""
    harvested = {path for series in all_series for path, _ in series.files}
    referenced: set[str] = set()
    for item in dicomdirs:
        base = Path(_relative(context.location, item.path)).parent
        referenced.update((base / ref).as_posix() for ref in item.data.get("referenced_files", []))
    return {
        "dicomdirs": sorted(_relative(context.location, d.path) for d in dicomdirs),
        "referenced": len(referenced),
        "not_harvested": len(referenced - harvested),
    }


def _subject_record(context: Context, subject: str, studies: list[Study]) -> HarvestedRecord:
    first = _ordered_series(studies[0])[0].first
    record = RecordCreate(
        level=Level.subject,
        title=subject,
        description=f"Subject {subject}: {len(studies)} session(s)",
        subject=SubjectInfo(pseudonym=subject, sex=first.get("sex"), species=context.species),
        source=context.source(subject),
    )
    return HarvestedRecord(key=f"subject:{subject}", record=record, parent_key="collection")


def _session_record(context: Context, study: Study) -> HarvestedRecord:
    series = _ordered_series(study)
    first = series[0].first
    year = first.get("study_year")
    title = first.get("study_description") or f"Session {study.uid[-8:]}"
    if year:
        title = f"{title} ({year})"
    counts = Counter(s.first["imaging"].get("modality") or "?" for s in series)
    summary = ", ".join(f"{m} {TIMES}{n}" for m, n in sorted(counts.items()))
    imaging = first["imaging"]
    record = RecordCreate(
        level=Level.session,
        title=title,
        description=f"Study with {len(series)} series ({summary})",
        imaging=Imaging(
            modality=imaging.get("modality") if len(counts) == 1 else None,
            manufacturer=imaging.get("manufacturer"),
            model=imaging.get("model"),
            field_strength_t=imaging.get("field_strength_t"),
        ),
        subject=_subject_info(first),
        source=context.source(study.uid, {"study_year": year} if year else {}),
    )
    return HarvestedRecord(
        key=f"study:{study.uid}", record=record, parent_key=f"subject:{study.subject}"
    )


def _subject_info(first: dict[str, Any]) -> SubjectInfo:
    return SubjectInfo(
        pseudonym=first["subject"],
        sex=first.get("sex"),
        age=first.get("age"),
        weight_kg=first.get("weight_kg"),
    )


def series_imaging(series: Series) -> dict[str, Any]:
    """The first file's imaging facts, completed with counts over the whole series."""
    imaging = dict(series.first["imaging"])
    instances = len({data.get("sop_uid") or path for path, data in series.files})
    imaging["num_instances"] = instances
    frames = [data["imaging"].get("num_frames") for _, data in series.files]
    if any(frames):
        imaging["num_frames"] = sum(f or 1 for f in frames)
    matrix = imaging.get("matrix")
    if matrix and len(matrix) == 2 and instances > 1:
        imaging["matrix"] = [*matrix, instances]
    return imaging


def _acquisition_record(context: Context, study: Study, series: Series) -> HarvestedRecord:
    first = series.first
    imaging = series_imaging(series)
    bids = guess(view_from_facts(imaging, first.get("protocol_name")))
    raw = dict(first.get("raw", {}))
    raw.update({"num_files": len(series.files), "reader": first.get("reader")})
    if first.get("study_year"):
        raw["study_year"] = first["study_year"]
    record = RecordCreate(
        level=Level.acquisition,
        title=_series_title(imaging, first, series.uid),
        description=summary_line(imaging),
        imaging=Imaging(**imaging),
        subject=_subject_info(first),
        bids=BidsInfo(datatype=bids.datatype, suffix=bids.suffix, rule=bids.rule),
        files=[
            FileEntry(path=path, size=data.get("size"), format="application/dicom")
            for path, data in series.files[:MAX_LISTED_FILES]
        ],
        source=context.source(series.uid, raw),
    )
    return HarvestedRecord(
        key=f"series:{series.uid}", record=record, parent_key=f"study:{study.uid}"
    )


def _series_title(imaging: dict[str, Any], first: dict[str, Any], uid: str) -> str:
    if imaging.get("series_description"):
        return str(imaging["series_description"])
    number = first.get("series_number")
    label = str(number) if number is not None else uid[-8:]
    return f"{imaging.get('modality') or 'DICOM'} series {label}"


def summary_line(imaging: dict[str, Any]) -> str:
    """One human line, e.g. "MR 3 T SIEMENS Skyra, TR 2300 ms, TE 2.07 ms, 256x240x192".

    (The matrix is joined with the multiplication sign, `TIMES`.)
    """
    head = [imaging.get("modality") or "DICOM"]
    if imaging.get("field_strength_t"):
        head.append(f"{imaging['field_strength_t']:g} T")
    head += [v for v in (imaging.get("manufacturer"), imaging.get("model")) if v]
    parts = [" ".join(head)]
    for key, label in (("tr_ms", "TR"), ("te_ms", "TE"), ("ti_ms", "TI")):
        if imaging.get(key) is not None:
            parts.append(f"{label} {imaging[key]:g} ms")
    if imaging.get("radiopharmaceutical"):
        parts.append(str(imaging["radiopharmaceutical"]))
    if imaging.get("injected_dose_bq"):
        parts.append(f"{imaging['injected_dose_bq'] / 1e6:g} MBq")
    if imaging.get("matrix"):
        parts.append(TIMES.join(str(n) for n in imaging["matrix"]))
    return ", ".join(parts)
