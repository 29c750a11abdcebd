"""Writes through the API (POST, PATCH, DELETE), body limits and error rendering."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.testclient import TestClient
from web_factories import BASE_URL, Ids, Tokens

from catalog.services.container import Catalog

Fresh = tuple[TestClient, Catalog, Ids, Tokens]


def _new_record() -> dict:
    return {
        "level": "acquisition",
        "title": "Deposited DWI",
        "parent_id": "rat-01-ses-1",
        "imaging": {"modality": "MR", "field_strength_t": 9.4, "sequence": "DTI-EPI"},
    }


def test_post_creates_a_record_with_location(fresh: Fresh) -> None:
    client, _, ids, tokens = fresh
    response = client.post(
        "/api/records", json=_new_record(), headers=Tokens.header(tokens.curator)
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert response.headers["location"] == f"{BASE_URL}/api/records/{record['id']}"
    assert record["parents"][-1]["id"] == ids.session
    found = client.get("/api/records", params={"q": "DTI-EPI", "level": "acquisition"}).json()
    assert [h["id"] for h in found["hits"]] == [record["id"]]


def test_post_needs_a_writer(fresh: Fresh) -> None:
    client, _, _, tokens = fresh
    anonymous = client.post("/api/records", json=_new_record())
    assert anonymous.status_code == 401
    assert "curator or admin" in anonymous.json()["message"]
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    viewer = client.post("/api/records", json=_new_record(), headers=Tokens.header(tokens.viewer))
    assert viewer.status_code == 403
    assert viewer.json() == {
        "error": "forbidden",
        "message": "creating a record needs the curator or admin role; "
        "your token has the viewer role",
    }


def test_post_validation_errors_name_the_field(fresh: Fresh) -> None:
    client, _, _, tokens = fresh
    curator = Tokens.header(tokens.curator)
    bad_level = client.post("/api/records", json={"level": "planet", "title": "x"}, headers=curator)
    assert bad_level.status_code == 422
    assert bad_level.json()["error"] == "invalid_input"
    assert "body.level" in bad_level.json()["message"]
    extra = client.post(
        "/api/records", json={"level": "collection", "title": "x", "secret": 1}, headers=curator
    )
    assert extra.status_code == 422 and "body.secret" in extra.json()["message"]
    no_parent = client.post(
        "/api/records", json={**_new_record(), "parent_id": "nope"}, headers=curator
    )
    assert no_parent.status_code == 422
    assert no_parent.json()["field"] == "parent_id"


def test_malformed_json_is_400_naming_the_problem(fresh: Fresh) -> None:
    client, _, _, tokens = fresh
    response = client.post(
        "/api/records",
        content=b'{"level": "collection", "title": ',
        headers={**Tokens.header(tokens.curator), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("the request body is not valid JSON")


def test_oversized_bodies_are_413(fresh: Fresh) -> None:
    client, _, _, tokens = fresh  # the fresh app allows 4096 bytes
    big = {**_new_record(), "description": "x" * 5000}
    declared = client.post("/api/records", json=big, headers=Tokens.header(tokens.curator))
    assert declared.status_code == 413
    assert "limit is 4096 bytes" in declared.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"level": "collection", "title": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    streamed = client.post(
        "/api/records",
        content=chunks(),
        headers={**Tokens.header(tokens.curator), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "payload_too_large"


def test_patch_restricts_and_hides_from_anonymous(fresh: Fresh) -> None:
    client, _, ids, tokens = fresh
    before = client.get("/api/records", params={"q": "FDG"}).json()
    assert before["total"] == 1  # also fills the search cache
    response = client.patch(
        f"/api/records/{ids.pet}",
        json={"access": {"record": "restricted"}},
        headers=Tokens.header(tokens.curator),
    )
    assert response.status_code == 200, response.text
    assert response.json()["access"]["record"] == "restricted"
    after = client.get("/api/records", params={"q": "FDG"}).json()
    assert after["total"] == 0 and after["hits"] == []
    assert "PT" not in {v["value"] for v in after["facets"].get("modality", [])}
    assert client.get(f"/api/records/{ids.pet}").status_code == 404
    assert client.get(f"/records/{ids.pet}").status_code == 404
    children = client.get(f"/api/records/{ids.session}/children").json()
    assert ids.pet not in {h["id"] for h in children["hits"]}


def test_patch_embargo_and_title(fresh: Fresh) -> None:
    client, _, ids, tokens = fresh
    curator = Tokens.header(tokens.curator)
    response = client.patch(
        f"/api/records/{ids.t2}",
        json={"title": "T2 RARE (renamed)", "access": {"files": "embargoed"}},
        headers=curator,
    )
    assert response.status_code == 422
    assert "embargo_until" in response.json()["message"]
    response = client.patch(
        f"/api/records/{ids.t2}",
        json={"access": {"files": "embargoed", "embargo_until": "2027-01-01"}},
        headers=curator,
    )
    assert response.status_code == 200
    assert response.json()["access"]["files"] == "embargoed"
    page = client.get(f"/records/{ids.t2}")
    assert "files embargoed until 2027-01-01" in page.text
    assert 'rel="item"' not in page.headers["link"]  # embargoed files are not offered


def test_patch_rejects_bad_values_and_viewers(fresh: Fresh) -> None:
    client, _, ids, tokens = fresh
    bad = client.patch(
        f"/api/records/{ids.t2}",
        json={"access": {"record": "secret"}},
        headers=Tokens.header(tokens.curator),
    )
    assert bad.status_code == 422 and "body.access.record" in bad.json()["message"]
    viewer = client.patch(
        f"/api/records/{ids.t2}", json={"title": "x"}, headers=Tokens.header(tokens.viewer)
    )
    assert viewer.status_code == 403
    hidden = client.patch(
        f"/api/records/{ids.secret}", json={"title": "x"}, headers=Tokens.header(tokens.viewer)
    )
    assert hidden.status_code == 403  # role check first; existence is not revealed either way


def test_delete_withdraws_to_a_tombstone(fresh: Fresh) -> None:
    client, _, ids, tokens = fresh
    response = client.delete(f"/api/records/{ids.pet}", headers=Tokens.header(tokens.admin))
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert client.get("/api/records", params={"q": "FDG"}).json()["total"] == 0
    page = client.get(f"/records/{ids.pet}")
    assert page.status_code == 200 and "This record has been withdrawn" in page.text


def test_unexpected_errors_are_500_json_without_traceback(fresh: Fresh) -> None:
    client, *_ = fresh
    router = APIRouter()

    @router.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    client.app.include_router(router)  # type: ignore[attr-defined]
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "an unexpected error happened on the server; it has been logged",
    }
    assert "passwd" not in response.text and "Traceback" not in response.text
