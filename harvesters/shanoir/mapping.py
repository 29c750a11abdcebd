"""Shanoir-NG DTOs -> Imagora records (collection / subject / session / acquisition).

Studies become collections, subjects subjects (human unless preclinical; preclinical
ones take species from the `specie` reference, mapped to NCBITaxon, plus strain and
biotype), examinations sessions, dataset acquisitions acquisitions: field strength from
the acquisition's protocol, TR/TE/TI/flip from the first value of the lists on its MR
dataset, the datasets listed as files. Dates come as "yyyy-MM-dd" or `[y, m, d]`.
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
    ordered = sorted(
        (f for f in facts if f.kind in _ORDER), key=lambda f: (_ORDER.index(f.kind), f.path)
    )
    source = _Source(base_url, harvester, version)
    for fact in ordered:
        row = fact.data["row"]
        try:
            if fact.kind == "shanoir-study":
                yield _study(source, row)
            elif fact.kind == "shanoir-subject":
                yield _subject(source, row)
            else:
                yield from _exam(source, row)
        except (KeyError, TypeError, ValueError) as exc:
            yield ItemError(fact.path, f"unexpected Shanoir-NG data: {exc}")


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


def _exam(src: _Source, row: dict[str, Any]) -> Iterator[HarvestedRecord]:
    when = parse_date(row.get("examinationDate"))
    acquisitions = row.get("acquisitions") or []
    modalities = sorted({_modality(a.get("type")) for a in acquisitions} - {None})
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
    for acq in acquisitions:
        yield HarvestedRecord(f"acquisition:{acq['id']}", _acquisition(src, acq, when), key)


def _modality(tag: Any) -> str | None:
    return _MODALITY.get(str(tag or "").lower()) if tag else None


def _acquisition(src: _Source, acq: dict[str, Any], when: date | None) -> RecordCreate:
    protocol = acq.get("protocol") or {}
    datasets = [d for d in acq.get("datasets") or [] if isinstance(d, dict)]
    mr = next((d for d in datasets if d.get("type") == "Mr"), {})
    sequence = (mr.get("originMrMetadata") or {}).get("mrSequenceName") or None
    imaging = Imaging(
        modality=_modality(acq.get("type")),
        field_strength_t=as_float(protocol.get("magneticFieldStrength")),
        slice_thickness_mm=as_float(protocol.get("sliceThickness")),
        software_version=acq.get("softwareRelease") or None,
        sequence=sequence,
        series_description=acq.get("name") or None,
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
        title=str(acq.get("name") or f"Acquisition {acq['id']}"),
        imaging=imaging,
        files=files,
        source=src.info(acq["id"], raw),
    )
