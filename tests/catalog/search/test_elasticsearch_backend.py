"""The Elasticsearch backend's requests and response parsing, against a MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest
from search_conformance import ANON, T1W, make_doc

from catalog.domain.errors import QuerySyntaxError
from catalog.domain.search import ConceptClause, SearchQuery
from catalog.search.elasticsearch_backend import ElasticsearchBackend, SearchServiceError


class FakeServer:
    """Records requests; answers `_search` with a canned response."""

    def __init__(self, search_answer: dict | None = None, bulk_errors: bool = False) -> None:
        self.requests: list[httpx.Request] = []
        self.search_answer = search_answer or {"hits": {"total": {"value": 0}, "hits": []}}
        self.bulk_errors = bulk_errors

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "HEAD":
            return httpx.Response(404)
        if path.endswith("/_search"):
            return httpx.Response(200, json=self.search_answer)
        if path == "/_bulk":
            item = {"index": {"_id": "a", "error": {"type": "mapper_parsing_exception"}}}
            return httpx.Response(200, json={"errors": self.bulk_errors, "items": [item]})
        return httpx.Response(200, json={"acknowledged": True})

    def body(self, suffix: str) -> dict:
        request = next(
            r for r in self.requests if r.url.path.endswith(suffix) and r.method != "HEAD"
        )
        return json.loads(request.content)


def backend_for(server: FakeServer) -> ElasticsearchBackend:
    client = httpx.Client(base_url="http://es:9200", transport=httpx.MockTransport(server))
    return ElasticsearchBackend("http://es:9200", client=client)


def test_commit_creates_index_and_sends_bulk_ndjson():
    server = FakeServer()
    backend = backend_for(server)
    backend.index([make_doc("a", title="brain")])
    backend.delete(["gone"])
    backend.commit()
    mapping = server.body("/imagora-records")
    assert mapping["mappings"]["properties"]["fk_modality"] == {"type": "keyword"}
    assert mapping["mappings"]["properties"]["title"]["analyzer"] == "imagora"
    bulk = next(r for r in server.requests if r.url.path == "/_bulk")
    lines = [json.loads(line) for line in bulk.content.decode().splitlines()]
    assert lines[0] == {"index": {"_index": "imagora-records", "_id": "a"}}
    assert lines[1]["f_modality"] == ["mr"] and lines[1]["readers"] == ["public"]
    assert lines[1]["fk_modality"] == "MR\x1fMR"
    assert lines[1]["fk_field_strength"] == "3\x1f3 T"
    assert lines[2] == {"delete": {"_index": "imagora-records", "_id": "gone"}}
    assert server.requests[-1].url.path == "/imagora-records/_refresh"


def test_bulk_errors_are_reported():
    backend = backend_for(FakeServer(bulk_errors=True))
    backend.index([make_doc("a")])
    with pytest.raises(SearchServiceError, match="bulk indexing failed: a: "):
        backend.commit()


def test_search_body_has_filters_readers_and_all_facets():
    server = FakeServer()
    backend = backend_for(server)
    query = SearchQuery(
        text='brain "spin echo" hipp*',
        filters={"modality": ["MR", "PT"], "level": ["acquisition"]},
        reader_keys=ANON,
        concepts=[ConceptClause("T1", (T1W,), direct=False)],
        page=2,
        size=10,
    )
    backend.search(query)
    body = server.body("/_search")
    must = body["query"]["bool"]["must"]
    assert [m["multi_match"]["type"] for m in must[:3]] == [
        "best_fields",
        "phrase",
        "phrase_prefix",
    ]
    assert must[1]["multi_match"]["query"] == "spin echo"
    assert must[0]["multi_match"]["fields"][0] == "title^3"
    concept = must[3]["constant_score"]  # the concepts are one more conjunct
    either = [{"terms": {"terms": [T1W]}}, {"terms": {"rollup_terms": [T1W]}}]
    assert concept["filter"] == {"bool": {"should": either}} and concept["boost"] == 1.0
    filters = body["query"]["bool"]["filter"]
    assert {"terms": {"readers": ["public"]}} in filters
    facet_filter = {"terms": {"f_modality": ["mr", "pt"]}}
    assert facet_filter in body["post_filter"]["bool"]["filter"]
    assert body["query"]["bool"]["must_not"] == [{"term": {"status": "withdrawn"}}]
    assert (body["from"], body["size"]) == (10, 10)
    assert body["sort"] == ["_score", {"id": "asc"}]
    aggs = body["aggs"]
    assert len(aggs) == 9 and aggs["sequence"]["aggs"]["values"]["terms"]["field"] == "fk_sequence"
    assert facet_filter not in aggs["modality"]["filter"]["bool"]["filter"]  # siblings stay
    assert facet_filter in aggs["sequence"]["filter"]["bool"]["filter"]
    assert aggs["sequence"]["aggs"]["missing"] == {"missing": {"field": "fk_sequence"}}


def test_conjuncts_become_must_and_must_not():
    server = FakeServer()
    backend = backend_for(server)
    backend.search(SearchQuery(text="(rat OR mouse) -brain tr_ms:[1000 TO *]"))
    bool_query = server.body("/_search")["query"]["bool"]
    either = bool_query["must"][0]["bool"]
    assert either["minimum_should_match"] == 1 and len(either["should"]) == 2
    assert bool_query["must"][1]["constant_score"]["filter"] == {
        "range": {"n_tr_ms": {"gte": 1000.0}}
    }
    assert bool_query["must_not"][0]["multi_match"]["query"] == "brain"


def test_search_answer_is_parsed():
    answer = {
        "hits": {
            "total": {"value": 3},
            "hits": [
                {
                    "_score": 2.5,
                    "_source": {
                        "summary": {"id": "a", "level": "acquisition", "title": "T"},
                        "terms": [T1W],
                    },
                }
            ],
        },
        "aggregations": {
            "field_strength": {
                "values": {"buckets": [{"key": "3\x1f3 T", "doc_count": 3}]},
                "missing": {"doc_count": 1},
            },
        },
    }
    backend = backend_for(FakeServer(answer))
    query = SearchQuery(text="t", concepts=[ConceptClause("T1", (T1W,))])
    result = backend.search(query)
    assert result.missing["field_strength"] == 1
    assert result.total == 3 and result.hits[0].id == "a" and result.hits[0].score == 2.5
    assert result.hits[0].explanation == [{"concept": "T1", "iri": T1W, "match": "direct"}]
    assert [(v.value, v.label, v.count) for v in result.facets["field_strength"]] == [
        ("3", "3 T", 3)
    ]
    assert result.facets["modality"] == []


def test_user_errors_never_reach_the_server():
    server = FakeServer()
    backend = backend_for(server)
    assert backend.search(SearchQuery(text=";")).total == 0
    with pytest.raises(QuerySyntaxError, match="quote is not closed"):
        backend.search(SearchQuery(text='"'))
    with pytest.raises(QuerySyntaxError):
        backend.search(SearchQuery(text="x" * 5000))
    assert server.requests == []


def test_server_errors_are_search_service_errors():
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="shard failure")

    client = httpx.Client(base_url="http://es:9200", transport=httpx.MockTransport(broken))
    backend = ElasticsearchBackend("http://es:9200", client=client)
    with pytest.raises(SearchServiceError, match="500 to HEAD /imagora-records"):
        backend.search(SearchQuery(text="brain"))


def test_term_suggestions_come_from_the_term_suggester():
    answer = {
        "suggest": {
            "w0_title": [{"text": "hipocampus", "options": [{"text": "hippocampus", "freq": 4}]}],
            "w0_text": [{"text": "hipocampus", "options": [{"text": "hippocampal", "freq": 2}]}],
        }
    }
    server = FakeServer(answer)
    backend = backend_for(server)
    assert backend.suggest_terms(["hipocampus"], ANON) == {"hippocampus": 4, "hippocampal": 2}
    body = server.body("/_search")
    assert body["size"] == 0
    title = body["suggest"]["w0_title"]
    assert title["text"] == "hipocampus" and title["term"]["field"] == "title"
