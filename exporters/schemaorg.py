"""schema.org `Dataset` JSON-LD, as Google Dataset Search reads it from landing pages.

Covers Google's required properties (name, description of 50+ characters) and the
recommended ones Imagora can fill: url, identifier, creator, license, keywords,
measurementTechnique, variableMeasured, isAccessibleForFree / conditionsOfAccess,
includedInDataCatalog, isPartOf / hasPart, dates, distribution, citation and sameAs.
The document uses the `https://schema.org/` context that Google expects; offline
processing maps it to the vendored context (`ontologies.jsonld`).
"""

from __future__ import annotations

import json
from typing import Any

from catalog.domain.enums import RelationType
from catalog.domain.records import Creator, RecordPublic, RecordSummary
from exporters import facts
from exporters.base import MAX_LISTED_CHILDREN, ExportContext, Exporter

SCHEMA_CONTEXT = "https://schema.org/"

#: Related-resource relations published as `citation` (things the dataset is cited by /
#: supplements / describes it) and as `sameAs` (the same thing elsewhere).
CITATION_RELATIONS = {
    RelationType.IsCitedBy,
    RelationType.IsSupplementTo,
    RelationType.IsDescribedBy,
    RelationType.IsDocumentedBy,
    RelationType.IsReferencedBy,
    RelationType.Cites,
    RelationType.References,
}
SAME_AS_RELATIONS = {RelationType.IsIdenticalTo, RelationType.IsVariantFormOf}


def _creator(creator: Creator) -> dict[str, Any]:
    kind = "Person" if facts.person_like(creator.name, creator.orcid) else "Organization"
    node: dict[str, Any] = {"@type": kind, "name": creator.name}
    if creator.orcid:
        node["@id"] = node["sameAs"] = facts.orcid_url(creator.orcid)
    if creator.affiliation and kind == "Person":
        node["affiliation"] = {"@type": "Organization", "name": creator.affiliation}
    return node


def _identifiers(record: RecordPublic, url: str) -> list[str]:
    found = [u for u in (facts.identifier_url(i) for i in record.identifiers) if u]
    return [*dict.fromkeys([*found, url])]


def _summary_node(summary: RecordSummary, context: ExportContext) -> dict[str, Any]:
    url = facts.record_url(context, summary.id)
    return {"@type": "Dataset", "@id": url, "url": url, "name": summary.title}


def _hierarchy(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if record.parents:
        parent = record.parents[-1]
        url = facts.record_url(context, parent.id)
        doc["isPartOf"] = {"@type": "Dataset", "@id": url, "url": url, "name": parent.title}
    children = list(context.children)[:MAX_LISTED_CHILDREN]
    if children:
        doc["hasPart"] = [_summary_node(child, context) for child in children]
    return doc


def _access(record: RecordPublic) -> dict[str, Any]:
    doc: dict[str, Any] = {"isAccessibleForFree": facts.files_open(record)}
    conditions = facts.access_conditions(record)
    if conditions:
        doc["conditionsOfAccess"] = conditions
    distribution = [
        {
            "@type": "DataDownload",
            "contentUrl": entry.path,
            "encodingFormat": facts.file_media_type(entry),
            **({"contentSize": f"{entry.size} B"} if entry.size is not None else {}),
        }
        for entry in facts.downloadable_files(record)
    ]
    if distribution:
        doc["distribution"] = distribution
    return doc


def _related(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    citations, same_as = [], []
    pairs = [(r.relation.value, facts.related_url(r.identifier, r.scheme)) for r in record.related]
    pairs += [
        (link.relation, facts.related_url(link.identifier, link.identifier_type))
        for link in context.links
    ]  # typed links to other records of the catalogue
    for relation, url in pairs:
        if url is None or url in citations or url in same_as:
            continue
        if relation in CITATION_RELATIONS:
            citations.append(url)
        elif relation in SAME_AS_RELATIONS:
            same_as.append(url)
    doc: dict[str, Any] = {}
    if citations:
        doc["citation"] = citations
    if same_as:
        doc["sameAs"] = same_as
    return doc


def _variables(record: RecordPublic) -> list[dict[str, Any]]:
    """Measured variables: the image contrast (BIDS suffix / contrast), with units."""
    names = [v for v in (record.bids.suffix, record.imaging.contrast) if v]
    variables = [{"@type": "PropertyValue", "name": f"{name} image intensity"} for name in names]
    if record.imaging.units:
        for variable in variables:
            variable["unitText"] = record.imaging.units
    return variables


def _optional(record: RecordPublic) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    creators = [_creator(c) for c in record.creators]
    if creators:
        doc["creator"] = creators
    licence = facts.license_url(record)
    if licence:
        doc["license"] = licence
    words = facts.keywords(record)
    if words:
        doc["keywords"] = words
    techniques = facts.measurement_techniques(record)
    if techniques:
        doc["measurementTechnique"] = techniques
    variables = _variables(record)
    if variables:
        doc["variableMeasured"] = variables
    return doc


def dataset(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    """The schema.org `Dataset` node of one record (a JSON-serialisable dict)."""
    url = facts.record_url(context, record.id)
    doc: dict[str, Any] = {
        "@context": SCHEMA_CONTEXT,
        "@type": "Dataset",
        "@id": url,
        "name": record.title,
        "description": facts.description(record, context),
        "url": url,
        "identifier": _identifiers(record, url),
        "version": str(record.version),
        "dateCreated": record.created.isoformat(),
        "dateModified": record.updated.isoformat(),
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": context.catalog_title,
            "url": context.base_url + "/",
        },
    }
    doc.update(_optional(record))
    doc.update(_access(record))
    doc.update(_hierarchy(record, context))
    doc.update(_related(record, context))
    return doc


def script_tag(record: RecordPublic, context: ExportContext) -> str:
    """The `<script type="application/ld+json">` element for a landing page's head.

    `<`, `>` and `&` are escaped as JSON unicode escapes so that no text in a record can
    close the script element.
    """
    text = json.dumps(dataset(record, context), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/ld+json">{text}</script>'


class SchemaOrgExporter(Exporter):
    """schema.org Dataset as JSON-LD."""

    name = "jsonld"
    media_type = "application/ld+json"
    extension = "jsonld"
    profile = "https://schema.org"

    def render(self, record: RecordPublic, context: ExportContext) -> str:
        return json.dumps(dataset(record, context), ensure_ascii=False, indent=2)
