"""DCAT-AP 3 graphs: every record graph and the catalogue pass the SHACL shapes."""

from __future__ import annotations

import pyshacl
from exporter_samples import BASE, child
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS

from exporters import dcat
from exporters.base import ExportContext

DATASET = URIRef(f"{BASE}/records/rat-study")


def violations(graph: Graph, shapes: Graph) -> str:
    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes)
    return "" if conforms else text


def test_collection_graph_conforms(collection, dcat_shapes):
    context = ExportContext(base_url=BASE, children=(child("rat-01", "Subject rat-01"),))
    graph = dcat.record_graph(collection, context)
    assert violations(graph, dcat_shapes) == ""
    assert (DATASET, RDF.type, dcat.DCAT.Dataset) in graph
    assert (DATASET, DCTERMS.hasPart, URIRef(f"{BASE}/records/rat-01")) in graph
    licences = set(graph.objects(None, DCTERMS.license))
    assert licences == {URIRef("http://spdx.org/licenses/CC-BY-4.0")}
    assert URIRef("http://purl.obolibrary.org/obo/UBERON_0000955") in set(
        graph.objects(DATASET, dcat.DCAT.theme)
    )


def test_acquisition_and_embargoed_graphs_conform(acquisition, embargoed, context, dcat_shapes):
    open_graph = dcat.record_graph(acquisition, context)
    assert violations(open_graph, dcat_shapes) == ""
    downloads = set(open_graph.objects(None, dcat.DCAT.downloadURL))
    assert downloads == {URIRef("https://data.example.org/rat/T2w.nii.gz")}
    closed = dcat.record_graph(embargoed, context)
    assert violations(closed, dcat_shapes) == ""
    assert set(closed.objects(None, dcat.DCAT.downloadURL)) == set()
    rights = closed.value(URIRef(f"{BASE}/records/rat-01-t2"), DCTERMS.accessRights)
    assert str(rights).endswith("/access-right/NON_PUBLIC")


def test_catalog_graph_conforms(collection, acquisition, context, dcat_shapes):
    graph = dcat.catalog_graph([collection, acquisition], context)
    assert violations(graph, dcat_shapes) == ""
    catalog = URIRef(f"{BASE}/catalog")
    assert len(set(graph.objects(catalog, dcat.DCAT.dataset))) == 2
    assert graph.value(catalog, DCTERMS.publisher) is not None


def test_shapes_do_catch_a_broken_graph(collection, context, dcat_shapes):
    graph = dcat.record_graph(collection, context)
    graph.remove((DATASET, DCTERMS.description, None))
    distribution = URIRef(f"{BASE}/records/rat-study#landing-page")
    graph.remove((distribution, dcat.DCAT.accessURL, None))
    report = violations(graph, dcat_shapes)
    assert "Results (2)" in report
    assert "->dcat:accessURL" in report
    assert "rat-study>->dc1:description" in report  # the shapes bind dct: as dc1:


def test_turtle_and_jsonld_round_trip(collection, context):
    graph = dcat.record_graph(collection, context)
    again = Graph().parse(data=dcat.to_turtle(graph), format="turtle")
    assert len(again) == len(graph)
    from_jsonld = Graph().parse(data=dcat.to_jsonld(graph), format="json-ld")
    assert len(from_jsonld) == len(graph)
