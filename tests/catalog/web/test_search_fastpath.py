"""`SearchFastPath`: anonymous searches skip FastAPI's routing yet answer the same bytes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from web_factories import BASE_URL, Ids, Tokens

from catalog.web.fastpath import SearchFastPath
from catalog.web.paging import page_links, query_page_links

#: A header that makes the fast path decline, so the full application answers.
FULL_STACK = {"Content-Length": "0"}

URLS = [
    "/api/records",
    "/api/records?q=rat&size=2",
    "/api/records?q=rat&size=2&page=2",
    "/api/records?size=1&modality=MR&modality=CT&level=acquisition",
    "/api/records?q=%22rat+brain%22&sort=title",
    "/api/records?q=T1-weighted&exact=true",
    "/api/records?q=caf%C3%A9%20brain&sort=updated",
    "/api/records?q=rat&facet_trees=true",
    "/api/records?q=%FF%FErat",  # not UTF-8 once decoded: replaced, as Starlette does
    "/api/records?q=rat&page=99",  # past the last page: no hits, links still right
]


def fast_path(client: TestClient) -> SearchFastPath:
    layer = client.app.middleware_stack  # built by the first request
    while layer is not None and not isinstance(layer, SearchFastPath):
        layer = getattr(layer, "app", None)
    assert layer is not None, "SearchFastPath is not in the middleware stack"
    return layer


@pytest.mark.parametrize("url", URLS)
def test_fast_path_answers_the_same_bytes_as_the_route(client: TestClient, url: str) -> None:
    client.app.state.search_cache.clear()
    full = client.get(url, headers=FULL_STACK)
    layer = fast_path(client)
    before = layer.served
    client.app.state.search_cache.clear()
    fast = client.get(url)
    assert layer.served == before + 1, "the fast path did not answer"
    assert fast.status_code == full.status_code == 200
    assert fast.content == full.content
    assert fast.headers["content-type"] == full.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == str(len(fast.content))


def test_errors_are_rendered_by_the_full_application(client: TestClient) -> None:
    client.get("/api/records")
    layer = fast_path(client)
    before = layer.served
    cases = {
        "/api/records?page=zero": (422, "invalid_input", "query.page"),
        "/api/records?sort=sideways": (422, "invalid_input", "query.sort"),
        "/api/records?colour=red": (400, "bad_query", "colour"),
        "/api/records?size=1000": (400, "bad_query", "size"),
        "/api/records?q=rat%00brain": (400, "bad_query", "NUL"),
    }
    for url, (status, code, named) in cases.items():
        response = client.get(url)
        assert response.status_code == status, url
        body = response.json()
        assert body["error"] == code and named in body["message"], (url, body)
    assert layer.served == before


def test_callers_with_a_token_take_the_route(client: TestClient, ids: Ids, tokens: Tokens) -> None:
    client.get("/api/records")
    layer = fast_path(client)
    before = layer.served
    hidden = client.get("/api/records", params={"q": "confidential mouse", "size": 100}).json()
    seen = client.get(
        "/api/records",
        params={"q": "confidential mouse", "size": 100},
        headers={"Authorization": f"Bearer {tokens.admin}"},
    ).json()
    assert layer.served == before + 1  # only the anonymous one
    assert ids.secret not in {hit["id"] for hit in hidden["hits"]}
    assert ids.secret in {hit["id"] for hit in seen["hits"]}
    bad = client.get("/api/records", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "query",
    [
        "q=rat&size=2",
        "size=2&q=rat&page=3",
        "page=2",
        "",
        "q=brain%20scan&modality=MR&modality=CT&page=1",
        "q=a+b&pa%67e=2&exact",
    ],
)
def test_links_from_the_raw_query_mean_the_same_as_from_parsed_params(query: str) -> None:
    params = parse_qsl(query, keep_blank_values=True)
    raw = query_page_links(f"{BASE_URL}/api/records", query, 2, 2, 9)
    parsed = page_links(f"{BASE_URL}/api/records", params, 2, 2, 9)
    assert raw is not None and set(raw) == set(parsed) == {"self", "first", "last", "prev", "next"}
    for name in parsed:
        assert parse_qsl(urlsplit(raw[name]).query, keep_blank_values=True) == parse_qsl(
            urlsplit(parsed[name]).query, keep_blank_values=True
        ), name
    assert raw["last"].endswith("page=5")


def test_links_from_raw_queries_with_unsafe_characters_are_refused() -> None:
    for query in ('q="rat"', "q=rat brain", "q=caf\u00e9"):
        assert query_page_links("/api/records", query, 1, 20, 3) is None
