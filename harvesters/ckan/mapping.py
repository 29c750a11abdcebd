"""CKAN packages and organisations -> Imagora collection records (files from resources)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

_NO_LICENSE = {"", "notspecified", "other-closed"}
_RAW = ("id", "name", "metadata_modified", "metadata_created", "license_id", "version", "state")


def build_records(
    base_url: str, harvester: str, version: str, facts: Iterable[FileFacts]
) -> Iterator[HarvestedRecord | ItemError]:
    ordered = sorted(facts, key=lambda f: (f.kind != "ckan-organization", f.path))
    orgs = {f.path for f in ordered if f.kind == "ckan-organization"}
    for fact in ordered:
        try:
            if fact.kind == "ckan-organization":
                yield _organization(base_url, harvester, version, fact.data["organization"])
            elif fact.kind == "ckan-package":
                yield _package(base_url, harvester, version, fact.data["package"], orgs)
        except (KeyError, TypeError, ValueError) as exc:
            yield ItemError(fact.path, f"unexpected CKAN data: {exc}")


def _source(base: str, harvester: str, version: str, ext: str, raw: dict[str, Any]) -> SourceInfo:
    return SourceInfo(
        type=harvester,
        location=base,
        external_id=ext,
        harvester_version=version,
        raw={k: v for k, v in raw.items() if v not in (None, "", [], {})},
    )


def _organization(base: str, harvester: str, version: str, org: dict[str, Any]) -> HarvestedRecord:
    name = str(org["name"])
    record = RecordCreate(
        level="collection",
        title=str(org.get("title") or name),
        description=str(org.get("description") or "") or None,
        identifiers=[Identifier(identifier=f"{base}/organization/{name}", scheme="url")],
        source=_source(base, harvester, version, name, {"id": org.get("id"), "name": name}),
    )
    return HarvestedRecord(f"organization:{name}", record)


def _package(
    base: str, harvester: str, version: str, package: dict[str, Any], orgs: set[str]
) -> HarvestedRecord:
    extras = {
        str(e.get("key")): e.get("value")
        for e in package.get("extras") or []
        if isinstance(e, dict) and e.get("key")
    }
    keywords = [str(t.get("name")) for t in package.get("tags") or [] if isinstance(t, dict)]
    keywords += [
        str(g.get("title") or g.get("name"))
        for g in package.get("groups") or []
        if isinstance(g, dict)
    ]
    license_id = str(package.get("license_id") or "")
    authors = [a.strip() for a in str(package.get("author") or "").split(";") if a.strip()]
    record = RecordCreate(
        level="collection",
        title=str(package.get("title") or package.get("name") or package["id"]),
        description=str(package.get("notes") or "") or None,
        license=None if license_id.lower() in _NO_LICENSE else license_id,
        creators=[Creator(name=a) for a in authors],
        keywords=[k for k in dict.fromkeys(keywords) if k],
        identifiers=[
            Identifier(
                identifier=f"{base}/dataset/{package.get('name') or package['id']}", scheme="url"
            )
        ],
        imaging=_imaging(extras),
        subject=SubjectInfo(
            species=lookup_species(extras.get("species_iri") or extras.get("species"))
        ),
        files=[
            _file(r) for r in package.get("resources") or [] if isinstance(r, dict) and r.get("url")
        ],
        source=_source(
            base, harvester, version, str(package["id"]), {k: package.get(k) for k in _RAW}
        ),
    )
    org = (package.get("organization") or {}).get("name")
    key = f"organization:{org}"
    return HarvestedRecord(f"package:{package['id']}", record, key if key in orgs else None)


def _imaging(extras: dict[str, Any]) -> Imaging:
    return Imaging(
        modality=extras.get("modality") or None,
        field_strength_t=as_float(extras.get("field_strength_t")),
        manufacturer=extras.get("manufacturer") or None,
        model=extras.get("model") or None,
        sequence=extras.get("sequence") or None,
    )


def _file(resource: dict[str, Any]) -> FileEntry:
    digest = str(resource.get("hash") or "")
    return FileEntry(
        path=str(resource["url"]),
        size=as_int(resource.get("size")),
        checksum=digest if ":" in digest else None,
        format=str(resource.get("format") or "") or None,
    )
