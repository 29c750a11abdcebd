"""Elasticsearch 8 search backend over the REST API (httpx), for larger installations.

Same behaviour as the tantivy backend: user text goes through `catalog.search.query`
clauses (never `query_string`), facets come from one request with a terms aggregation
per facet, and the caller's `reader_keys` filter sits inside the bool query so that
hits, totals and aggregations all exclude what the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from catalog.domain.errors import ConfigurationError, ImagoraError
from catalog.domain.records import FacetValue, RecordSummary
from catalog.domain.search import FACET_FIELDS, IndexDocument, SearchQuery, SearchResult
from catalog.search.base import SearchBackend
from catalog.search.query import (
    TEXT_FIELDS,
    TextClause,
    check_filters,
    check_paging,
    concept_explanation,
    concept_weight,
    facet_key,
    has_content,
    merge_facet_buckets,
    parse_text,
    summary_fields,
    title_sort_key,
    updated_sort_key,
)

FACET_SIZE = 200
_KEYWORD_FIELDS = (
    "id",
    "parent_id",
    "collection_id",
    "ancestors",
    "readers",
    "status",
    "terms",
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
    """The JSON source stored for one record."""
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
        "k_title": title_sort_key(doc),
        "k_updated": updated_sort_key(doc),
        "summary": summary_fields(doc),
        "term_details": doc.term_details,
        "closure": list(doc.term_closure),
        "f_level": doc.level,
        "fk_level": facet_key("level", doc.level, doc.facet_labels),
    }
    for name, value in doc.facets.items():
        if name in FACET_FIELDS and name != "level" and value:
            source[f"f_{name}"] = value
            source[f"fk_{name}"] = facet_key(name, value, doc.facet_labels)
    return source


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


def build_search_body(
    query: SearchQuery, clauses: list[TextClause], offset: int, size: int
) -> dict[str, Any]:
    """The `_search` request body for one query (hits, total and facets together)."""
    scored: list[dict[str, Any]] = []
    if clauses:
        scored.append({"bool": {"must": [clause_query(c) for c in clauses]}})
    for concept in query.concepts:
        iris = [iri for iri in concept.iris if iri]
        if iris:
            boost = concept_weight(concept.direct, concept.boost)
            scored.append(
                {"constant_score": {"filter": {"terms": {"terms": iris}}, "boost": boost}}
            )
    bool_query: dict[str, Any] = {"filter": _filters(query)}
    if scored:
        bool_query["should"] = scored
        bool_query["minimum_should_match"] = 1
    if not query.include_withdrawn:
        bool_query["must_not"] = [{"term": {"status": "withdrawn"}}]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "sort": _SORTS[query.sort] if scored or query.sort != "relevance" else [{"id": "asc"}],
        "_source": ["summary", "terms", "term_details"],
    }
    if query.with_facets:
        body["aggs"] = {
            name: {"terms": {"field": f"fk_{name}", "size": FACET_SIZE}} for name in FACET_FIELDS
        }
        if query.with_term_counts:
            body["aggs"]["closure"] = {"terms": {"field": "closure", "size": 5000}}
    return body


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters = [
        {"terms": {(f"f_{name}" if name in FACET_FIELDS else name): values}}
        for name, values in check_filters(query.filters).items()
    ]
    if query.parent_id is not None:
        filters.append({"term": {"parent_id": query.parent_id}})
    if query.reader_keys is not None:
        filters.append({"terms": {"readers": [key for key in query.reader_keys if key]}})
    return filters


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
        clauses = parse_text(query.text)
        if not clauses and not query.concepts and has_content(query.text):
            facets = {name: [] for name in FACET_FIELDS} if query.with_facets else {}
            return SearchResult(total=0, hits=[], facets=facets)
        self._ensure_index()
        body = build_search_body(query, clauses, offset, size)
        answer = self._request("POST", f"/{self.index_name}/_search", json=body)
        return parse_search_answer(answer, query)


def parse_search_answer(answer: dict[str, Any], query: SearchQuery) -> SearchResult:
    """Turn an Elasticsearch `_search` response into a `SearchResult`."""
    hits_part = answer.get("hits", {})
    hits = [_summary(hit, query) for hit in hits_part.get("hits", [])]
    total = int(hits_part.get("total", {}).get("value", 0))
    facets: dict[str, list[FacetValue]] = {}
    if query.with_facets:
        aggregations = answer.get("aggregations", {})
        for name in FACET_FIELDS:
            buckets = aggregations.get(name, {}).get("buckets", [])
            facets[name] = merge_facet_buckets((b["key"], int(b["doc_count"])) for b in buckets)
    closure = answer.get("aggregations", {}).get("closure", {}).get("buckets", [])
    terms = {str(b["key"]): int(b["doc_count"]) for b in closure}
    return SearchResult(total=total, hits=hits, facets=facets, term_counts=terms)


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
