"""DCAT-AP 3.0 graphs: one record as a `dcat:Dataset`, the public collections as a
`dcat:Catalog`.

European data portals harvest DCAT-AP; the graphs built here pass the DCAT-AP 3.0.0 SHACL
shapes (tests validate them with pyshacl). The shapes check `sh:class` on the objects of
many properties without RDFS inference, so every linked resource is typed explicitly
(landing pages are `foaf:Document`, licences `dct:LicenseDocument`, access URLs
`rdfs:Resource`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS

from catalog.domain.enums import RelationType
from catalog.domain.records import RecordPublic
from exporters import facts
from exporters.base import MAX_LISTED_CHILDREN, ExportContext, Exporter

DCAT = Namespace("http://www.w3.org/ns/dcat#")  # DCAT 3 terms (rdflib's is DCAT 2)
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
EU_ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"

PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "skos": SKOS,
    "vcard": VCARD,
    "xsd": XSD,
    "rdfs": RDFS,
}
JSONLD_CONTEXT: dict[str, Any] = {name: str(ns) for name, ns in PREFIXES.items()}

_ACCESS_RIGHTS = {"open": "PUBLIC", "restricted": "RESTRICTED", "embargoed": "NON_PUBLIC"}
_REFERENCED_BY = {RelationType.IsCitedBy, RelationType.IsReferencedBy}


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def _time(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _typed(graph: Graph, iri: str, *classes: URIRef) -> URIRef:
    node = URIRef(iri)
    for cls in classes:
        graph.add((node, RDF.type, cls))
    return node


def publisher(graph: Graph, context: ExportContext) -> URIRef:
    agent = _typed(graph, f"{context.base_url}/#publisher", FOAF.Agent, FOAF.Organization)
    graph.add((agent, FOAF.name, Literal(context.publisher)))
    return agent


def _contact_point(graph: Graph, context: ExportContext) -> BNode:
    contact = BNode()
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, Literal(context.publisher)))
    graph.add((contact, VCARD.hasURL, URIRef(context.base_url + "/")))
    return contact


def _creators(graph: Graph, dataset: URIRef, record: RecordPublic) -> None:
    for creator in record.creators:
        agent = URIRef(facts.orcid_url(creator.orcid)) if creator.orcid else BNode()
        kind = FOAF.Person if facts.person_like(creator.name, creator.orcid) else FOAF.Organization
        graph.add((agent, RDF.type, FOAF.Agent))
        graph.add((agent, RDF.type, kind))
        graph.add((agent, FOAF.name, Literal(creator.name)))
        graph.add((dataset, DCTERMS.creator, agent))


def _themes(graph: Graph, dataset: URIRef, record: RecordPublic) -> None:
    """The EU "Health" data theme, plus the record's accepted ontology terms."""
    health = _typed(graph, str(EU_THEME.HEAL), SKOS.Concept)
    graph.add((health, SKOS.prefLabel, Literal("Health", lang="en")))
    graph.add((dataset, DCAT.theme, health))
    for term in record.terms:
        if term.status == "rejected" or not facts.is_url(term.iri):
            continue
        concept = _typed(graph, term.iri, SKOS.Concept)
        graph.add((concept, SKOS.prefLabel, Literal(term.label)))
        graph.add((dataset, DCAT.theme, concept))


def _license(graph: Graph, record: RecordPublic) -> URIRef | None:
    iri = facts.license_iri(record)
    if iri is None:
        return None
    licence = _typed(graph, iri, DCTERMS.LicenseDocument)
    title = facts.license_title(record.license)
    if title:
        graph.add((licence, RDFS.label, Literal(title)))
    return licence


def _distributions(graph: Graph, dataset: URIRef, record: RecordPublic, url: str) -> None:
    """The landing page (always; DCAT-AP needs an access URL) and each downloadable file."""
    licence = _license(graph, record)
    landing = _typed(graph, f"{url}#landing-page", DCAT.Distribution)
    graph.add((landing, DCTERMS.title, Literal("Landing page")))
    graph.add((landing, DCTERMS.description, Literal(_distribution_note(record))))
    graph.add((landing, DCAT.accessURL, _typed(graph, url, RDFS.Resource)))
    graph.add(
        (landing, DCTERMS["format"], _typed(graph, EU_FILE_TYPE.HTML, DCTERMS.MediaTypeOrExtent))
    )
    distributions = [landing]
    for number, entry in enumerate(facts.downloadable_files(record), start=1):
        node = _typed(graph, f"{url}#file-{number}", DCAT.Distribution)
        download = _typed(graph, entry.path, RDFS.Resource)
        graph.add((node, DCTERMS.title, Literal(entry.path.rsplit("/", 1)[-1] or entry.path)))
        graph.add((node, DCAT.accessURL, download))
        graph.add((node, DCAT.downloadURL, download))
        media = _typed(graph, IANA_MEDIA + facts.file_media_type(entry), DCTERMS.MediaType)
        graph.add((node, DCAT.mediaType, media))
        if entry.size is not None:
            graph.add((node, DCAT.byteSize, Literal(entry.size, datatype=XSD.nonNegativeInteger)))
        distributions.append(node)
    for node in distributions:
        graph.add((dataset, DCAT.distribution, node))
        if licence is not None:
            graph.add((node, DCTERMS.license, licence))


def _distribution_note(record: RecordPublic) -> str:
    return facts.access_conditions(record) or "Record landing page with metadata and files."


def _links(graph: Graph, dataset: URIRef, record: RecordPublic, context: ExportContext) -> None:
    if record.parents:
        graph.add(
            (dataset, DCTERMS.isPartOf, URIRef(facts.record_url(context, record.parents[-1].id)))
        )
    for child in list(context.children)[:MAX_LISTED_CHILDREN]:
        graph.add((dataset, DCTERMS.hasPart, URIRef(facts.record_url(context, child.id))))
    for rel in record.related:
        target = facts.related_url(rel.identifier, rel.scheme)
        if target is None:
            continue
        predicate = DCTERMS.isReferencedBy if rel.relation in _REFERENCED_BY else DCTERMS.relation
        graph.add((dataset, predicate, _typed(graph, target, RDFS.Resource)))


def _literals(graph: Graph, dataset: URIRef, record: RecordPublic, context: ExportContext) -> None:
    url = facts.record_url(context, record.id)
    graph.add((dataset, DCTERMS.title, Literal(record.title)))
    graph.add((dataset, DCTERMS.description, Literal(facts.description(record, context))))
    for doi in facts.dois(record):
        graph.add((dataset, DCTERMS.identifier, Literal(facts.DOI_RESOLVER + doi)))
    graph.add((dataset, DCTERMS.identifier, Literal(url)))
    graph.add((dataset, DCTERMS.issued, _time(record.created)))
    graph.add((dataset, DCTERMS.modified, _time(record.updated)))
    graph.add((dataset, DCAT.version, Literal(str(record.version))))
    for word in facts.keywords(record):
        graph.add((dataset, DCAT.keyword, Literal(word)))


def add_dataset(graph: Graph, record: RecordPublic, context: ExportContext) -> URIRef:
    """Add one record as a `dcat:Dataset` (with its agents and distributions) to `graph`."""
    url = facts.record_url(context, record.id)
    dataset = _typed(graph, url, DCAT.Dataset)
    _literals(graph, dataset, record, context)
    graph.add((dataset, DCAT.landingPage, _typed(graph, url, FOAF.Document)))
    graph.add((dataset, DCTERMS.publisher, publisher(graph, context)))
    graph.add((dataset, DCAT.contactPoint, _contact_point(graph, context)))
    rights = _typed(
        graph, EU_ACCESS[_ACCESS_RIGHTS[facts.files_access(record)]], DCTERMS.RightsStatement
    )
    graph.add((dataset, DCTERMS.accessRights, rights))
    _creators(graph, dataset, record)
    _themes(graph, dataset, record)
    _distributions(graph, dataset, record, url)
    _links(graph, dataset, record, context)
    return dataset


def record_graph(record: RecordPublic, context: ExportContext) -> Graph:
    graph = new_graph()
    add_dataset(graph, record, context)
    return graph


def catalog_graph(
    records: Iterable[RecordPublic], context: ExportContext, description: str | None = None
) -> Graph:
    """The `dcat:Catalog` of the given records (the caller passes only public ones)."""
    graph = new_graph()
    catalog = _typed(graph, f"{context.base_url}/catalog", DCAT.Catalog)
    graph.add((catalog, DCTERMS.title, Literal(context.catalog_title)))
    text = description or (
        f"{context.catalog_title}: a FAIR catalogue of in-vivo imaging data "
        "(MRI, PET, CT; clinical and preclinical)."
    )
    graph.add((catalog, DCTERMS.description, Literal(text)))
    graph.add((catalog, DCTERMS.publisher, publisher(graph, context)))
    graph.add((catalog, FOAF.homepage, _typed(graph, context.base_url + "/", FOAF.Document)))
    latest: datetime | None = None
    for record in records:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, record, context)))
        latest = record.updated if latest is None else max(latest, record.updated)
    if latest is not None:
        graph.add((catalog, DCTERMS.modified, _time(latest)))
    return graph


def to_turtle(graph: Graph) -> str:
    return graph.serialize(format="turtle")


def to_jsonld(graph: Graph) -> str:
    """JSON-LD with an inline prefix context (no remote context to fetch)."""
    return graph.serialize(format="json-ld", context=JSONLD_CONTEXT, indent=2)


class DcatTurtleExporter(Exporter):
    """One record as a DCAT-AP 3 `dcat:Dataset` in Turtle."""

    name = "turtle"
    media_type = "text/turtle"
    extension = "ttl"
    profile = "http://data.europa.eu/r5r/"

    def render(self, record: RecordPublic, context: ExportContext) -> str:
        return to_turtle(record_graph(record, context))
