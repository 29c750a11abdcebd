"""Ontology terms over HTTP: autocomplete, term detail and page, curator endpoints, facet
trees, recognised concepts and explanations, with access control on every door."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from web_factories import Ids, Tokens, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.domain.records import Imaging, RecordCreate
from catalog.services.container import Catalog
from catalog.web.app import create_app

T1 = "http://purl.obolibrary.org/obo/OBI_0003341"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
RAT = "http://purl.obolibrary.org/obo/NCBITaxon_10116"
WISTAR = "https://identifiers.org/RRID:RGD_13508588"
T2 = "http://purl.obolibrary.org/obo/OBI_0003342"


def _scan(record_id: str, title: str, parent: str, description: str) -> RecordCreate:
    return RecordCreate(
        id=record_id,
        level="acquisition",
        title=title,
        parent_id=parent,
        imaging=Imaging(modality="MR", series_description=description),
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Catalog, Ids, Tokens]]:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    ids = populate(catalog)
    create = catalog.records.create
    create(SYSTEM, _scan("mprage-1", "Sagittal 3D structural", ids.session, "t1_mprage_sag"))
    create(SYSTEM, _scan("hidden-t1", "Hidden MPRAGE", ids.secret, "t1_mprage_tra"))
    tokens = Tokens(
        viewer=catalog.tokens.create(SYSTEM, "alice", "viewer"),
        curator=catalog.tokens.create(SYSTEM, "carol", "curator"),
        admin=catalog.tokens.create(SYSTEM, "root", "admin"),
        bob=catalog.tokens.create(SYSTEM, "bob", "viewer"),
    )
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
        yield client, catalog, ids, tokens
    catalog.close()


def test_autocomplete_ranks_label_prefix_first(site) -> None:  # type: ignore[no-untyped-def]
    client = site[0]
    answer = client.get("/api/terms", params={"q": "t1", "limit": 5, "all": "true"})
    assert answer.status_code == 200
    found = answer.json()
    assert len(found) == 5
    assert found[0] == {
        "iri": T1,
        "label": "T1-weighted",
        "scheme": "mri",
        "matched": "T1-weighted",
        "alt_labels": ["T1 weighted MR image data set", "T1-weighted image", "T1WI", "T1w"],
        "count": None,
    }
    # by default: only concepts some visible record carries, each with its count
    counted = client.get("/api/terms", params={"q": "t1", "limit": 5}).json()
    assert [(s["label"], s["count"]) for s in counted] == [("T1-weighted", 1), ("MPRAGE", 1)]
    species = client.get("/api/terms", params={"q": "wistar", "scheme": "strain"}).json()
    assert [s["iri"] for s in species] == [WISTAR]
    bad = client.get("/api/terms", params={"q": "t1", "limit": 99})
    assert bad.status_code == 400 and "limit must be between 1 and 50" in bad.json()["message"]


def test_term_detail_and_unknown_iri(site) -> None:  # type: ignore[no-untyped-def]
    client = site[0]
    detail = client.get("/api/terms/" + quote(T1, safe="")).json()
    assert detail["label"] == "T1-weighted"
    assert MPRAGE in [n["iri"] for n in detail["narrower"]]
    assert detail["broader"][0]["label"] == "MR image data set"
    missing = client.get("/api/terms/" + quote("http://example.org/nothing#x", safe=""))
    assert missing.status_code == 404
    assert missing.json()["error"] == "unknown_concept"


def test_term_page_lists_narrower_records_but_not_restricted_ones(site) -> None:  # type: ignore[no-untyped-def]
    client, _, _, tokens = site
    page = client.get("/terms", params={"iri": T1})
    assert page.status_code == 200
    assert "1 record annotated with T1-weighted or one of its 8 narrower concepts" in page.text
    assert "Sagittal 3D structural" in page.text
    assert "Hidden MPRAGE" not in page.text
    assert "read from series description" in page.text  # plain words, no rule ids
    assert "sequence_name:mprage" not in page.text
    as_bob = client.get("/terms", params={"iri": T1}, headers=Tokens.header(tokens.bob))
    assert "Hidden MPRAGE" in as_bob.text and "2 records annotated" in as_bob.text
    assert client.get("/terms", params={"iri": "http://example.org/x"}).status_code == 404


def test_landing_page_terms_link_to_term_pages(site) -> None:  # type: ignore[no-untyped-def]
    client = site[0]
    html = client.get("/records/mprage-1").text
    assert f'href="/terms?iri={quote(MPRAGE, safe="/")}"' in html


def test_search_reports_concepts_and_explains_hits(site) -> None:  # type: ignore[no-untyped-def]
    client = site[0]
    params = {"q": "T1-weighted", "level": "acquisition"}
    body = client.get("/api/records", params=params).json()
    assert body["total"] == 1
    (concept,) = body["concepts"]
    assert (concept["label"], concept["iri"], concept["narrower"]) == ("T1-weighted", T1, 8)
    (why,) = body["hits"][0]["explanation"]
    assert why["concept"] == "T1-weighted" and why["term"] == "MPRAGE"
    assert why["rule"] == "sequence_name:mprage"
    assert why["fields"] == "series_description"
    assert body["facet_trees"] == {}  # only on request
    exact = client.get("/api/records", params={**params, "exact": "true"}).json()
    assert exact["total"] == 0 and exact["concepts"][0]["narrower"] == 0


def test_facet_trees_shape_and_counts(site) -> None:  # type: ignore[no-untyped-def]
    client, _, _, tokens = site
    body = client.get("/api/records", params={"q": "", "facet_trees": "1", "size": "2"}).json()
    (mr,) = body["facet_trees"]["contrast"]
    assert (mr["label"], mr["count"]) == ("MR image data set", 2)  # T2 RARE + MPRAGE
    t1 = next(c for c in mr["children"] if c["iri"] == T1)
    assert t1["count"] == 1 and t1["children"][0]["label"] == "MPRAGE"
    assert set(t1) == {"iri", "label", "count", "children"}
    species = body["facet_trees"]["species"]
    assert any(node["count"] >= 1 for node in species)
    admin = client.get(
        "/api/records", params={"facet_trees": "1"}, headers=Tokens.header(tokens.admin)
    ).json()
    admin_mr = admin["facet_trees"]["contrast"][0]
    assert admin_mr["count"] == 3  # the restricted MPRAGE scan counts for an admin only


def test_search_page_shows_trees_exact_box_and_reasons(site) -> None:  # type: ignore[no-untyped-def]
    client = site[0]
    html = client.get("/search", params={"q": "T1-weighted", "group": "none"}).text
    assert "Searching" in html and "and 8 narrower terms" in html
    assert 'name="exact"' in html and "Exact term only, no narrower concepts" in html
    assert "Matched <strong>T1-weighted</strong> through <strong>MPRAGE</strong>" in html
    assert "read from series description \u201ct1_mprage_sag" in html
    assert "sequence_name:mprage" not in html
    assert f"concept={quote(T1, safe='')}" in html  # the tree node links
    filtered = client.get("/search", params={"concept": T1}).text
    assert "Concept: T1-weighted and narrower" in filtered
    assert "Sagittal 3D structural" in filtered and "T2 RARE anatomical" not in filtered


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("viewer", 403), ("curator", 201), ("admin", 201)]
)
def test_curator_adds_term(site, who: str | None, status: int) -> None:  # type: ignore[no-untyped-def]
    client, _, ids, tokens = site
    headers = Tokens.header(getattr(tokens, who)) if who else {}
    term = {"iri": T1, "label": "T1-weighted", "scheme": "mri"}
    answer = client.post(f"/api/records/{ids.pet}/terms", json=term, headers=headers)
    assert answer.status_code == status, answer.text
    found = client.get("/api/records", params={"concept": T1}).json()
    ids_found = {h["id"] for h in found["hits"]}
    assert (ids.pet in ids_found) is (status == 201)
    if status == 201:
        added = next(t for t in answer.json()["terms"] if t["iri"] == T1)
        assert (added["rule"], added["status"]) == ("manual", "accepted")


def test_curator_term_endpoints_404_and_reject(site) -> None:  # type: ignore[no-untyped-def]
    client, _, ids, tokens = site
    curator = Tokens.header(tokens.curator)
    term = {"iri": T1, "label": "T1-weighted", "scheme": "mri"}
    assert client.post("/api/records/nope/terms", json=term, headers=curator).status_code == 404
    reject = {"status": "rejected"}
    url = "/api/records/mprage-1/terms"
    assert client.patch(url, params={"iri": MPRAGE}, json=reject).status_code == 401
    viewer = Tokens.header(tokens.viewer)
    assert client.patch(url, params={"iri": MPRAGE}, json=reject, headers=viewer).status_code == 403
    gone = client.patch(url, params={"iri": T2}, json=reject, headers=curator)
    assert gone.status_code == 404 and "has no term" in gone.json()["message"]
    bad = client.patch(url, params={"iri": MPRAGE}, json={"status": "maybe"}, headers=curator)
    assert bad.status_code == 422
    done = client.patch(url, params={"iri": MPRAGE}, json=reject, headers=curator)
    assert done.status_code == 200
    assert next(t for t in done.json()["terms"] if t["iri"] == MPRAGE)["status"] == "rejected"
    after = client.get("/api/records", params={"q": "T1-weighted", "exact": "false"}).json()
    assert "mprage-1" not in {h["id"] for h in after["hits"]}
    hidden = client.post(f"/api/records/{ids.secret_scan}/terms", json=term, headers=viewer)
    assert hidden.status_code == 403
