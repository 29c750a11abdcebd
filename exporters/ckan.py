"""CKAN package dicts: how a record reads as a CKAN dataset.

So that CKAN harvesters, `ckanapi` and portal tooling can read Imagora as if it were a
CKAN site (the Action API itself is `catalog.services.ckan`). Choices:

- **organizations are harvest source types** (the `source` facet: dicom, bids, bruker,
  xnat, ...): the package's `organization`.
- `res_format` is the data format implied by the source type (DICOM, NIfTI, ...) plus
  HTML for the landing page resource every package has; `tags` are the record's
  keywords, modality, sequence, species and accepted term labels.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import ExportContext

SOURCE_FORMATS = {
    "dicom": "DICOM",
    "xnat": "DICOM",
    "shanoir": "DICOM",
    "bids": "NIfTI",
    "bruker": "Bruker ParaVision",
}
_MEDIA_FORMATS = {
    "application/dicom": "DICOM",
    "application/x-nifti": "NIfTI",
    "application/x-nifti-gz": "NIfTI",
    "application/zip": "ZIP",
    "application/json": "JSON",
}
_NAME_RE = re.compile(r"[^a-z0-9_-]+")
_TAG_RE = re.compile(r"[^\w .-]+", re.UNICODE)


# ----- packages -----------------------------------------------------------------------
def package_name(record_id: str) -> str:
    """A CKAN-valid name (lower case, digits, - and _) for a record id."""
    name = _NAME_RE.sub("-", record_id.lower()).strip("-")
    return name if len(name) >= 2 else f"record-{name or 'x'}"


def organization(source: str | None) -> dict[str, Any] | None:
    if not source:
        return None
    return {
        "id": source,
        "name": source,
        "title": f"{source.upper() if len(source) <= 5 else source.capitalize()} harvests",
        "description": f"Records harvested from {source} sources",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
    }


def _tags(record: RecordPublic) -> list[dict[str, Any]]:
    names: dict[str, None] = {}  # ordered and O(1) membership: linear in the keywords
    for word in facts.keywords(record):
        clean = " ".join(_TAG_RE.sub(" ", word).split())[:100]
        if len(clean) >= 2:
            names.setdefault(clean)
    return [{"name": n, "display_name": n, "state": "active", "vocabulary_id": None} for n in names]


def _extras(record: RecordPublic) -> list[dict[str, str]]:
    imaging = record.imaging
    values: dict[str, Any] = {
        "level": record.level.value,
        "modality": imaging.modality,
        "field_strength_t": imaging.field_strength_t,
        "manufacturer": imaging.manufacturer,
        "model": imaging.model,
        "sequence": imaging.sequence,
        "species": record.subject.species.label if record.subject.species else None,
        "species_iri": record.subject.species.iri if record.subject.species else None,
        "bids_suffix": record.bids.suffix,
        "file_access": facts.files_access(record),
        "embargo_until": record.access.embargo_until,
        "doi": next(iter(facts.dois(record)), None),
        "parent_id": record.parent_id,
        "source_type": record.source.type,
        "children_count": record.children_count,
    }
    return [{"key": k, "value": str(v)} for k, v in values.items() if v not in (None, "")]


def _resource_format(record: RecordPublic, media: str) -> str:
    return _MEDIA_FORMATS.get(media) or SOURCE_FORMATS.get(record.source.type) or media


def _resources(record: RecordPublic, landing: str) -> list[dict[str, Any]]:
    resources = [
        {
            "id": f"{record.id}-landing",
            "name": "Landing page",
            "url": landing,
            "format": "HTML",
            "mimetype": "text/html",
        }
    ]
    for number, entry in enumerate(facts.downloadable_files(record), start=1):
        media = facts.file_media_type(entry)
        resources.append(
            {
                "id": f"{record.id}-file-{number}",
                "name": entry.path.rsplit("/", 1)[-1] or entry.path,
                "url": entry.path,
                "format": _resource_format(record, media),
                "mimetype": media,
                "size": entry.size,
                "hash": entry.checksum or "",
            }
        )
    for position, resource in enumerate(resources):
        resource.update({"package_id": record.id, "position": position, "state": "active"})
    return resources


def package(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    """The CKAN package dict of a record."""
    landing = facts.record_url(context, record.id)
    tags = _tags(record)
    resources = _resources(record, landing)
    org = organization(record.source.type)
    return {
        "id": record.id,
        "name": package_name(record.id),
        "title": record.title,
        "notes": record.description or "",
        "url": landing,
        "type": "dataset",
        "state": "active" if record.status.value == "active" else "deleted",
        "private": False,
        "version": str(record.version),
        "author": "; ".join(c.name for c in record.creators) or None,
        "author_email": None,
        "maintainer": context.publisher,
        "maintainer_email": None,
        "license_id": record.license or "notspecified",
        "license_title": facts.license_title(record.license) or "License not specified",
        "license_url": facts.license_url(record) or "",
        "isopen": facts.files_open(record) and bool(record.license),
        "metadata_created": record.created.isoformat(),
        "metadata_modified": record.updated.isoformat(),
        "tags": tags,
        "num_tags": len(tags),
        "extras": _extras(record),
        "resources": resources,
        "num_resources": len(resources),
        "organization": org,
        "owner_org": org["id"] if org else None,
        "groups": [],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }
