"""schema.org Dataset JSON-LD: Google Dataset Search properties, parsed offline as RDF."""

from __future__ import annotations

import json

from exporter_samples import BASE, child
from rdflib import Literal, Namespace, URIRef

from exporters.base import ExportContext
from exporters.schemaorg import SchemaOrgExporter, dataset, script_tag
from ontologies.jsonld import to_rdf_graph

SDO = Namespace("https://schema.org/")


def test_required_and_recommended_properties(collection, context):
    doc = dataset(collection, context)
    assert doc["@context"] == "https://schema.org/"
    assert doc["@type"] == "Dataset"
    assert doc["name"] == "Rat brain MRI at 9.4 T"
    assert doc["url"] == f"{BASE}/records/rat-study"
    assert doc["identifier"] == ["https://doi.org/10.5281/zenodo.123", f"{BASE}/records/rat-study"]
    assert doc["license"] == "https://spdx.org/licenses/CC-BY-4.0"
    assert doc["creator"][0] == {
        "@type": "Person",
        "name": "Doe, Jane",
        "@id": "https://orcid.org/0000-0002-1825-0097",
        "sameAs": "https://orcid.org/0000-0002-1825-0097",
        "affiliation": {"@type": "Organization", "name": "Inria"},
    }
    assert doc["creator"][1] == {"@type": "Organization", "name": "Imaging Core Laboratory"}
    assert doc["includedInDataCatalog"] == {
        "@type": "DataCatalog",
        "name": "Imagora",
        "url": f"{BASE}/",
    }
    assert doc["citation"] == ["https://doi.org/10.1000/paper"]
    assert doc["sameAs"] == ["https://other.example.org/ds/9"]
    assert doc["keywords"] == ["rat", "brain"]  # the term label "brain" is not repeated
    assert doc["dateCreated"].startswith("2025-03-04T10:30:00")
    assert doc["isAccessibleForFree"] is True
    assert "conditionsOfAccess" not in doc


def test_short_description_is_padded_with_facts(acquisition, context):
    doc = dataset(acquisition, context)
    assert len(doc["description"]) >= 50
    assert doc["description"].startswith(
        "Acquisition record 'T2 RARE'. Magnetic resonance imaging at 9.4 T on a Bruker scanner,"
        " sequence RARE, species Rattus norvegicus. Part of 'Session 1'."
    )
    assert doc["measurementTechnique"] == ["Magnetic resonance imaging", "RARE"]
    assert {"MR", "RARE", "Rattus norvegicus"} <= set(doc["keywords"])
    assert doc["variableMeasured"] == [{"@type": "PropertyValue", "name": "T2w image intensity"}]
    assert doc["isPartOf"]["@id"] == f"{BASE}/records/rat-01-ses-1"


def test_distribution_lists_downloadable_files_only_when_open(acquisition, embargoed, context):
    open_doc = dataset(acquisition, context)
    assert open_doc["distribution"] == [
        {
            "@type": "DataDownload",
            "contentUrl": "https://data.example.org/rat/T2w.nii.gz",
            "encodingFormat": "application/x-nifti-gz",
            "contentSize": "123456 B",
        }
    ]
    closed = dataset(embargoed, context)
    assert "distribution" not in closed
    assert closed["isAccessibleForFree"] is False
    assert closed["conditionsOfAccess"] == "Files are under embargo until 2999-01-01."


def test_has_part_lists_the_children_given(collection):
    context = ExportContext(base_url=BASE, children=(child("s1", "Rat 1"), child("s2", "Rat 2")))
    parts = dataset(collection, context)["hasPart"]
    assert [p["@id"] for p in parts] == [f"{BASE}/records/s1", f"{BASE}/records/s2"]
    assert parts[0]["name"] == "Rat 1"


def test_parses_offline_as_rdf(collection, context):
    text = SchemaOrgExporter().render(collection, context)
    graph = to_rdf_graph(json.loads(text))  # vendored schema.org context, no network
    node = URIRef(f"{BASE}/records/rat-study")
    assert (node, SDO.name, Literal("Rat brain MRI at 9.4 T")) in graph
    assert (node, SDO.license, Literal("https://spdx.org/licenses/CC-BY-4.0")) in graph or (
        node,
        SDO.license,
        URIRef("https://spdx.org/licenses/CC-BY-4.0"),
    ) in graph
    creators = list(graph.objects(node, SDO.creator))
    assert len(creators) == 2


def test_script_tag_cannot_be_closed_by_record_text(collection, context):
    hostile = collection.model_copy(update={"title": "</script><script>alert(1)</script>"})
    tag = script_tag(hostile, context)
    assert tag.count("</script>") == 1 and tag.endswith("</script>")
    body = tag.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert json.loads(body)["name"] == "</script><script>alert(1)</script>"
