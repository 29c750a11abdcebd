"""XNAT rows -> Imagora records (collection / subject / session / acquisition).

What is asked for (`columns=`) and how it maps: scan type and series description,
quality, frames, field strength, TR/TE/TI/flip, voxel size and sequence per scan;
sessions' date, modality (from the xsiType), scanner and manufacturer, MR field strength
and PET tracer. Subject labels and session labels often embed a name or a hospital id:
they never reach a record (subjects are named by their keyed pseudonym, sessions by
modality and date).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog.domain.records import (
    Creator,
    FileEntry,
    Identifier,
    Imaging,
    RecordCreate,
    SourceInfo,
    SubjectInfo,
)
from harvesters.base import FileFacts, HarvestedRecord, ItemError
from harvesters.remote import as_float, as_int
from harvesters.species import lookup_species

_MODALITY = {"mr": "MR", "pet": "PT", "ct": "CT", "petmr": "PT", "us": "US", "cr": "CR",
             "nm": "NM", "xa": "XA", "mg": "MG", "dx": "DX"}  # fmt: skip
_SEX = {"male": "male", "m": "male", "female": "female", "f": "female", "other": "other"}
_MR_SCAN = ("parameters/tr", "parameters/te", "parameters/ti", "parameters/flip",
            "fieldStrength", "parameters/voxelRes/x", "parameters/voxelRes/y",
            "parameters/voxelRes/z", "parameters/sequence")  # fmt: skip


@dataclass(frozen=True)
class SiteInfo:
    base_url: str
    harvester: str
    version: str
    species: str | None


def session_fields(xsi: str) -> list[str]:
    """The session columns worth asking for, as full paths of this session type."""
    fields = [f"{xsi}/scanner", f"{xsi}/scanner/manufacturer", f"{xsi}/scanner/model"]
    kind = _kind(xsi)
    if kind in ("mr", "petmr"):
        fields.append(f"{xsi}/fieldStrength")
    if kind in ("pet", "petmr"):
        fields.append(f"{xsi}/tracer/name")
    return fields


def scan_fields(scan_xsi: str) -> list[str]:
    base = ["ID", "type", "series_description", "quality", "frames"]
    extra = _MR_SCAN if _kind(scan_xsi) == "mr" else ()
    return [f"{scan_xsi}/{name}" for name in (*base, *extra)]


def _kind(xsi: str) -> str:
    """`xnat:mrSessionData` / `xnat:mrScanData` -> "mr"."""
    name = xsi.split(":", 1)[-1].lower()
    for suffix in ("sessiondata", "scandata"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def build_records(
    info: SiteInfo, facts: Iterable[FileFacts]
) -> Iterator[HarvestedRecord | ItemError]:
    """Parents before children: projects, subjects, sessions with their scans."""
    by_kind: dict[str, list[FileFacts]] = {
        "xnat-project": [],
        "xnat-subject": [],
        "xnat-session": [],
    }
    for fact in facts:
        by_kind.setdefault(fact.kind, []).append(fact)
    for fact in sorted(by_kind["xnat-project"], key=lambda f: f.path):
        yield _project(info, fact.data["row"])
    for fact in sorted(by_kind["xnat-subject"], key=lambda f: f.path):
        yield _subject(info, fact.data["row"])
    for fact in sorted(by_kind["xnat-session"], key=lambda f: f.path):
        try:
            yield from _session(info, fact.data)
        except (KeyError, TypeError, ValueError) as exc:
            yield ItemError(fact.path, f"unexpected XNAT session data: {exc}")


def _source(info: SiteInfo, external_id: str, raw: dict[str, Any]) -> SourceInfo:
    return SourceInfo(
        type=info.harvester,
        location=info.base_url,
        external_id=external_id,
        harvester_version=info.version,
        raw={k: v for k, v in raw.items() if v not in ("", None)},
    )


def _project(info: SiteInfo, row: dict[str, Any]) -> HarvestedRecord:
    pid = str(row["ID"])
    first = row.get("pi_firstname") or row.get("PI/firstname") or ""
    last = row.get("pi_lastname") or row.get("PI/lastname") or ""
    creators = [Creator(name=f"{last}, {first}".strip(", "))] if (first or last) else []
    record = RecordCreate(
        level="collection",
        title=str(row.get("name") or pid),
        description=str(row.get("description") or "") or None,
        creators=creators,
        keywords=[k for k in str(row.get("keywords") or "").split() if k],
        identifiers=[Identifier(identifier=f"{info.base_url}/data/projects/{pid}", scheme="url")],
        source=_source(info, pid, row),
    )
    return HarvestedRecord(f"project:{pid}", record)


def _subject(info: SiteInfo, row: dict[str, Any]) -> HarvestedRecord:
    alias = str(row["pseudonym"])
    raw = {k: v for k, v in row.items() if k in ("ID", "project", "gender", "group")}
    record = RecordCreate(
        level="subject",
        title=f"Subject {alias}",
        subject=SubjectInfo(
            pseudonym=alias,
            species=lookup_species(info.species),
            sex=_SEX.get(str(row.get("gender") or "").lower()),  # type: ignore[arg-type]
        ),
        source=_source(info, str(row["ID"]), raw),
    )
    return HarvestedRecord(f"subject:{row['ID']}", record, f"project:{row.get('project')}")


def _session(info: SiteInfo, data: dict[str, Any]) -> Iterator[HarvestedRecord]:
    rows: list[dict[str, str]] = data["rows"]
    xsi = data["xsi"]
    head = rows[0]
    eid = str(head["ID"])
    lower = xsi.lower()
    modality = _MODALITY.get(_kind(xsi), _kind(xsi).upper())
    imaging = Imaging(
        modality=modality,
        field_strength_t=as_float(head.get(f"{lower}/fieldstrength")),
        manufacturer=head.get(f"{lower}/scanner/manufacturer") or None,
        model=head.get(f"{lower}/scanner/model") or None,
        station=head.get(f"{lower}/scanner") or None,
        radiopharmaceutical=head.get(f"{lower}/tracer/name") or None,
        acquisition_date=_date(head.get("date")),
    )
    when = head.get("date") or "undated"
    raw = {"ID": eid, "xsiType": xsi, "date": head.get("date", "")}
    record = RecordCreate(
        level="session",
        title=f"{modality} session {when}",
        imaging=imaging,
        source=_source(info, eid, raw),
    )
    key = f"session:{eid}"
    yield HarvestedRecord(key, record, f"subject:{head.get('subject_ID')}")
    for row in rows:
        scan = _scan(info, eid, row, imaging, data.get("resources") or {})
        if scan is not None:
            yield HarvestedRecord(f"scan:{eid}/{scan.source.external_id}", scan, key)


def _scan(
    info: SiteInfo, eid: str, row: dict[str, str], session: Imaging, resources: dict[str, Any]
) -> RecordCreate | None:
    prefix = row["_scan_xsi"].lower() + "/"
    values = {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}
    scan_id = values.get("id") or ""
    if not scan_id:
        return None  # XNAT's left join: a session without scans of this type
    kind = _kind(row["_scan_xsi"])
    voxel = [as_float(values.get(f"parameters/voxelres/{a}")) for a in "xyz"]
    listed = resources.get(scan_id) or []
    imaging = Imaging(
        modality=_MODALITY.get(kind, session.modality),
        field_strength_t=as_float(values.get("fieldstrength")) or session.field_strength_t,
        manufacturer=session.manufacturer,
        model=session.model,
        station=session.station,
        sequence=values.get("parameters/sequence") or values.get("type") or None,
        series_description=values.get("series_description") or None,
        tr_ms=as_float(values.get("parameters/tr")),
        te_ms=as_float(values.get("parameters/te")),
        ti_ms=as_float(values.get("parameters/ti")),
        flip_angle_deg=as_float(values.get("parameters/flip")),
        voxel_size_mm=[v for v in voxel if v is not None]
        if all(v is not None for v in voxel)
        else None,
        num_frames=as_int(values.get("frames")),
        num_instances=_dicom_count(listed),
        radiopharmaceutical=session.radiopharmaceutical,
        acquisition_date=session.acquisition_date,
    )
    title = values.get("series_description") or values.get("type") or f"scan {scan_id}"
    quality = {"xnat_quality": values["quality"]} if values.get("quality") else {}
    return RecordCreate(
        level="acquisition",
        title=title,
        keywords=[values["type"]] if values.get("type") else [],
        imaging=imaging,
        files=[_file(eid, scan_id, r) for r in listed if r.get("label")],
        quality=quality,
        source=_source(info, scan_id, {"session": eid, **values}),
    )


def _file(eid: str, scan_id: str, resource: dict[str, Any]) -> FileEntry:
    """A scan resource (a catalogue of files) as one entry: path, total size, format."""
    return FileEntry(
        path=f"experiments/{eid}/scans/{scan_id}/resources/{resource['label']}",
        size=as_int(resource.get("file_size")),
        format=str(resource.get("format") or "") or None,
    )


def _dicom_count(resources: list[dict[str, Any]]) -> int | None:
    for resource in resources:
        if str(resource.get("label", "")).upper() == "DICOM":
            return as_int(resource.get("file_count"))
    return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
