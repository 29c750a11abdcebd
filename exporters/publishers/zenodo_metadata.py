"""A record version as Zenodo deposition metadata (the legacy `/api/deposit` schema).

Zenodo wants: `upload_type`, `title`, `creators` ("Family, Given", bare ORCID,
affiliation), `description` in its limited HTML, `access_right` with `license` (its
licence ids: lower-case SPDX) or `embargo_date`, `keywords`, `subjects` ({term,
identifier, scheme}), `related_identifiers` with camelCase relation names, `communities`
and `grants`. The Imagora landing page is sent as an `isAlternateIdentifier`: it is also
how a retry recognises a draft it created but never heard back about.
"""

from __future__ import annotations

import html
from typing import Any

from catalog.domain.errors import ValidationError
from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.publishers.base import Deposit
from ontologies.tables import ReferenceTables


def zenodo_licenses() -> dict[str, str]:
    """SPDX ids -> Zenodo licence ids: every SPDX-listed licence of the licence table
    (Zenodo's vocabulary is lower-case SPDX; `LicenseRef-` ids have no equivalent)."""
    licences = ReferenceTables.of().licences.licences
    return {lic.spdx_id: lic.spdx_id.lower() for lic in licences if lic.listed_by_spdx}


#: DataCite relation types Zenodo accepts, in Zenodo's camelCase spelling.
ZENODO_RELATIONS: dict[str, str] = {
    name: name[0].lower() + name[1:]
    for name in (
        *("IsCitedBy", "Cites", "IsSupplementTo", "IsSupplementedBy", "IsContinuedBy"),
        *("Continues", "IsDescribedBy", "Describes", "HasMetadata", "IsMetadataFor"),
        *("IsNewVersionOf", "IsPreviousVersionOf", "IsPartOf", "HasPart", "IsReferencedBy"),
        *("References", "IsDocumentedBy", "Documents", "IsCompiledBy", "Compiles"),
        *("IsVariantFormOf", "IsIdenticalTo", "IsReviewedBy", "Reviews", "IsDerivedFrom"),
        *("IsSourceOf", "Requires", "IsRequiredBy", "IsObsoletedBy", "Obsoletes"),
    )
}
ZENODO_RELATIONS["IsOriginalFormOf"] = "isOriginalFormof"  # sic: Zenodo's spelling

MARKER_RELATION = "isAlternateIdentifier"


def zenodo_license(spdx: str | None) -> str:
    """The Zenodo licence id of an SPDX id; a clear error for licences Zenodo lacks."""
    if not spdx:
        raise ValidationError(
            "Zenodo needs a licence for open or embargoed data: set the record's (or its "
            "collection's) `license` to an SPDX id such as CC-BY-4.0",
            field="license",
        )
    known_ids = zenodo_licenses()
    found = known_ids.get(spdx) or known_ids.get(spdx.upper())
    if found is None:
        known = ", ".join(sorted(known_ids))
        raise ValidationError(
            f"licence '{spdx}' has no Zenodo equivalent; use one of: {known}", field="license"
        )
    return found


def creators(record: RecordPublic) -> list[dict[str, str]]:
    out = []
    for creator in record.creators:
        item = {"name": creator.name}
        if creator.orcid:
            item["orcid"] = creator.orcid.rsplit("/", 1)[-1]
        if creator.affiliation:
            item["affiliation"] = creator.affiliation
        out.append(item)
    return out


def description_html(record: RecordPublic, deposit: Deposit) -> str:
    """Zenodo's limited HTML: escaped paragraphs, a facts list, a link back."""
    from exporters.base import ExportContext

    context = ExportContext(base_url=deposit.landing_url.rsplit("/records/", 1)[0])
    paragraphs = [
        f"<p>{html.escape(part.strip())}</p>"
        for part in facts.description(record, context).split("\n\n")
        if part.strip()
    ]
    link = html.escape(deposit.landing_url, quote=True)
    paragraphs.append(f'<p>Catalogue record: <a href="{link}">{link}</a></p>')
    return "".join(paragraphs)


def subjects(record: RecordPublic) -> list[dict[str, str]]:
    return [
        {"term": t.label, "identifier": t.iri, "scheme": "url"}
        for t in record.terms
        if t.status != "rejected"
    ]


def related_identifiers(record: RecordPublic, deposit: Deposit) -> list[dict[str, str]]:
    out = [{"identifier": deposit.landing_url, "relation": MARKER_RELATION}]
    for rel in record.related:
        relation = ZENODO_RELATIONS.get(rel.relation.value)
        if relation:
            out.append({"identifier": rel.identifier, "relation": relation})
    return out


def access_fields(record: RecordPublic) -> dict[str, Any]:
    access = facts.files_access(record)
    if access == "embargoed":
        return {
            "access_right": "embargoed",
            "embargo_date": record.access.embargo_until.isoformat()  # type: ignore[union-attr]
            if record.access.embargo_until
            else None,
            "license": zenodo_license(record.license),
        }
    if access == "restricted":
        return {
            "access_right": "restricted",
            "access_conditions": "Files are available on request to the data custodian.",
        }
    return {"access_right": "open", "license": zenodo_license(record.license)}


def grants(record: RecordPublic) -> list[dict[str, str]]:
    """Grant ids from identifiers with scheme `grant` (e.g. 10.13039/501100000780::675191)."""
    return [{"id": i.identifier} for i in record.identifiers if i.scheme.lower() == "grant"]


def zenodo_metadata(deposit: Deposit, communities: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `metadata` object of a deposition for this record version."""
    record = deposit.record
    metadata: dict[str, Any] = {
        "upload_type": "dataset",
        "title": record.title,
        "creators": creators(record),
        "description": description_html(record, deposit),
        "version": str(deposit.version),
        "keywords": sorted(set(facts.keywords(record))),
        "subjects": subjects(record),
        "related_identifiers": related_identifiers(record, deposit),
        **access_fields(record),
    }
    if deposit.publication_date:
        metadata["publication_date"] = deposit.publication_date
    if communities:
        metadata["communities"] = [{"identifier": c} for c in communities]
    found_grants = grants(record)
    if found_grants:
        metadata["grants"] = found_grants
    return {k: v for k, v in metadata.items() if v not in (None, [], "")}


def is_ours(deposition: dict[str, Any], landing_url: str, version: int) -> bool:
    """True for a deposition this catalogue started for that record version."""
    metadata = deposition.get("metadata") or {}
    related = metadata.get("related_identifiers") or []
    marked = any(
        r.get("identifier") == landing_url and r.get("relation") == MARKER_RELATION for r in related
    )
    return marked and str(metadata.get("version", "")) == str(version)
