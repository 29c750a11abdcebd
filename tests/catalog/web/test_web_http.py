"""HTTP manners (issue 9): HEAD answers like GET, 405 carries Allow, booleans are strict,
query strings over 16 KB are a JSON 414, and the OpenAPI schema states the bounds the
server enforces, with unique operation ids."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from web_factories import Ids


@pytest.mark.parametrize(
    "path",
    ["/api/records", "/api/records?q=rat", "/api/records/{study}", "/records/{study}",
     "/sitemap.xml", "/records/{study}.ttl"],
)  # fmt: skip
def test_head_answers_like_get_without_a_body(client: TestClient, ids: Ids, path: str) -> None:
    url = path.format(study=ids.study)
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_head_of_a_missing_record_is_a_404(client: TestClient) -> None:
    assert client.head("/api/records/nope").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/records", "GET, HEAD, POST"),
        ("PUT", "/api/records/{study}", "GET, HEAD, PATCH, DELETE"),
        ("POST", "/sitemap.xml", "GET, HEAD"),
        ("PUT", "/api/3/action/package_show", "GET, HEAD, POST"),
    ],
)
def test_405_carries_allow(
    client: TestClient, ids: Ids, method: str, path: str, allow: str
) -> None:
    url = path.format(study=ids.study)
    response = client.request(method, url)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if url.startswith("/api"):
        assert response.json() == {
            "error": "method_not_allowed",
            "message": f"{method} is not allowed on {url}; use {allow}",
        }


@pytest.mark.parametrize("name", ["exact", "facet_trees"])
def test_booleans_are_strict(client: TestClient, name: str) -> None:
    response = client.get("/api/records", params={name: "maybe"})
    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_input",
        "message": f"query.{name}: Input should be a valid boolean (true or false), got 'maybe'",
        "field": name,
    }
    for value in ("true", "FALSE", "1", "0", "yes", "off", ""):
        assert client.get("/api/records", params={name: value}).status_code == 200


def test_query_string_over_16_kb_is_a_json_414(client: TestClient) -> None:
    response = client.get("/api/records?level=collection&x=" + "a" * 17_000)
    assert response.status_code == 414
    assert response.json() == {
        "error": "uri_too_long",
        "message": "the query string is 17019 bytes long; the limit is 16384 bytes",
    }
    page = client.get("/search?q=" + "b" * 16_500)
    assert page.status_code == 414


def test_openapi_states_the_bounds_and_has_unique_operation_ids(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = Counter(op["operationId"] for item in spec["paths"].values() for op in item.values())
    assert [name for name, count in ids.items() if count > 1] == []
    search = {p["name"]: p["schema"] for p in spec["paths"]["/api/records"]["get"]["parameters"]}
    assert search["q"]["maxLength"] == 2000
    assert (search["page"]["minimum"], search["page"]["maximum"]) == (1, 10_000)
    assert (search["size"]["minimum"], search["size"]["maximum"]) == (1, 100)
    assert search["exact"] == {"type": "boolean"}
    children = spec["paths"]["/api/records/{record_id}/children"]["get"]["parameters"]
    size = next(p["schema"] for p in children if p["name"] == "size")
    assert (size["minimum"], size["maximum"]) == (1, 100)
    patch = spec["paths"]["/api/records/{record_id}"]["patch"]
    assert "413" in patch["responses"]
    assert "IMAGORA_MAX_UPLOAD_BYTES" in patch["description"]
    update = spec["components"]["schemas"]["RecordUpdate"]["properties"]
    keywords = next(s for s in update["keywords"]["anyOf"] if s.get("type") == "array")
    assert keywords["maxItems"] == 1000
    assert keywords["items"]["maxLength"] == 200


def test_field_strength_must_be_a_number(client: TestClient) -> None:
    response = client.get("/api/records", params={"field_strength": "abc"})
    assert response.status_code == 422
    assert response.json()["field"] == "field_strength"
    assert "'abc' is not a number" in response.json()["message"]
    assert client.get("/api/records", params={"field_strength": "9.4"}).status_code == 200
