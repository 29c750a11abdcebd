"""Shanoir-NG DTOs -> Imagora records (collection / subject / session / acquisition).

Studies become collections, subjects subjects (human unless preclinical; preclinical
ones take species from the `specie` reference, mapped to NCBITaxon, plus strain and
biotype), examinations sessions, dataset acquisitions acquisitions: field strength from
the acquisition's protocol, TR/TE/TI/flip from the first value of the lists on its MR
dataset, the datasets listed as files. Dates come as "yyyy-MM-dd" or `[y, m, d]`.

Acquisitions are put together from the datasets' facts (each dataset is an item, its
fact names its acquisition and examination), so an acquisition's record follows its
current datasets; its title is the name Shanoir-NG gives it (`acquisition_name`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from catalog.domain.records import (
    FileEntry,
    Identifier,
    Imaging,
    RecordCreate,
    SourceInfo,
    SubjectInfo,
)
from harvesters.base import FileFacts, HarvestedRecord, ItemError
from harvesters.remote import as_float
from harvesters.species import human, lookup_species

_MODALITY = {
    "mr": "MR",
    "pet": "PT",
    "ct": "CT",
    "spect": "NM",
    "eeg": "EEG",
    "meg": "MEG",
    "xa": "XA",
}
_SEX = {"M": "male", "F": "female", "O": "other"}
_ORDER = ("shanoir-study", "shanoir-subject", "shanoir-exam")


def parse_date(value: Any) -> date | None:
    """ "2019-03-14" or the legacy serializer's [2019, 3, 14]; None when absent or bad."""
    try:
        if isinstance(value, list) and len(value) >= 3:
            return date(int(value[0]), int(value[1]), int(value[2]))
        if isinstance(value, str) and value:
            return date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return None
    return None


def first_value(values: Any) -> float | None:
    """The first number of a Shanoir list: plain numbers or entities such as
    `{"id": 3, "repetitionTimeValue": 2300.0}`."""
    for item in values if isinstance(values, list) else []:
        if isinstance(item, dict):
            item = next((v for k, v in item.items() if k.endswith("Value")), None)
        number = as_float(item)
        if number is not None:
            return number
    return None


def build_records(
    base_url: str, harvester: str, version: str, facts: Iterable[FileFacts]
) -> Iterator[HarvestedRecord | ItemError]:
    ordered: list[FileFacts] = []
    datasets: list[FileFacts] = []
    for fact in facts:
        if fact.kind == "shanoir-dataset":
            datasets.append(fact)
        elif fact.kind in _ORDER:
            ordered.append(fact)
    ordered.sort(key=lambda f: (_ORDER.index(f.kind), f.path))
    by_exam, orphans = _acquisitions_by_exam(datasets)
    source = _Source(base_url, harvester, version)
    exams: set[str] = set()
    for fact in ordered:
        row = fact.data["row"]
        try:
            if fact.kind == "shanoir-study":
                yield _study(source, row)
            elif fact.kind == "shanoir-subject":
                yield _subject(source, row)
            else:
                exams.add(str(row["id"]))
                yield from _exam(source, row, by_exam.get(str(row["id"])) or {})
        except (KeyError, TypeError, ValueError) as exc:
            yield ItemError(fact.path, f"unexpected Shanoir-NG data: {exc}")
    yield from _unplaced(by_exam, exams)
    yield from orphans


def _unplaced(
    by_exam: dict[str, dict[str, dict[str, Any]]], exams: set[str]
) -> Iterator[ItemError]:
    """Acquisitions whose examination is not among the harvested ones."""
    for exam_id, acquisitions in sorted(by_exam.items()):
        if exam_id not in exams:
            for acq in acquisitions.values():
                yield ItemError(
                    f"acquisition:{acq['id']}", f"its examination {exam_id} was not listed"
                )


def _acquisitions_by_exam(
    facts: list[FileFacts],
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[ItemError]]:
    """Dataset facts -> examination id -> acquisition id -> acquisition with its datasets."""
    by_exam: dict[str, dict[str, dict[str, Any]]] = {}
    errors: list[ItemError] = []
    for fact in sorted(facts, key=lambda f: f.path):
        acq, row = fact.data.get("acquisition") or {}, fact.data.get("row") or {}
        if acq.get("id") is None or acq.get("examinationId") is None:
            errors.append(ItemError(fact.path, "the dataset names no acquisition/examination"))
            continue
        acquisitions = by_exam.setdefault(str(acq["examinationId"]), {})
        entry = acquisitions.setdefault(str(acq["id"]), {**acq, "datasets": []})
        entry["datasets"].append(row)
    return by_exam, errors


def acquisition_name(acq: dict[str, Any], datasets: list[dict[str, Any]]) -> str:
    """The name Shanoir-NG shows for an acquisition (its `ExaminationDatasetAcquisition`
    rule): the datasets' name when they share one, else their shared comment, else all
    their names, else `id=N rank=R`; measurement datasets do not count."""
    names: list[str] = []
    comments: list[str] = []
    for dataset in datasets:
        if str(dataset.get("type") or "").lower() == "measurement":
            continue
        name = str(dataset.get("name") or "")
        if name and name not in names:
            names.append(name)
        meta = dataset.get("updatedMetadata") or dataset.get("originMetadata") or {}
        comment = str(meta.get("comment") or "") if isinstance(meta, dict) else ""
        if comment and comment not in comments:
            comments.append(comment)
    if len(names) == 1:
        return names[0]
    if len(comments) == 1:
        return comments[0]
    if names:
        return " ".join(names)
    rank = f" rank={acq['rank']}" if acq.get("rank") is not None else ""
    return f"id={acq.get('id')}{rank}"


class _Source:
    def __init__(self, base_url: str, harvester: str, version: str) -> None:
        self.base_url, self.harvester, self.version = base_url, harvester, version

    def info(self, external_id: Any, raw: dict[str, Any]) -> SourceInfo:
        return SourceInfo(
            type=self.harvester,
            location=self.base_url,
            external_id=str(external_id),
            harvester_version=self.version,
            raw={k: v for k, v in raw.items() if v not in (None, "", [], {})},
        )


def _study(src: _Source, row: dict[str, Any]) -> HarvestedRecord:
    license_ = row.get("license")
    record = RecordCreate(
        level="collection",
        title=str(row.get("name") or f"Study {row['id']}"),
        description=row.get("description") or None,
        license=str(license_) if license_ else None,
        keywords=[str(row["studyType"]).lower()] if row.get("studyType") else [],
        identifiers=[
            Identifier(
                identifier=f"{src.base_url}/shanoir-ng/study/details/{row['id']}", scheme="url"
            )
        ],
        source=src.info(
            row["id"], {k: row.get(k) for k in ("id", "studyType", "studyStatus", "startDate")}
        ),
    )
    return HarvestedRecord(f"study:{row['id']}", record)


def _subject(src: _Source, row: dict[str, Any]) -> HarvestedRecord:
    animal = row.get("animal") or {}
    species = lookup_species(animal.get("specie")) if row.get("preclinical") else human()
    keywords = [str(v) for v in (animal.get("biotype"), *(animal.get("pathologies") or [])) if v]
    alias = str(row["pseudonym"])
    record = RecordCreate(
        level="subject",
        title=f"Subject {alias}",
        keywords=keywords,
        subject=SubjectInfo(
            pseudonym=alias,
            species=species,
            strain=animal.get("strain") or None,
            sex=_SEX.get(str(row.get("sex") or "")),  # type: ignore[arg-type]
        ),
        source=src.info(row["id"], {"preclinical": row.get("preclinical"), **animal}),
    )
    return HarvestedRecord(f"subject:{row['id']}", record, f"study:{row['studyId']}")


def _exam(
    src: _Source, row: dict[str, Any], acquisitions: dict[str, dict[str, Any]]
) -> Iterator[HarvestedRecord]:
    when = parse_date(row.get("examinationDate"))
    modalities = sorted({_modality(a.get("type")) for a in acquisitions.values()} - {None})
    key = f"exam:{row['id']}"
    session = RecordCreate(
        level="session",
        title=f"{'/'.join(modalities) or 'Imaging'} examination {when or 'undated'}",
        imaging=Imaging(
            modality=modalities[0] if len(modalities) == 1 else None, acquisition_date=when
        ),
        source=src.info(
            row["id"], {"preclinical": row.get("preclinical"), "centerId": row.get("centerId")}
        ),
    )
    subject = (row.get("subject") or {}).get("id")
    yield HarvestedRecord(key, session, f"subject:{subject}")
    for acq_id, acq in sorted(acquisitions.items(), key=lambda a: int(a[0])):
        yield HarvestedRecord(f"acquisition:{acq_id}", _acquisition(src, acq, when), key)


def _modality(tag: Any) -> str | None:
    return _MODALITY.get(str(tag or "").lower()) if tag else None


def _acquisition(src: _Source, acq: dict[str, Any], when: date | None) -> RecordCreate:
    protocol = acq.get("protocol") or {}
    datasets = sorted(
        (d for d in acq.get("datasets") or [] if isinstance(d, dict)), key=lambda d: d["id"]
    )
    mr = next((d for d in datasets if d.get("type") == "Mr"), {})
    name = acquisition_name(acq, datasets)
    sequence = (mr.get("originMrMetadata") or {}).get("mrSequenceName") or None
    imaging = Imaging(
        modality=_modality(acq.get("type")),
        field_strength_t=as_float(protocol.get("magneticFieldStrength")),
        slice_thickness_mm=as_float(protocol.get("sliceThickness")),
        software_version=acq.get("softwareRelease") or None,
        sequence=sequence,
        series_description=name or None,
        tr_ms=first_value(mr.get("repetitionTime")),
        te_ms=first_value(mr.get("echoTime")),
        ti_ms=first_value(mr.get("inversionTime")),
        flip_angle_deg=first_value(mr.get("flipAngle")),
        acquisition_date=when,
    )
    files = [
        FileEntry(path=f"datasets/{d['id']}", format=str(d.get("type") or "") or None)
        for d in datasets
    ]
    raw = {"id": acq["id"], "type": acq.get("type"), "datasets": [d.get("name") for d in datasets]}
    return RecordCreate(
        level="acquisition",
        title=name,
        imaging=imaging,
        files=files,
        source=src.info(acq["id"], raw),
    )
