"""DataCite 4.6 XML (validated against the official XSD) and BibTeX entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from exporter_samples import BASE
from lxml import etree

from exporters.bibtex import BibtexExporter, escape
from exporters.datacite import NS, DataCiteXmlExporter

#: A vendored copy (see tests/data/datacite-4.6/NOTICE.md), so the tests need nothing beside
#: the clone.
XSD = Path(__file__).resolve().parents[1] / "data" / "datacite-4.6" / "metadata.xsd"
D = {"d": NS}


@pytest.fixture(scope="module")
def datacite_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def parsed(record, context, schema) -> etree._Element:
    document = etree.fromstring(DataCiteXmlExporter().render(record, context))
    schema.assertValid(document)
    return document


def test_collection_with_doi_validates(collection, context, datacite_schema):
    doc = parsed(collection, context, datacite_schema)
    assert doc.findtext("d:identifier", namespaces=D) == "10.5281/zenodo.123"
    assert doc.find("d:identifier", D).get("identifierType") == "DOI"
    names = doc.findall("d:creators/d:creator/d:creatorName", D)
    assert [(n.text, n.get("nameType")) for n in names] == [
        ("Doe, Jane", "Personal"),
        ("Imaging Core Laboratory", "Organizational"),
    ]
    rights = doc.find("d:rightsList/d:rights", D)
    assert rights.get("rightsIdentifier") == "CC-BY-4.0"
    assert rights.get("rightsURI") == "https://spdx.org/licenses/CC-BY-4.0"
    related = doc.find("d:relatedIdentifiers/d:relatedIdentifier", D)
    assert (related.text, related.get("relationType")) == ("10.1000/paper", "IsCitedBy")
    subject = doc.find("d:subjects/d:subject[@valueURI]", D)
    assert subject.get("valueURI") == "http://purl.obolibrary.org/obo/UBERON_0000955"


def test_acquisition_without_doi_or_creators_validates(embargoed, context, datacite_schema):
    doc = parsed(embargoed, context, datacite_schema)
    identifier = doc.find("d:identifier", D)
    assert (identifier.text, identifier.get("identifierType")) == (
        f"{BASE}/records/rat-01-t2",
        "URL",
    )
    assert doc.findtext("d:creators/d:creator/d:creatorName", namespaces=D) == ":unav"
    assert doc.find("d:dates/d:date[@dateType='Available']", D).text == "2999-01-01"
    rights = [r.get("rightsURI") for r in doc.findall("d:rightsList/d:rights", D)]
    assert "info:eu-repo/semantics/embargoedAccess" in rights
    technical = doc.find("d:descriptions/d:description[@descriptionType='TechnicalInfo']", D)
    assert "field strength (T): 9.4" in technical.text
    assert "voxel size (mm): 0.1 x 0.1 x 0.5" in technical.text
    parent = doc.find("d:relatedIdentifiers/d:relatedIdentifier[@relationType='IsPartOf']", D)
    assert parent.text == f"{BASE}/records/rat-01-ses-1"


def test_schema_rejects_a_broken_document(collection, context, datacite_schema):
    document = etree.fromstring(DataCiteXmlExporter().render(collection, context))
    document.remove(document.find("d:titles", D))
    assert not datacite_schema.validate(document)


def test_bibtex_entry(collection, context):
    text = BibtexExporter().render(collection, context)
    assert text.startswith("@misc{imagora_rat-study,\n")
    assert "  author = {Doe, Jane and {Imaging Core Laboratory}},\n" in text
    assert "  title = {{Rat brain MRI at 9.4 T}},\n" in text
    assert "  year = {2025},\n" in text
    assert "  doi = {10.5281/zenodo.123},\n" in text
    assert f"  url = {{{BASE}/records/rat-study}}" in text
    assert text.rstrip().endswith("}")


def test_bibtex_escapes_latex_specials():
    assert escape("50% of {x} & y_1 #2") == r"50\% of \{x\} \& y\_1 \#2"
