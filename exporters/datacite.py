"""DataCite Metadata Schema 4.6 XML (kernel-4) for one record.

This is the format DOI registration and OpenAIRE harvesting read. The document validates
against the official 4.6 XSD (tests check it with lxml). Records without a DOI carry
their landing page as a URL identifier, and a record without creators gets the DataCite
standard value `:unav` (value unavailable) rather than an invented name.
"""

from __future__ import annotations

from lxml import etree

from catalog.domain.enums import Level
from catalog.domain.records import Creator, Identifier, RecordPublic
from exporters import facts
from exporters.base import MAX_LISTED_CHILDREN, ExportContext, Exporter

NS = "http://datacite.org/schema/kernel-4"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} https://schema.datacite.org/meta/kernel-4.6/metadata.xsd"
UNAVAILABLE = ":unav"

#: relatedIdentifierType values of the 4.6 schema, by lower-case spelling.
RELATED_TYPES = {
    name.lower(): name
    for name in (
        *("ARK", "arXiv", "bibcode", "CSTR", "DOI", "EAN13", "EISSN", "Handle", "IGSN"),
        *("ISBN", "ISSN", "ISTC", "LISSN", "LSID", "PMID", "PURL", "RRID", "UPC", "URL"),
        *("URN", "w3id"),
    )
}
_ACCESS_RIGHTS = {
    "open": "info:eu-repo/semantics/openAccess",
    "restricted": "info:eu-repo/semantics/restrictedAccess",
    "embargoed": "info:eu-repo/semantics/embargoedAccess",
}
_RESOURCE_TYPES = {
    Level.collection: ("Dataset", "Imaging study"),
    Level.subject: ("Dataset", "Imaging subject"),
    Level.session: ("Dataset", "Imaging session"),
    Level.acquisition: ("Dataset", "Image acquisition"),
    Level.derived: ("Dataset", "Derived imaging data"),
    Level.publication: ("Text", "Publication"),
    Level.pipeline: ("Workflow", "Processing pipeline"),
}


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


def _identifier(root: etree._Element, record: RecordPublic, context: ExportContext) -> None:
    found = facts.dois(record)
    if found:
        _el(root, "identifier", found[0], identifierType="DOI")
    else:
        _el(root, "identifier", facts.record_url(context, record.id), identifierType="URL")


def _creator(parent: etree._Element, creator: Creator) -> None:
    node = _el(parent, "creator")
    person = facts.person_like(creator.name, creator.orcid)
    _el(node, "creatorName", creator.name, nameType="Personal" if person else "Organizational")
    if creator.orcid:
        _el(
            node,
            "nameIdentifier",
            facts.orcid_url(creator.orcid),
            nameIdentifierScheme="ORCID",
            schemeURI="https://orcid.org",
        )
    if creator.affiliation:
        _el(node, "affiliation", creator.affiliation)


def _creators(root: etree._Element, record: RecordPublic) -> None:
    creators = _el(root, "creators")
    for creator in record.creators:
        _creator(creators, creator)
    if not record.creators:
        _el(_el(creators, "creator"), "creatorName", UNAVAILABLE)


def _subjects(root: etree._Element, record: RecordPublic) -> None:
    terms = [t for t in record.terms if t.status != "rejected"]
    words = [w for w in facts.keywords(record) if w not in {t.label for t in terms}]
    if not terms and not words:
        return
    subjects = _el(root, "subjects")
    for word in words:
        _el(subjects, "subject", word)
    for term in terms:
        _el(subjects, "subject", term.label, subjectScheme=term.scheme, valueURI=term.iri)


def _dates(root: etree._Element, record: RecordPublic) -> None:
    dates = _el(root, "dates")
    _el(dates, "date", record.created.date().isoformat(), dateType="Created")
    _el(dates, "date", record.updated.date().isoformat(), dateType="Updated")
    if record.access.embargo_until and facts.files_access(record) == "embargoed":
        _el(dates, "date", record.access.embargo_until.isoformat(), dateType="Available")
    if record.imaging.acquisition_date:
        _el(dates, "date", record.imaging.acquisition_date.isoformat(), dateType="Collected")


def _related_type(identifier: str, scheme: str) -> tuple[str, str] | None:
    """(value, relatedIdentifierType) for a related identifier, None if unusable."""
    doi = facts.doi_of(Identifier(identifier=identifier, scheme=scheme))
    if doi:
        return doi, "DOI"
    kind = RELATED_TYPES.get(scheme.lower())
    if kind and kind != "URL":
        return identifier, kind
    return (identifier, "URL") if facts.is_url(identifier) else None


def _related(root: etree._Element, record: RecordPublic, context: ExportContext) -> None:
    items: list[tuple[str, str, str, str | None]] = []
    for rel in record.related:
        typed = _related_type(rel.identifier, rel.scheme)
        if typed:
            items.append((typed[0], typed[1], rel.relation.value, rel.resource_type))
    if record.parents:
        parent = facts.record_url(context, record.parents[-1].id)
        items.append((parent, "URL", "IsPartOf", "Dataset"))
    for child in list(context.children)[:MAX_LISTED_CHILDREN]:
        items.append((facts.record_url(context, child.id), "URL", "HasPart", "Dataset"))
    for link in context.links:
        typed = (link.identifier, link.identifier_type, link.relation, link.resource_type)
        if typed not in items:
            items.append(typed)
    if not items:
        return
    related = _el(root, "relatedIdentifiers")
    for value, kind, relation, general in items:
        _el(
            related,
            "relatedIdentifier",
            value,
            relatedIdentifierType=kind,
            relationType=relation,
            resourceTypeGeneral=general or "",
        )


def _alternate(root: etree._Element, record: RecordPublic, context: ExportContext) -> None:
    alternates = _el(root, "alternateIdentifiers")
    _el(
        alternates,
        "alternateIdentifier",
        facts.record_url(context, record.id),
        alternateIdentifierType="URL",
    )
    for identifier in record.identifiers:
        if facts.doi_of(identifier) is None:
            _el(
                alternates,
                "alternateIdentifier",
                identifier.identifier,
                alternateIdentifierType=identifier.scheme,
            )


def _rights(root: etree._Element, record: RecordPublic) -> None:
    rights_list = _el(root, "rightsList")
    if record.license:
        url = facts.license_url(record) or ""
        spdx = not facts.is_url(record.license)
        _el(
            rights_list,
            "rights",
            facts.license_title(record.license),
            rightsURI=url,
            rightsIdentifier=record.license if spdx else "",
            rightsIdentifierScheme="SPDX" if spdx else "",
            schemeURI=facts.SPDX_URL if spdx else "",
        )
    access = facts.files_access(record)
    _el(rights_list, "rights", f"{access} access", rightsURI=_ACCESS_RIGHTS[access])


def _technical_info(record: RecordPublic) -> str | None:
    imaging = record.imaging
    parts = [f"modality: {facts.modality_name(record)}"] if imaging.modality else []
    named = {
        "field strength (T)": imaging.field_strength_t,
        "manufacturer": imaging.manufacturer,
        "model": imaging.model,
        "sequence": imaging.sequence,
        "TR (ms)": imaging.tr_ms,
        "TE (ms)": imaging.te_ms,
        "TI (ms)": imaging.ti_ms,
        "flip angle (deg)": imaging.flip_angle_deg,
    }
    parts += [
        f"{name}: {value:g}" if isinstance(value, float) else f"{name}: {value}"
        for name, value in named.items()
        if value is not None
    ]
    if imaging.voxel_size_mm:
        parts.append("voxel size (mm): " + " x ".join(f"{v:g}" for v in imaging.voxel_size_mm))
    return "; ".join(parts) or None


def _descriptions(root: etree._Element, record: RecordPublic, context: ExportContext) -> None:
    descriptions = _el(root, "descriptions")
    _el(descriptions, "description", facts.description(record, context), descriptionType="Abstract")
    technical = _technical_info(record)
    if technical:
        _el(descriptions, "description", technical, descriptionType="TechnicalInfo")


def _formats_and_sizes(root: etree._Element, record: RecordPublic) -> None:
    formats = sorted({facts.file_media_type(entry) for entry in record.files})
    if formats:
        node = _el(root, "formats")
        for media in formats:
            _el(node, "format", media)
    total = sum(entry.size or 0 for entry in record.files)
    if total:
        _el(_el(root, "sizes"), "size", f"{total} bytes")


def resource(record: RecordPublic, context: ExportContext) -> etree._Element:
    """The `<resource>` element (kernel-4.6) describing one record."""
    root = etree.Element(f"{{{NS}}}resource", nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    _identifier(root, record, context)
    _creators(root, record)
    _el(_el(root, "titles"), "title", record.title)
    _el(root, "publisher", context.publisher)
    _el(root, "publicationYear", str(facts.publication_year(record)))
    general, specific = _RESOURCE_TYPES.get(record.level, ("Dataset", record.level.value))
    _el(root, "resourceType", specific, resourceTypeGeneral=general)
    _subjects(root, record)
    _dates(root, record)
    _alternate(root, record, context)
    _related(root, record, context)
    _formats_and_sizes(root, record)
    _el(root, "version", str(record.version))
    _rights(root, record)
    _descriptions(root, record, context)
    return root


def to_xml(record: RecordPublic, context: ExportContext) -> bytes:
    return etree.tostring(
        resource(record, context), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


class DataCiteXmlExporter(Exporter):
    """DataCite kernel-4.6 XML."""

    name = "datacite-xml"
    media_type = "application/vnd.datacite.datacite+xml"
    extension = "xml"
    profile = "http://datacite.org/schema/kernel-4"

    def render(self, record: RecordPublic, context: ExportContext) -> bytes:
        return to_xml(record, context)
