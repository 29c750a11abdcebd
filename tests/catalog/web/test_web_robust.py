"""No request can break a record (issue 9): nulls, huge integers, control characters,
deep JSON, list caps. Each test replays the exact input of the issue, then reads the
record through every door that used to answer 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_factories import Ids, Tokens, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.domain.records import MAX_KEYWORDS
from catalog.services.container import Catalog
from catalog.web.app import create_app

Fresh = tuple[TestClient, Catalog, Ids, Tokens]

NULLABLE = ("imaging", "subject", "bids", "keywords", "creators", "files", "terms")
EMPTY = {
    "imaging": {},
    "subject": {},
    "bids": {"entities": {}},
    "keywords": [],
    "creators": [],
    "files": [],
    "terms": [],
}


@pytest.fixture
def roomy(tmp_path: Path) -> Iterator[Fresh]:
    """A catalogue with a body limit big enough for the list-cap tests."""
    catalog = Catalog.open(make_settings(tmp_path / "data", max_upload_bytes=4 << 20))
    ids = populate(catalog)
    tokens = Tokens(
        viewer=catalog.tokens.create(SYSTEM, "alice", "viewer"),
        curator=catalog.tokens.create(SYSTEM, "carol", "curator"),
        admin=catalog.tokens.create(SYSTEM, "root", "admin"),
        bob=catalog.tokens.create(SYSTEM, "bob", "viewer"),
    )
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as c:
        yield c, catalog, ids, tokens
    catalog.close()


def _every_reader(client: TestClient, ids: Ids) -> None:
    """The doors that answered 500 for everyone after a bad PATCH."""
    record = ids.session
    paths = [
        f"/api/records/{record}",
        f"/api/records/{ids.subject}/children",
        f"/records/{record}",
        f"/records/{record}.jsonld",
        f"/records/{record}.ttl",
        f"/records/{record}.xml",
        f"/records/{record}.bib",
        f"/api/3/action/package_show?id={record}",
        "/api/3/action/package_search?q=*:*",
        "/sitemap.xml",
        "/catalog.ttl",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])


@pytest.mark.parametrize("field", NULLABLE)
def test_patch_null_clears_the_field_and_every_reader_still_works(roomy: Fresh, field: str) -> None:
    client, _, ids, tokens = roomy
    response = client.patch(
        f"/api/records/{ids.session}", json={field: None}, headers=Tokens.header(tokens.curator)
    )
    assert response.status_code == 200, response.text
    value = response.json()[field]
    assert value == EMPTY[field] or (isinstance(value, dict) and not any(value.values()))
    _every_reader(client, ids)


def test_patch_null_title_is_a_422_and_nothing_is_written(roomy: Fresh) -> None:
    client, _, ids, tokens = roomy
    before = client.get(f"/api/records/{ids.session}").json()
    response = client.patch(
        f"/api/records/{ids.session}", json={"title": None}, headers=Tokens.header(tokens.curator)
    )
    assert response.status_code == 422
    assert "title cannot be cleared" in response.json()["message"]
    assert client.get(f"/api/records/{ids.session}").json()["updated"] == before["updated"]


def test_integers_beyond_64_bits_are_a_422_not_a_500(roomy: Fresh) -> None:
    client, _, ids, tokens = roomy
    curator = Tokens.header(tokens.curator)
    huge = 2**64 + 1
    patch = client.patch(
        f"/api/records/{ids.session}", json={"imaging": {"matrix": [huge, 1]}}, headers=curator
    )
    assert patch.status_code == 422, patch.text
    assert "outside the 64-bit range" in patch.json()["message"]
    assert "imaging.matrix[0]" in patch.json()["message"]
    post = client.post(
        "/api/records",
        json={"level": "collection", "title": "x", "files": [{"path": "a", "size": -(2**70)}]},
        headers=curator,
    )
    assert post.status_code == 422, post.text
    assert "files[0].size" in post.json()["message"]
    _every_reader(client, ids)


def test_control_characters_are_stripped_at_write_time(roomy: Fresh) -> None:
    client, _, ids, tokens = roomy
    dirty = "T2\x00 map\x1b[31m\x07 \x0bdone\ttab"
    response = client.patch(
        f"/api/records/{ids.session}",
        json={"title": dirty, "description": dirty, "keywords": [dirty]},
        headers=Tokens.header(tokens.curator),
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["title"] == "T2 map[31m done\ttab"
    assert record["description"] == "T2 map[31m done\ttab"
    assert record["keywords"] == ["T2 map[31m done\ttab"]
    for extension in ("xml", "ttl", "bib", "jsonld"):
        body = client.get(f"/records/{ids.session}.{extension}")
        assert body.status_code == 200, (extension, body.text[:300])
        for char in "\x00\x1b\x07\x0b":
            assert char not in body.text, (extension, repr(char))
    _every_reader(client, ids)


def test_deeply_nested_values_are_refused(roomy: Fresh) -> None:
    client, _, _, tokens = roomy
    nested: object = "x"
    for _ in range(300):
        nested = {"a": nested}
    response = client.post(
        "/api/records",
        json={"level": "collection", "title": "deep", "quality": nested},
        headers=Tokens.header(tokens.curator),
    )
    assert response.status_code == 422, response.text
    assert (
        "body.quality: Value error, nested more than 64 levels deep" in response.json()["message"]
    )


def test_ckan_post_with_deeply_nested_json_is_a_400(roomy: Fresh) -> None:
    client, *_ = roomy
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/3/action/package_search",
        content='{"q": ' + body + "}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False
    assert "nested too deeply" in response.json()["error"]["message"]


def test_keyword_lists_are_capped_at_validation(roomy: Fresh) -> None:
    client, _, ids, tokens = roomy
    curator = Tokens.header(tokens.curator)
    too_many = [f"k{i}" for i in range(MAX_KEYWORDS + 1)]
    response = client.patch(
        f"/api/records/{ids.session}", json={"keywords": too_many}, headers=curator
    )
    assert response.status_code == 422
    assert "body.keywords" in response.json()["message"]
    assert f"at most {MAX_KEYWORDS}" in response.json()["message"]
    at_cap = [f"k{i}" for i in range(MAX_KEYWORDS)]
    response = client.patch(
        f"/api/records/{ids.session}", json={"keywords": at_cap}, headers=curator
    )
    assert response.status_code == 200
    shown = client.get(f"/api/3/action/package_show?id={ids.session}").json()["result"]
    assert {f"k{i}" for i in range(MAX_KEYWORDS)} <= {t["name"] for t in shown["tags"]}


def test_a_creator_orcid_that_is_not_an_orcid_is_a_422(roomy: Fresh) -> None:
    """Schemathesis found `"https://orcid.org/𢓰º F"`: stored, it made the Turtle export
    (and the sitemap's neighbours) answer 500, because exporters write it as a URI."""
    client, _, ids, tokens = roomy
    curator = Tokens.header(tokens.curator)
    bad = {"creators": [{"name": "A", "orcid": "https://orcid.org/\U000224f0\xba F"}]}
    response = client.patch(f"/api/records/{ids.session}", json=bad, headers=curator)
    assert response.status_code == 422, response.text
    assert "is not an ORCID iD" in response.json()["message"]
    good = {"creators": [{"name": "Carberry, Josiah", "orcid": "0000-0002-1825-0097"}]}
    response = client.patch(f"/api/records/{ids.session}", json=good, headers=curator)
    assert response.status_code == 200, response.text
    turtle = client.get(f"/records/{ids.session}.ttl")
    assert turtle.status_code == 200 and "https://orcid.org/0000-0002-1825-0097" in turtle.text
    _every_reader(client, ids)
