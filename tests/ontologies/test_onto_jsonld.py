"""JSON-LD with vendored contexts only."""

from __future__ import annotations

import json
import re

import pytest
from rdflib import Literal, URIRef

from ontologies import jsonld
from ontologies.errors import RemoteContextError

SDO = "https://schema.org/"
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCAT_DATASET = URIRef("http://www.w3.org/ns/dcat#Dataset")
DCAT_THEME = URIRef("http://www.w3.org/ns/dcat#theme")
DCT_TITLE = URIRef("http://purl.org/dc/terms/title")


def test_schema_org_context_expands_locally() -> None:
    doc = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": "urn:d:1",
        "name": "Rat MRI",
    }
    assert jsonld.expand(doc) == [
        {"@id": "urn:d:1", "@type": [SDO + "Dataset"], SDO + "name": [{"@value": "Rat MRI"}]}
    ]
    graph = jsonld.to_rdf_graph(doc)
    assert (URIRef("urn:d:1"), RDF_TYPE, URIRef(SDO + "Dataset")) in graph
    assert (URIRef("urn:d:1"), URIRef(SDO + "name"), Literal("Rat MRI")) in graph


def test_dcat_ap_context_expands_locally() -> None:
    doc = {
        "@context": jsonld.DCAT_AP_3_CONTEXT,
        "@id": "urn:d:2",
        "@type": "Dataset",
        "Dataset.title": ["Mouse DWI"],
        "Dataset.theme": ["http://purl.obolibrary.org/obo/OBI_0003335"],
    }
    graph = jsonld.to_rdf_graph(doc)
    subject = URIRef("urn:d:2")
    assert (subject, RDF_TYPE, DCAT_DATASET) in graph
    assert (subject, DCT_TITLE, Literal("Mouse DWI")) in graph
    assert (subject, DCAT_THEME, URIRef("http://purl.obolibrary.org/obo/OBI_0003335")) in graph


def test_vendored_dcat_ap_file_is_the_upstream_copy() -> None:
    from pathlib import Path

    # ../shared beside the checkout holds the upstream file when it is there (CI has it)
    upstream = Path(__file__).resolve().parents[3] / "shared/schemas/dcat-ap-3.0.0/dcat-ap.jsonld"
    vendored = jsonld.CONTEXT_DIR / "dcat-ap-3.0.0.jsonld"
    if upstream.exists():
        assert vendored.read_bytes() == upstream.read_bytes()
    assert "Dataset" in json.loads(vendored.read_text(encoding="utf-8"))["@context"]
    assert "CC BY 4.0" in (jsonld.CONTEXT_DIR / "NOTICE.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "doc",
    [
        {"@context": "https://example.org/context.jsonld", "name": "x"},
        {"@context": {"@import": "https://w3id.org/other"}, "name": "x"},
        {"@context": ["https://schema.org/", "http://remote.example/ctx"], "name": "x"},
    ],
)
def test_remote_contexts_are_refused_with_a_clear_error(doc: dict) -> None:
    with pytest.raises(RemoteContextError, match="refusing to fetch JSON-LD context") as info:
        jsonld.expand(doc)
    assert "ontologies/data/contexts/" in info.value.message
    assert info.value.status == 422
    with pytest.raises(RemoteContextError):
        jsonld.to_rdf_graph(doc)


def test_loader_refuses_directly() -> None:
    with pytest.raises(RemoteContextError, match=re.escape("https://evil.example/")):
        jsonld.local_document_loader("https://evil.example/")
    served = jsonld.local_document_loader("https://schema.org/")
    assert served["document"] == {"@context": {"@vocab": SDO}}


def test_compact_and_nquads_use_local_contexts() -> None:
    expanded = [{"@id": "urn:d:3", SDO + "name": [{"@value": "PET", "@language": "en"}]}]
    compacted = jsonld.compact(expanded, "https://schema.org/")
    assert compacted["name"] == {"@value": "PET", "@language": "en"}
    assert jsonld.to_nquads(expanded) == '<urn:d:3> <https://schema.org/name> "PET"@en .\n'
    (triple,) = jsonld.to_rdf_graph(expanded)
    assert triple[2] == Literal("PET", lang="en")
