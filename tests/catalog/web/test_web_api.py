"""JSON API: search, records, children, writes, auth and visibility, through a real Catalog."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from web_factories import BASE_URL, Ids, Tokens


def facet_values(body: dict, field: str) -> set[str]:
    return {v["value"] for v in body["facets"].get(field, [])}


# ----- search ---------------------------------------------------------------------------
def test_search_returns_hits_facets_and_links(client: TestClient, ids: Ids) -> None:
    response = client.get("/api/records", params={"q": "rat", "size": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"total", "page", "size", "hits", "facets", "links"}
    assert body["total"] >= 5 and body["size"] == 2 and len(body["hits"]) == 2
    assert {"id", "level", "title"} <= set(body["hits"][0])
    labels = {v["label"] for v in body["facets"]["species"]}
    assert labels == {"Rattus norvegicus"}
    links = body["links"]
    assert links["self"].startswith(f"{BASE_URL}/api/records?")
    assert parse_qs(urlsplit(links["next"]).query) == {"q": ["rat"], "size": ["2"], "page": ["2"]}
    assert "prev" not in links
    last = int(parse_qs(urlsplit(links["last"]).query)["page"][0])
    assert last == -(-body["total"] // 2)


def test_second_page_has_prev_and_different_hits(client: TestClient) -> None:
    first = client.get("/api/records", params={"q": "rat", "size": 2}).json()
    second = client.get(first["links"]["next"].removeprefix(BASE_URL)).json()
    assert second["page"] == 2
    assert "page=1" in second["links"]["prev"]
    assert {h["id"] for h in first["hits"]}.isdisjoint({h["id"] for h in second["hits"]})


def test_facet_filters_are_repeatable_and_level_filters(client: TestClient, ids: Ids) -> None:
    acq = ("level", "acquisition")
    both = client.get("/api/records", params=[("modality", "MR"), ("modality", "PT"), acq]).json()
    assert {h["modality"] for h in both["hits"]} == {"MR", "PT"}
    pet = client.get("/api/records", params=[("modality", "PT"), acq]).json()
    assert [h["id"] for h in pet["hits"]] == [ids.pet]
    # a dataset matches what its scans hold (its roll-up)
    rolled = client.get("/api/records", params={"modality": "PT"}).json()
    assert {ids.pet, ids.study} <= {h["id"] for h in rolled["hits"]}
    study = next(h for h in rolled["hits"] if h["id"] == ids.study)
    assert "PT" in study["rollup"]["modalities"]
    collections = client.get("/api/records", params={"level": "collection"}).json()
    assert {h["id"] for h in collections["hits"]} == {ids.study}


def test_unknown_filter_field_is_a_400_naming_the_fields(client: TestClient) -> None:
    response = client.get("/api/records", params={"colour": "blue"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_query"
    assert "'colour'" in body["message"] and "modality" in body["message"]


def test_unknown_level_is_a_400(client: TestClient) -> None:
    response = client.get("/api/records", params={"level": "galaxy"})
    assert response.status_code == 400
    assert "unknown level 'galaxy'" in response.json()["message"]


def test_bad_paging_params(client: TestClient) -> None:
    too_big = client.get("/api/records", params={"size": 1000})
    assert too_big.status_code == 400
    assert "size must be between 1 and 100" in too_big.json()["message"]
    not_int = client.get("/api/records", params={"page": "two"})
    assert not_int.status_code == 422
    body = not_int.json()
    assert body["error"] == "invalid_input" and "query.page" in body["message"]
    bad_sort = client.get("/api/records", params={"sort": "random"})
    assert bad_sort.status_code == 422 and "query.sort" in bad_sort.json()["message"]


def test_hostile_queries_never_500(client: TestClient) -> None:
    hostile = ['"', "*", "NEAR(", "'; DROP TABLE records; --", "a" * 10_000, "title:(", "\\", "]"]
    for text in hostile:
        response = client.get("/api/records", params={"q": text})
        assert response.status_code in (200, 400), (text[:20], response.text)
        assert "error" in response.json() or "hits" in response.json()
    for raw in ("q=%ff%fe", "q=%00", "modality=%ff", "q=%E2%28%A1", "level=%ff"):
        response = client.get(f"/api/records?{raw}")
        assert response.status_code in (200, 400), (raw, response.text)
    long = client.get("/api/records", params={"q": "a" * 10_000})
    assert long.status_code == 400 and "limit is" in long.json()["message"]


def test_search_on_pages_survives_hostile_queries(client: TestClient) -> None:
    for raw in ("q=%22", "q=NEAR(", "q=%ff%fe", f"q={'x' * 10_000}", "colour=red"):
        response = client.get(f"/search?{raw}")
        assert response.status_code in (200, 400), raw
        assert response.headers["content-type"].startswith("text/html")


# ----- visibility -----------------------------------------------------------------------
def test_restricted_records_invisible_to_anonymous_everywhere(client: TestClient, ids: Ids) -> None:
    body = client.get("/api/records", params={"size": 100}).json()
    seen = {h["id"] for h in body["hits"]}
    assert ids.secret not in seen and ids.secret_scan not in seen
    assert "SecretCorp" not in facet_values(body, "manufacturer")
    assert "CT" not in facet_values(body, "modality")
    assert body["total"] == len(seen)
    hidden = client.get("/api/records", params={"q": "Confidential"}).json()
    assert hidden["total"] == 0 and hidden["hits"] == []
    for path in (f"/api/records/{ids.secret}", f"/api/records/{ids.secret_scan}"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": "not_found",
            "message": f"no record with id '{path.rsplit('/', 1)[1]}'",
        }
    assert client.get(f"/api/records/{ids.secret}/children").status_code == 404
    assert client.get(f"/records/{ids.secret}").status_code == 404


def test_viewer_without_grant_cannot_see_but_granted_viewer_can(
    client: TestClient, ids: Ids, tokens: Tokens
) -> None:
    alice = Tokens.header(tokens.viewer)
    assert client.get(f"/api/records/{ids.secret}", headers=alice).status_code == 404
    bob = Tokens.header(tokens.bob)
    record = client.get(f"/api/records/{ids.secret}", headers=bob)
    assert record.status_code == 200 and record.json()["title"] == "Confidential mouse study"
    hits = client.get("/api/records", params={"q": "Confidential"}, headers=bob).json()
    assert ids.secret in {h["id"] for h in hits["hits"]}


def test_curator_sees_restricted_records_hits_and_facets(
    client: TestClient, ids: Ids, tokens: Tokens
) -> None:
    curator = Tokens.header(tokens.curator)
    body = client.get("/api/records", params={"size": 100}, headers=curator).json()
    assert {ids.secret, ids.secret_scan} <= {h["id"] for h in body["hits"]}
    assert "SecretCorp" in facet_values(body, "manufacturer")
    anonymous = client.get("/api/records", params={"size": 100}).json()
    assert body["total"] == anonymous["total"] + 2
    children = client.get(f"/api/records/{ids.secret}/children", headers=curator).json()
    assert [h["id"] for h in children["hits"]] == [ids.secret_scan]
    page = client.get(f"/records/{ids.secret}", headers=curator)
    assert page.status_code == 200 and "restricted record" in page.text


# ----- one record -----------------------------------------------------------------------
def test_record_json_has_the_contract_fields(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/api/records/{ids.t2}")
    assert response.status_code == 200
    record = response.json()
    for name in (
        "id", "level", "title", "description", "creators", "license", "access",
        "identifiers", "source", "imaging", "terms", "related", "parents", "created", "updated",
    ):  # fmt: skip
        assert name in record, name
    assert record["imaging"]["field_strength_t"] == 9.4
    assert [p["id"] for p in record["parents"]] == [ids.study, ids.subject, ids.session]
    assert record["access"]["record"] == "public"


def test_children_are_paginated_with_links(client: TestClient, ids: Ids) -> None:
    body = client.get(f"/api/records/{ids.session}/children", params={"size": 2}).json()
    assert body["total"] == 5  # t2, pet and three EPI runs
    assert len(body["hits"]) == 2
    assert body["links"]["next"].startswith(f"{BASE_URL}/api/records/{ids.session}/children?")
    assert all(h["parent_id"] == ids.session for h in body["hits"])


def test_unknown_record_and_unknown_path(client: TestClient) -> None:
    missing = client.get("/api/records/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    unknown = client.get("/api/does-not-exist")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "nothing at /api/does-not-exist; see /docs for the API"
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "nothing at /no/such/page" in page.text
    wrong_method = client.put("/api/records/x", json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"


# ----- auth -----------------------------------------------------------------------------
def test_bad_tokens_are_401_with_www_authenticate(client: TestClient) -> None:
    for header in ("Bearer imt_nope_nope", "Basic dXNlcjpwdw==", "Bearer "):
        response = client.get("/api/records", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"] == "unauthenticated"
    page = client.get("/search", headers={"Authorization": "Bearer imt_bad"})
    assert page.status_code == 401 and "text/html" in page.headers["content-type"]


def test_openapi_documents_typed_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/records", "/api/records/{record_id}", "/api/records/{record_id}/children"} <= set(
        spec["paths"]
    )
    ok = spec["paths"]["/api/records/{record_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/RecordPublic")
    assert "RecordPage" in spec["components"]["schemas"]
    assert "StoredRecord" not in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_grouped_search_pages_over_datasets(client: TestClient, ids: Ids) -> None:
    body = client.get("/api/records", params={"q": "rat", "group": "collection", "size": 5}).json()
    assert body["group_total"] == 1 and body["total"] > 1
    (group,) = body["groups"]
    assert group["collection"]["id"] == ids.study
    assert group["collection"]["rollup"]["subjects"] >= 1
    assert 0 < len(group["hits"]) <= 3 and group["matches"] >= len(group["hits"])
    assert all(h["level"] != "collection" for h in group["hits"])
    assert "next" not in body["links"]  # one dataset: one page of groups
    assert body["understood"].startswith("rat (concept")
    bad = client.get("/api/records", params={"group": "subject"})
    assert bad.status_code == 422 and "group" in bad.json()["message"]


def test_empty_query_lists_newest_datasets_first(client: TestClient, ids: Ids) -> None:
    body = client.get("/api/records", params={"group": "collection"}).json()
    assert [g["collection"]["id"] for g in body["groups"]] == [ids.study]
