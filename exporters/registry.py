"""The exporter registry: `imagora show --format NAME` and content negotiation look up here.

Names: "jsonld" (schema.org Dataset), "turtle" (DCAT-AP 3 Dataset), "datacite-xml"
(DataCite 4.6), "bibtex", "csl-json" (CSL-JSON), "ris" (RIS). Each class takes optional
`Settings` and offers `render(record, ExportContext)` and `export(record)`; third-party
formats join through the `imagora.exporters` entry-point group.
"""

from __future__ import annotations

from catalog.registry import Registry
from exporters.base import Exporter

exporters: Registry[Exporter] = Registry(
    "exporter",
    "imagora.exporters",
    {
        "jsonld": "exporters.schemaorg:SchemaOrgExporter",
        "turtle": "exporters.dcat:DcatTurtleExporter",
        "datacite-xml": "exporters.datacite:DataCiteXmlExporter",
        "bibtex": "exporters.bibtex:BibtexExporter",
        "csl-json": "exporters.csl:CslJsonExporter",
        "ris": "exporters.ris:RisExporter",
        "oai_dc": "exporters.oai:OaiDcExporter",
        "oai_datacite": "exporters.oai:OaiDataCiteExporter",
    },
)

#: OAI-PMH metadata formats (metadataPrefix = exporter name), served at `/oai` only.
OAI_FORMATS = ("oai_dc", "oai_datacite")
#: Formats offered on landing pages, in Signposting order.
RECORD_FORMATS = ("jsonld", "turtle", "datacite-xml", "bibtex", "csl-json", "ris")


def by_media_type() -> dict[str, type[Exporter]]:
    """Media type -> exporter class, for the formats offered on landing pages."""
    classes = [exporters.get(name) for name in RECORD_FORMATS]
    return {cls.media_type: cls for cls in classes}


def by_extension() -> dict[str, type[Exporter]]:
    """File extension (`ttl`, `csl.json`) -> exporter class, for `/records/{id}.EXT`."""
    classes = [exporters.get(name) for name in RECORD_FORMATS]
    return {cls.extension: cls for cls in classes}
