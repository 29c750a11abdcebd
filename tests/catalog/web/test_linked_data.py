"""Linked data through HTTP: JSON-LD in pages, Signposting, negotiation, DCAT-AP, sitemap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyshacl
import pytest
from lxml import etree
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from exporters.dcat import DCAT
from ontologies.jsonld import to_rdf_graph

SHAPES = Path(__file__).resolve().parents[2] / "data" / "dcat-ap" / "dcat-ap-SHACL.ttl"
SDO = Namespace("https://schema.org/")
BASE = "http://testserver"
SCRIPT_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
FORMATS = {
    "application/ld+json": ".jsonld",
    "text/turtle": ".ttl",
    "application/vnd.datacite.datacite+xml": ".xml",
    "application/x-bibtex": ".bib",
}


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES)


def test_landing_page_embeds_schema_org_dataset(client, ids):
    response = client.get(f"/records/{ids.study}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    blocks = SCRIPT_RE.findall(response.text)
    assert len(blocks) == 1
    doc = json.loads(blocks[0])
    assert (doc["@context"], doc["@type"], doc["name"]) == (
        "https://schema.org/",
        "Dataset",
        "Rat brain MRI at 9.4 T",
    )
    assert [part["@id"] for part in doc["hasPart"]] == [f"{BASE}/records/{ids.subject}"]
    graph = to_rdf_graph(doc)
    assert (URIRef(f"{BASE}/records/{ids.study}"), SDO.name, Literal(doc["name"])) in graph


def test_signposting_link_headers(client, ids):
    link = client.get(f"/records/{ids.study}").headers["link"]
    assert '<https://doi.org/10.5281/zenodo.123> ; rel="cite-as"' in link
    assert '<https://schema.org/Dataset> ; rel="type"' in link
    assert '<https://orcid.org/0000-0002-1825-0097> ; rel="author"' in link
    assert '<https://spdx.org/licenses/CC-BY-4.0> ; rel="license"' in link
    for media, suffix in FORMATS.items():
        assert f'<{BASE}/records/{ids.study}{suffix}> ; rel="describedby" ; type="{media}"' in link
    scan_link = client.get(f"/records/{ids.t2}").headers["link"]
    assert '<https://data.example.org/rat/T2w.nii.gz> ; rel="item"' in scan_link


@pytest.mark.parametrize("media", list(FORMATS))
def test_content_negotiation_and_suffix_urls_agree(client, ids, media):
    negotiated = client.get(f"/records/{ids.t2}", headers={"Accept": media})
    assert negotiated.status_code == 200
    assert negotiated.headers["content-type"].split(";")[0] == media
    assert negotiated.headers["vary"] == "Accept"
    assert 'rel="cite-as"' in negotiated.headers["link"]
    suffixed = client.get(f"/records/{ids.t2}{FORMATS[media]}")
    assert suffixed.status_code == 200
    assert suffixed.content == negotiated.content


def test_negotiated_formats_carry_the_record(client, ids):
    turtle = client.get(f"/records/{ids.t2}", headers={"Accept": "text/turtle"}).text
    graph = Graph().parse(data=turtle, format="turtle")
    node = URIRef(f"{BASE}/records/{ids.t2}")
    assert (node, DCTERMS.title, Literal("T2 RARE anatomical")) in graph
    assert (node, DCTERMS.isPartOf, URIRef(f"{BASE}/records/{ids.session}")) in graph
    xml = client.get(f"/records/{ids.t2}.xml").content
    title = etree.fromstring(xml).findtext("{http://datacite.org/schema/kernel-4}titles/*")
    assert title == "T2 RARE anatomical"
    assert client.get(f"/records/{ids.study}.bib").text.startswith("@misc{imagora_rat-study,")


def test_browsers_get_html(client, ids):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get(f"/records/{ids.t2}", headers={"Accept": accept})
    assert response.headers["content-type"].startswith("text/html")


def test_restricted_records_stay_hidden(client, ids, tokens):
    for path in (f"/records/{ids.secret}", f"/records/{ids.secret}.jsonld"):
        response = client.get(path, headers={"Accept": "application/ld+json"})
        assert response.status_code == 404
        assert "Confidential" not in response.text
    allowed = client.get(f"/records/{ids.secret}.jsonld", headers=tokens.header(tokens.bob))
    assert allowed.status_code == 200
    assert allowed.json()["name"] == "Confidential mouse study"
    doc = client.get(f"/records/{ids.secret_scan}.ttl", headers=tokens.header(tokens.bob))
    assert doc.status_code == 200


def test_dcat_catalogue_lists_public_collections_and_conforms(client, ids, shapes):
    response = client.get("/catalog.ttl")
    assert response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    catalog = URIRef(f"{BASE}/catalog")
    assert set(graph.objects(catalog, DCAT.dataset)) == {URIRef(f"{BASE}/records/{ids.study}")}
    assert "Confidential" not in response.text and "Withdrawn" not in response.text
    conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes)
    assert conforms, report
    as_jsonld = Graph().parse(data=client.get("/catalog.jsonld").text, format="json-ld")
    assert len(as_jsonld) == len(graph)


@pytest.mark.parametrize("attr", ["study", "subject", "session", "t2", "pet"])
def test_every_record_graph_conforms(client, ids, shapes, attr):
    turtle = client.get(f"/records/{getattr(ids, attr)}.ttl").text
    conforms, _, report = pyshacl.validate(
        Graph().parse(data=turtle, format="turtle"), shacl_graph=shapes
    )
    assert conforms, report


def test_sitemap(client, ids):
    response = client.get("/sitemap.xml")
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [el.text for el in root.findall("s:url/s:loc", ns)]
    public = {ids.study, ids.subject, ids.session, ids.t2, ids.pet}
    assert {f"{BASE}/records/{i}" for i in public} <= set(locs)
    hidden = {ids.secret, ids.secret_scan, ids.gone}
    assert not {f"{BASE}/records/{i}" for i in hidden} & set(locs)
    lastmods = root.findall("s:url/s:lastmod", ns)
    assert lastmods and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", el.text) for el in lastmods)
