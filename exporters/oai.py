"""The two OAI-PMH metadata formats: `oai_dc` (required by the protocol) and
`oai_datacite` (what OpenAIRE's Guidelines for Data Archives harvest).

Each renders the `<metadata>` content of one OAI record, without an XML declaration,
so the OAI-PMH endpoint can place it inside its response. `oai_datacite` wraps the
kernel-4.6 `<resource>` of `exporters.datacite` in the DataCite OAI schema 1.1 envelope;
`oai_dc` maps the same facts onto the 15 Dublin Core elements, with the access right as
an `info:eu-repo/semantics/...` rights value as OpenAIRE reads it.
"""

from __future__ import annotations

from typing import ClassVar

from lxml import etree

from catalog.domain.enums import Level
from catalog.domain.records import RecordPublic
from exporters import datacite, facts
from exporters.base import ExportContext, Exporter

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
#: The symbol in `datacentreSymbol` when the catalogue has no DataCite repository id.
DATACENTRE = "IMAGORA"
DC_TYPES = {Level.publication: "Text", Level.pipeline: "Software"}
ACCESS_RIGHTS = {
    "open": "info:eu-repo/semantics/openAccess",
    "restricted": "info:eu-repo/semantics/restrictedAccess",
    "embargoed": "info:eu-repo/semantics/embargoedAccess",
}


class OaiExporter(Exporter):
    """An OAI-PMH metadata format: the prefix is the exporter's name."""

    schema: ClassVar[str]
    namespace: ClassVar[str]


def _dc(parent: etree._Element, name: str, text: str | None) -> None:
    if text:
        etree.SubElement(parent, f"{{{DC_NS}}}{name}").text = text


def _dc_identifiers(root: etree._Element, record: RecordPublic, context: ExportContext) -> None:
    urls = [facts.identifier_url(i) for i in record.identifiers]
    for url in dict.fromkeys([*[u for u in urls if u], facts.record_url(context, record.id)]):
        _dc(root, "identifier", url)


def _dc_rights(root: etree._Element, record: RecordPublic) -> None:
    access = facts.files_access(record)
    _dc(root, "rights", ACCESS_RIGHTS[access])
    _dc(root, "rights", facts.license_url(record))
    if access == "embargoed" and record.access.embargo_until:
        _dc(root, "date", f"info:eu-repo/date/embargoEnd/{record.access.embargo_until}")


def dublin_core(record: RecordPublic, context: ExportContext) -> etree._Element:
    """The `<oai_dc:dc>` element of a record."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC_NS} {OaiDcExporter.schema}")
    _dc(root, "title", record.title)
    for creator in record.creators:
        _dc(root, "creator", creator.name)
    for word in facts.keywords(record):
        _dc(root, "subject", word)
    _dc(root, "description", facts.description(record, context))
    _dc(root, "publisher", context.publisher)
    _dc(root, "date", str(facts.publication_year(record)))
    _dc(root, "type", DC_TYPES.get(record.level, "Dataset"))
    for media in sorted({facts.file_media_type(entry) for entry in record.files}):
        _dc(root, "format", media)
    _dc_identifiers(root, record, context)
    for related in record.related:
        _dc(root, "relation", facts.related_url(related.identifier, related.scheme))
    if record.parents:
        _dc(root, "relation", facts.record_url(context, record.parents[-1].id))
    _dc_rights(root, record)
    return root


def oai_datacite(record: RecordPublic, context: ExportContext, symbol: str) -> etree._Element:
    """The `<oai_datacite>` envelope around the record's DataCite 4.6 `<resource>`."""
    root = etree.Element(
        f"{{{OAI_DATACITE_NS}}}oai_datacite", nsmap={None: OAI_DATACITE_NS, "xsi": XSI}
    )
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DATACITE_NS} {OaiDataCiteExporter.schema}")
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}schemaVersion").text = "4.6"
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}datacentreSymbol").text = symbol
    payload = etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}payload")
    payload.append(datacite.resource(record, context))
    return root


class OaiDcExporter(OaiExporter):
    """Unqualified Dublin Core for OAI-PMH."""

    name = "oai_dc"
    media_type = "application/xml"
    extension = "oai_dc.xml"
    schema = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    namespace = OAI_DC_NS

    def render(self, record: RecordPublic, context: ExportContext) -> bytes:
        return etree.tostring(dublin_core(record, context), encoding="UTF-8")


class OaiDataCiteExporter(OaiExporter):
    """DataCite 4.6 in the DataCite OAI schema 1.1 envelope (OpenAIRE data archives)."""

    name = "oai_datacite"
    media_type = "application/xml"
    extension = "oai_datacite.xml"
    schema = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
    namespace = OAI_DATACITE_NS

    def render(self, record: RecordPublic, context: ExportContext) -> bytes:
        symbol = (self.settings.datacite_user if self.settings else "") or DATACENTRE
        return etree.tostring(oai_datacite(record, context, symbol.upper()), encoding="UTF-8")
