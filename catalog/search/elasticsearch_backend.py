"""Elasticsearch 8 search backend over the REST API (httpx), for larger installations.

Same behaviour as the tantivy backend: the query's conjuncts (from `catalog.search.syntax`
or the service) become one ``must`` / ``must_not`` clause each (never `query_string`),
facets come from one request with a filtered terms aggregation per facet (facet filters
in ``post_filter``, so filtered facets keep their siblings), and the caller's
`reader_keys` filter sits inside the bool query so that hits, totals and aggregations
all exclude what the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from catalog.domain.errors import ConfigurationError, ImagoraError
from catalog.domain.records import FacetValue, RecordSummary
from catalog.domain.search import (
    FACET_FIELDS,
    NUMERIC_FIELDS,
    Conjunct,
    FieldAtom,
    IndexDocument,
    RangeAtom,
    SearchQuery,
    SearchResult,
    TextAtom,
)
from catalog.search.base import SearchBackend
from catalog.search.query import (
    TEXT_FIELDS,
    TextClause,
    check_filters,
    check_paging,
    concept_explanation,
    concept_weight,
    facet_key,
    facet_label,
    has_content,
    merge_facet_buckets,
    summary_fields,
    title_sort_key,
    tokenize,
    updated_sort_key,
)
from catalog.search.syntax import parse_query

FACET_SIZE = 200
_KEYWORD_FIELDS = (
    "id",
    "parent_id",
    "collection_id",
    "ancestors",
    "readers",
    "status",
    "terms",
    "rollup_terms",
    "closure",
)
_SORTS: dict[str, list[Any]] = {
    "relevance": ["_score", {"id": "asc"}],
    "title": [{"k_title": "asc"}],
    "updated": [{"k_updated": "asc"}],
}


class SearchServiceError(ImagoraError):
    """The Elasticsearch server refused or failed a request."""

    status = 502
    code = "search_unavailable"


def index_mapping() -> dict[str, Any]:
    """Index settings and mapping: folded text fields, keyword filters and facets."""
    properties: dict[str, Any] = {
        name: {"type": "text", "analyzer": "imagora"} for name in TEXT_FIELDS
    }
    properties.update({name: {"type": "keyword"} for name in _KEYWORD_FIELDS})
    for name in FACET_FIELDS:
        properties[f"f_{name}"] = {"type": "keyword"}
        properties[f"fk_{name}"] = {"type": "keyword"}
    for name in NUMERIC_FIELDS:
        properties[f"n_{name}"] = {"type": "double"}
    properties["k_title"] = {"type": "keyword"}
    properties["k_updated"] = {"type": "keyword"}
    properties["summary"] = {"type": "object", "enabled": False}
    properties["term_details"] = {"type": "object", "enabled": False}
    analyzer = {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
    return {
        "settings": {"analysis": {"analyzer": {"imagora": analyzer}}},
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def es_document(doc: IndexDocument) -> dict[str, Any]:
    """The JSON source stored for one record (filters match lower-cased values, labels
    and aliases in ``f_*``; facets count ``fk_*``; ranges use ``n_*``)."""
    source: dict[str, Any] = {
        "id": doc.id,
        "title": doc.title,
        "description": doc.description,
        "text": doc.text,
        "term_text": doc.term_text,
        "parent_id": doc.parent_id,
        "collection_id": doc.collection_id,
        "ancestors": list(doc.ancestors),
        "readers": list(doc.readers),
        "status": doc.status,
        "terms": list(doc.terms),
        "rollup_terms": list(doc.rollup_terms),
        "k_title": title_sort_key(doc),
        "k_updated": updated_sort_key(doc),
        "summary": summary_fields(doc),
        "term_details": doc.term_details,
        "closure": list(doc.term_closure),
    }
    facets = {"level": doc.level, **doc.facets}
    for name in FACET_FIELDS:
        value = facets.get(name)
        lookups = filter_values(doc, name, value)
        if lookups:
            source[f"f_{name}"] = lookups
        if value:
            source[f"fk_{name}"] = facet_key(name, value, doc.facet_labels)
    for name, values in doc.numbers.items():
        if name in NUMERIC_FIELDS and values:
            source[f"n_{name}"] = [float(v) for v in values]
    return source


def filter_values(doc: IndexDocument, name: str, value: str | None) -> list[str]:
    """What a filter on facet `name` matches, lower-cased (as in the tantivy backend)."""
    found = [value, facet_label(name, value, doc.facet_labels)] if value else []
    found += doc.extra_facets.get(name, [])
    return sorted({v.strip().lower() for v in found if v and v.strip()})


def clause_query(clause: TextClause) -> dict[str, Any]:
    """One text clause over the boosted fields (best field wins, like tantivy's dismax)."""
    kind = {"term": "best_fields", "phrase": "phrase", "prefix": "phrase_prefix"}[clause.kind]
    body: dict[str, Any] = {
        "query": " ".join(clause.tokens),
        "fields": [f"{name}^{boost:g}" for name, boost in TEXT_FIELDS.items()],
        "type": kind,
        "tie_breaker": 0.2,
    }
    if clause.kind == "term":
        body["operator"] = "and"
    return {"multi_match": body}


def atom_query(atom: Any) -> dict[str, Any] | None:
    """One atom of a conjunct (None: it can match nothing, e.g. a word of punctuation)."""
    if isinstance(atom, TextAtom):
        tokens = tuple(tokenize(atom.text))
        if not tokens:
            return None
        kind = "prefix" if atom.kind == "prefix" else "phrase" if len(tokens) > 1 else "term"
        return clause_query(TextClause(kind, tokens))  # type: ignore[arg-type]
    if isinstance(atom, FieldAtom):
        values = sorted({v.strip().lower() for v in atom.values if v.strip()})
        return _constant({"terms": {f"f_{atom.field}": values}}, 1.0)
    if isinstance(atom, RangeAtom):
        bounds = {k: v for k, v in (("gte", atom.low), ("lte", atom.high)) if v is not None}
        return _constant({"range": {f"n_{atom.field}": bounds}}, 1.0)
    iris = [iri for iri in atom.iris if iri]
    if not iris:
        return None
    either = {"bool": {"should": [{"terms": {"terms": iris}}, {"terms": {"rollup_terms": iris}}]}}
    return _constant(either, concept_weight(atom.direct, atom.boost))


def _constant(condition: dict[str, Any], boost: float) -> dict[str, Any]:
    return {"constant_score": {"filter": condition, "boost": boost}}


def conjunct_query(conjunct: Conjunct) -> dict[str, Any]:
    """Any atom of the conjunct (an empty `should` of a conjunct matches nothing)."""
    found = [q for q in (atom_query(a) for a in conjunct.atoms) if q is not None]
    if len(found) == 1:
        return found[0]
    return {"bool": {"should": found, "minimum_should_match": 1}}


def build_search_body(
    query: SearchQuery, conjuncts: Sequence[Conjunct], offset: int, size: int
) -> dict[str, Any]:
    """The `_search` request body for one query (hits, total and facets together).

    Facet filters sit in ``post_filter`` and each facet's aggregation applies the other
    facets' filters only, so a filtered facet keeps its siblings with their counts.
    """
    must = [conjunct_query(c) for c in conjuncts if not c.negated]
    must_not = [conjunct_query(c) for c in conjuncts if c.negated]
    if not query.include_withdrawn:
        must_not.append({"term": {"status": "withdrawn"}})
    facet_filters, other_filters = _filters(query)
    bool_query: dict[str, Any] = {"filter": other_filters, "must": must, "must_not": must_not}
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "sort": _SORTS[query.sort] if must or query.sort != "relevance" else [{"id": "asc"}],
        "_source": ["summary", "terms", "term_details"],
    }
    if facet_filters:
        body["post_filter"] = {"bool": {"filter": list(facet_filters.values())}}
    if query.with_facets:
        body["aggs"] = _aggregations(query, facet_filters)
    return body


def _aggregations(query: SearchQuery, facet_filters: dict[str, Any]) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name in FACET_FIELDS:
        own = {"terms": {"field": f"fk_{name}", "size": FACET_SIZE}}
        missing = {"missing": {"field": f"fk_{name}"}}
        others = [f for n, f in facet_filters.items() if n != name or not query.disjunctive_facets]
        aggs[name] = {
            "filter": {"bool": {"filter": others}},
            "aggs": {"values": own, "missing": missing},
        }
    if query.with_term_counts:
        aggs["closure"] = {
            "filter": {"bool": {"filter": list(facet_filters.values())}},
            "aggs": {"values": {"terms": {"field": "closure", "size": 5000}}},
        }
    return aggs


def _filters(query: SearchQuery) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(facet name -> its filter, for post_filter; every other filter)."""
    facets: dict[str, Any] = {}
    others: list[dict[str, Any]] = []
    for name, values in check_filters(query.filters).items():
        if name in FACET_FIELDS:
            facets[name] = {"terms": {f"f_{name}": sorted({v.strip().lower() for v in values})}}
        else:
            others.append({"terms": {name: values}})
    if query.parent_id is not None:
        others.append({"term": {"parent_id": query.parent_id}})
    if query.reader_keys is not None:
        others.append({"terms": {"readers": [key for key in query.reader_keys if key]}})
    return facets, others


def _conjuncts(query: SearchQuery) -> tuple[Conjunct, ...]:
    if query.conjuncts is not None:
        return query.conjuncts
    found = list(parse_query(query.text)) if query.text.strip() else []
    if query.concepts:
        found.append(Conjunct(atoms=tuple(query.concepts)))
    return tuple(found)


class ElasticsearchBackend(SearchBackend):
    """Records in one Elasticsearch index (`index_name`) at `url`."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        index_name: str = "imagora-records",
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"IMAGORA_SEARCH_URL '{url}' must start with http:// or https://"
            )
        self.index_name = index_name
        self._client = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._pending: list[bytes] = []
        self._ready = False

    # -- plumbing -----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SearchServiceError(f"cannot reach Elasticsearch: {exc}") from exc
        if response.status_code >= 400:
            raise SearchServiceError(
                f"Elasticsearch answered {response.status_code} to {method} {path}: "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else {}

    def _ensure_index(self) -> None:
        if self._ready:
            return
        try:
            response = self._client.head(f"/{self.index_name}")
        except httpx.HTTPError as exc:
            raise SearchServiceError(f"cannot reach Elasticsearch: {exc}") from exc
        if response.status_code == 404:
            self._request("PUT", f"/{self.index_name}", json=index_mapping())
        elif response.status_code >= 400:
            raise SearchServiceError(
                f"Elasticsearch answered {response.status_code} to HEAD /{self.index_name}: "
                f"{response.text[:500]}"
            )
        self._ready = True

    # -- writing ------------------------------------------------------------------------

    def index(self, docs: Sequence[IndexDocument]) -> None:
        for doc in docs:
            self._pending.append(
                orjson.dumps({"index": {"_index": self.index_name, "_id": doc.id}})
            )
            self._pending.append(orjson.dumps(es_document(doc)))

    def delete(self, ids: Sequence[str]) -> None:
        for record_id in ids:
            self._pending.append(
                orjson.dumps({"delete": {"_index": self.index_name, "_id": record_id}})
            )

    def commit(self) -> None:
        """Send pending writes as one bulk request, then refresh so searches see them."""
        self._ensure_index()
        if self._pending:
            body = b"\n".join(self._pending) + b"\n"
            self._pending = []
            answer = self._request(
                "POST", "/_bulk", content=body, headers={"Content-Type": "application/x-ndjson"}
            )
            if answer.get("errors"):
                raise SearchServiceError(f"bulk indexing failed: {_first_bulk_error(answer)}")
        self._request("POST", f"/{self.index_name}/_refresh")

    def clear(self) -> None:
        self._pending = []
        self._client.delete(f"/{self.index_name}")
        self._ready = False
        self._ensure_index()

    def refresh(self) -> None:
        self._ensure_index()
        self._request("POST", f"/{self.index_name}/_refresh")

    def close(self) -> None:
        self._pending = []
        self._client.close()

    # -- searching ----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        offset, size = check_paging(query)
        conjuncts = _conjuncts(query)
        if not conjuncts and has_content(query.text) and query.conjuncts is None:
            facets = {name: [] for name in FACET_FIELDS} if query.with_facets else {}
            return SearchResult(total=0, hits=[], facets=facets)
        self._ensure_index()
        body = build_search_body(query, conjuncts, offset, size)
        answer = self._request("POST", f"/{self.index_name}/_search", json=body)
        return parse_search_answer(answer, query)

    def suggest_terms(self, words: Sequence[str], reader_keys: list[str] | None) -> dict[str, int]:
        """Close index words from Elasticsearch's term suggester (document frequencies
        over all records: the service recounts each suggestion for the caller and drops
        those the caller would not find)."""
        if not words:
            return {}
        self._ensure_index()
        answer = self._request("POST", f"/{self.index_name}/_search", json=suggest_body(words))
        return parse_suggestions(answer)


def suggest_body(words: Sequence[str]) -> dict[str, Any]:
    """An Elasticsearch term-suggester request: close index words for each word, in the
    text fields (the service recounts every suggestion with the caller's visibility)."""
    suggest: dict[str, Any] = {}
    for at, word in enumerate(words):
        for name in TEXT_FIELDS:
            suggest[f"w{at}_{name}"] = {
                "text": word,
                "term": {"field": name, "suggest_mode": "always", "max_edits": 2, "size": 5},
            }
    return {"size": 0, "suggest": suggest}


def parse_suggestions(answer: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for entries in answer.get("suggest", {}).values():
        for entry in entries:
            for option in entry.get("options", []):
                term = str(option.get("text", ""))
                found[term] = max(found.get(term, 0), int(option.get("freq", 0)))
    return found


def parse_search_answer(answer: dict[str, Any], query: SearchQuery) -> SearchResult:
    """Turn an Elasticsearch `_search` response into a `SearchResult`."""
    hits_part = answer.get("hits", {})
    hits = [_summary(hit, query) for hit in hits_part.get("hits", [])]
    total = int(hits_part.get("total", {}).get("value", 0))
    facets: dict[str, list[FacetValue]] = {}
    missing: dict[str, int] = {}
    aggregations = answer.get("aggregations", {})
    if query.with_facets:
        for name in FACET_FIELDS:
            part = aggregations.get(name, {})
            buckets = part.get("values", {}).get("buckets", [])
            facets[name] = merge_facet_buckets((b["key"], int(b["doc_count"])) for b in buckets)
            missing[name] = int(part.get("missing", {}).get("doc_count", 0))
    closure = aggregations.get("closure", {}).get("values", {}).get("buckets", [])
    terms = {str(b["key"]): int(b["doc_count"]) for b in closure}
    return SearchResult(total=total, hits=hits, facets=facets, term_counts=terms, missing=missing)


def _summary(hit: dict[str, Any], query: SearchQuery) -> RecordSummary:
    source = hit.get("_source", {})
    explanation = (
        concept_explanation(source.get("terms", []), query, source.get("term_details"))
        if query.concepts
        else []
    )
    score = hit.get("_score")
    return RecordSummary(**source["summary"], score=float(score or 0.0), explanation=explanation)


def _first_bulk_error(answer: dict[str, Any]) -> str:
    for item in answer.get("items", []):
        for action in item.values():
            if action.get("error"):
                return f"{action.get('_id')}: {action['error']}"
    return "unknown error"
