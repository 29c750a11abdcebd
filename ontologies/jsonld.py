"""JSON-LD processing with vendored contexts only: no network access at run time.

pyld normally dereferences `@context` URLs over HTTP. Imagora's exporters and tests must
work offline and must not depend on third-party servers, so every pyld call here goes
through `local_document_loader`, which serves the contexts vendored under
`ontologies/data/contexts/` (see NOTICE.md there for sources and licences) and refuses any
other URL with a `RemoteContextError` that names the URL and how to vendor it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pyld import jsonld
from rdflib import BNode, Graph, Literal, URIRef

from ontologies.errors import RemoteContextError

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
CONTEXT_DIR = Path(__file__).resolve().parent / "data" / "contexts"

SCHEMA_ORG_CONTEXT = "https://schema.org/"
DCAT_AP_3_CONTEXT = "https://semiceu.github.io/DCAT-AP/releases/3.0.0/context/dcat-ap.jsonld"

#: Context URL -> vendored file name.
CONTEXTS: dict[str, str] = {
    "https://schema.org": "schema-org.jsonld",
    "https://schema.org/": "schema-org.jsonld",
    "http://schema.org": "schema-org.jsonld",
    "http://schema.org/": "schema-org.jsonld",
    "https://schema.org/docs/jsonldcontext.json": "schema-org.jsonld",
    "https://schema.org/docs/jsonldcontext.jsonld": "schema-org.jsonld",
    DCAT_AP_3_CONTEXT: "dcat-ap-3.0.0.jsonld",
}


@functools.lru_cache(maxsize=16)
def _read_context(file_name: str) -> str:
    return (CONTEXT_DIR / file_name).read_text(encoding="utf-8")


def _repair(document: dict[str, Any]) -> dict[str, Any]:
    """Drop context terms that JSON-LD 1.1 processors reject, leaving the rest untouched.

    The published DCAT-AP 3.0.0 context defines terms such as `Xsd:dateTime`: they look
    like compact IRIs with an undefined prefix, so they must expand to themselves, and pyld
    refuses the whole context. Those five terms are unused by DCAT-AP documents; the
    vendored file stays byte-identical to the upstream release and is repaired here.
    """
    context = document.get("@context")
    if not isinstance(context, dict):
        return document
    prefixes = {k for k, v in context.items() if isinstance(v, str) and v.endswith(("/", "#"))}
    kept = {
        key: value
        for key, value in context.items()
        if ":" not in key or key.startswith("@") or key.split(":", 1)[0] in prefixes
    }
    return {**document, "@context": kept}


def load_context(url: str) -> dict[str, Any]:
    """The vendored JSON document for a context URL (a fresh copy each call)."""
    file_name = CONTEXTS.get(url)
    if file_name is None:
        known = ", ".join(sorted(CONTEXTS))
        raise RemoteContextError(
            f"refusing to fetch JSON-LD context {url!r}: Imagora resolves contexts offline only. "
            f"Vendored contexts: {known}. To support another, save it under "
            "ontologies/data/contexts/ and add it to ontologies.jsonld.CONTEXTS."
        )
    return _repair(json.loads(_read_context(file_name)))


def local_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader serving vendored contexts and refusing everything else."""
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
        "contentType": "application/ld+json",
    }


def _options(**extra: Any) -> dict[str, Any]:
    return {"documentLoader": local_document_loader, **extra}


def _refusal(exc: BaseException) -> RemoteContextError | None:
    """The `RemoteContextError` buried in pyld's wrapped exceptions, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RemoteContextError):
            return current
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None


def _run(function: Any, doc: Any, **extra: Any) -> Any:
    try:
        return function(doc, _options(**extra))
    except jsonld.JsonLdError as exc:
        refusal = _refusal(exc)
        if refusal is not None:
            raise refusal from exc
        raise


def expand(doc: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """JSON-LD expansion with local contexts only."""
    return _run(jsonld.expand, doc)


def compact(doc: dict[str, Any] | list[Any], context: Any) -> dict[str, Any]:
    """JSON-LD compaction against `context` (a dict or a vendored context URL)."""
    return _run(lambda d, options: jsonld.compact(d, context, options), doc)


def to_nquads(doc: dict[str, Any] | list[Any]) -> str:
    """The document's RDF as canonical-order N-Quads text."""
    return _run(jsonld.to_rdf, doc, format="application/n-quads")


def to_rdf_graph(doc: dict[str, Any] | list[Any]) -> Graph:
    """The document's RDF as an rdflib `Graph` (named graphs merged into one)."""
    dataset = _run(jsonld.to_rdf, doc)
    graph = Graph()
    for triples in dataset.values():
        for triple in triples:
            graph.add(
                (_node(triple["subject"]), _node(triple["predicate"]), _node(triple["object"]))
            )
    return graph


def _node(node: dict[str, str]) -> URIRef | BNode | Literal:
    """An rdflib term from pyld's RDF dataset node dictionary."""
    if node["type"] == "IRI":
        return URIRef(node["value"])
    if node["type"] == "blank node":
        return BNode(node["value"].removeprefix("_:"))
    if node.get("language"):
        return Literal(node["value"], lang=node["language"])
    datatype = node.get("datatype")
    if datatype == _XSD_STRING:
        return Literal(node["value"])
    return Literal(node["value"], datatype=URIRef(datatype) if datatype else None)
