"""Publications and typed links through the API: BibTeX / CSL-JSON / fields, links shown
both ways on landing pages, Scholix at /api/links, visibility through every door."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi.testclient import TestClient
from web_factories import Ids, make_settings

from catalog.domain.identity import SYSTEM
from catalog.domain.records import Access, RecordCreate, Related
from catalog.services.container import Catalog
from catalog.services.publications import parse_bibtex, parse_csl, publication_id

BIBTEX = r"""
% a comment line
@article{doe2024,
  author  = {Doe, Jane and Smith, John},
  title   = {{Mapping} the rat brain at 9.4\,T},
  journal = "NeuroImage",
  year    = 2024,
  volume  = {280},
  pages   = {120--131},
  doi     = {https://doi.org/10.1000/Paper.42},
}
@inproceedings{roe2023, title={Fast {MRI} pipelines}, author={Roe, Richard},
  booktitle={ISMRM}, year={2023}}
"""
CSL = [
    {
        "type": "article-journal",
        "title": "PET of the rat striatum",
        "author": [{"family": "Lee", "given": "Ann"}, {"literal": "PET Consortium"}],
        "issued": {"date-parts": [[2022, 5]]},
        "container-title": "J Nucl Med",
        "DOI": "10.2000/pet.7",
        "PMID": "3456789",
    }
]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bibtex_parsing() -> None:
    first, second = parse_bibtex(BIBTEX)
    assert first.title == "Mapping the rat brain at 9.4 T"
    assert [c.name for c in first.creators] == ["Doe, Jane", "Smith, John"]
    assert first.identifiers[0].identifier == "10.1000/paper.42"
    assert first.publication.year == 2024
    assert first.publication.venue == "NeuroImage"
    assert first.publication.pages == "120-131"
    assert first.id == publication_id("10.1000/paper.42", None)
    assert second.title == "Fast MRI pipelines"
    assert second.publication.kind == "paper-conference"
    assert second.id is None  # no DOI or PMID: a fresh id on creation


def test_csl_parsing() -> None:
    (item,) = parse_csl(CSL)
    assert [c.name for c in item.creators] == ["Lee, Ann", "PET Consortium"]
    assert item.publication.year == 2022
    assert {i.scheme: i.identifier for i in item.identifiers} == {
        "doi": "10.2000/pet.7",
        "pmid": "3456789",
    }


def test_bad_input_names_the_field(fresh) -> None:
    client, _, _, tokens = fresh
    cases = [
        ({"bibtex": "not bibtex at all"}, "no BibTeX entry"),
        ({"bibtex": "@article{x, author={A}}"}, "BibTeX entry 1 has no title"),
        ({"bibtex": "@article{x, title={Unclosed}"}, "cannot read the BibTeX: unbalanced"),
        ({"csl_json": [{"type": "book"}]}, "CSL-JSON item 1 has no title"),
        ({}, "give exactly one of"),
    ]
    for body, message in cases:
        response = client.post("/api/publications", json=body, headers=auth(tokens.curator))
        assert response.status_code == 422, body
        assert message in response.json()["message"]
    anonymous = client.post("/api/publications", json={"bibtex": BIBTEX})
    assert anonymous.status_code == 401


def test_publications_deduplicate_and_link_both_ways(fresh) -> None:
    client, _, ids, tokens = fresh
    body = {"bibtex": BIBTEX, "links": [{"relation": "IsSupplementedBy", "record": ids.study}]}
    created = client.post("/api/publications", json=body, headers=auth(tokens.curator))
    assert created.status_code == 201, created.text
    paper, proceedings = created.json()
    assert paper["level"] == "publication"
    assert paper["publication"]["venue"] == "NeuroImage"
    again = client.post("/api/publications", json={"bibtex": BIBTEX}, headers=auth(tokens.curator))
    assert again.json()[0]["id"] == paper["id"]  # same DOI, same record
    from_study = client.get(f"/api/records/{ids.study}/links").json()
    assert {(link["relation"], link["other"]["id"]) for link in from_study} == {
        ("IsSupplementTo", paper["id"]),
        ("IsSupplementTo", proceedings["id"]),
    }
    assert all(link["direction"] == "incoming" for link in from_study)
    from_paper = client.get(f"/api/records/{paper['id']}/links").json()
    assert [
        (link["relation"], link["other"]["id"], link["other"]["doi"]) for link in from_paper
    ] == [("IsSupplementedBy", ids.study, "10.5281/zenodo.123")]


def test_landing_pages_show_links_both_ways(fresh) -> None:
    client, _, ids, tokens = fresh
    created = client.post("/api/publications", json={"csl_json": CSL}, headers=auth(tokens.curator))
    paper = created.json()[0]
    link = {"source": ids.study, "relation": "IsSupplementTo", "target": paper["id"]}
    assert client.post("/api/links", json=link, headers=auth(tokens.curator)).status_code == 201
    study_page = client.get(f"/records/{ids.study}").text
    assert 'id="links-heading"' in study_page
    assert "IsSupplementTo" in study_page and "PET of the rat striatum" in study_page
    paper_page = client.get(f"/records/{paper['id']}").text
    assert "IsSupplementedBy" in paper_page and "Rat brain MRI at 9.4 T" in paper_page
    assert "doi:10.5281/zenodo.123" in paper_page
    # the link reaches the metadata formats: schema.org citation, DataCite both ways
    jsonld = client.get(f"/records/{ids.study}.jsonld").json()
    assert "https://doi.org/10.2000/pet.7" in jsonld["citation"]
    study_xml = client.get(f"/records/{ids.study}.xml").text
    assert (
        '<relatedIdentifier relatedIdentifierType="DOI" relationType="IsSupplementTo" '
        'resourceTypeGeneral="Text">10.2000/pet.7</relatedIdentifier>'
    ) in study_xml
    paper_xml = client.get(f"/records/{paper['id']}.xml").text
    assert 'relationType="IsSupplementedBy" resourceTypeGeneral="Dataset">10.5281/zenodo.123<' in (
        paper_xml
    )


def test_link_rules(fresh) -> None:
    client, _, ids, tokens = fresh
    paper = client.post("/api/publications", json={"csl_json": CSL}, headers=auth(tokens.curator))
    paper_id = paper.json()[0]["id"]
    cases = [
        ({"source": ids.t2, "relation": "Cites", "target": paper_id}, 422, "is a acquisition"),
        (
            {"source": ids.study, "relation": "Cites", "target": "nope"},
            422,
            "'nope' does not exist",
        ),
        ({"source": ids.study, "relation": "Likes", "target": paper_id}, 422, "relation"),
        ({"source": ids.study, "relation": "Cites", "target": ids.study}, 422, "itself"),
    ]
    for body, status, message in cases:
        response = client.post("/api/links", json=body, headers=auth(tokens.curator))
        assert response.status_code == status, body
        assert message in response.text
    viewer = client.post(
        "/api/links",
        json={"source": ids.study, "relation": "Cites", "target": paper_id},
        headers=auth(tokens.viewer),
    )
    assert viewer.status_code == 403
    assert "curator or admin role" in viewer.json()["message"]
    missing = client.delete(
        "/api/links",
        params={"source": ids.study, "relation": "Cites", "target": paper_id},
        headers=auth(tokens.curator),
    )
    assert missing.status_code == 404
    assert f"no link {ids.study} Cites {paper_id}" in missing.json()["message"]


def test_restricted_ends_are_hidden_and_scholix(fresh) -> None:
    client, _, ids, tokens = fresh
    paper = client.post("/api/publications", json={"csl_json": CSL}, headers=auth(tokens.curator))
    paper_id = paper.json()[0]["id"]
    for source in (ids.study, ids.secret):
        body = {"source": source, "relation": "IsSupplementTo", "target": paper_id}
        assert client.post("/api/links", json=body, headers=auth(tokens.admin)).status_code == 201
    public = client.get(f"/api/records/{paper_id}/links").json()
    assert [link["other"]["id"] for link in public] == [ids.study]
    granted = client.get(f"/api/records/{paper_id}/links", headers=auth(tokens.bob)).json()
    assert {link["other"]["id"] for link in granted} == {ids.study, ids.secret}
    assert "Confidential" not in client.get(f"/records/{paper_id}").text
    scholix = client.get("/api/links").json()
    assert len(scholix["links"]) == 1
    package = scholix["links"][0]
    assert package["RelationshipType"] == {
        "Name": "IsSupplementTo",
        "SubType": "IsSupplementTo",
        "SubTypeSchema": "DataCite",
    }
    assert package["Source"]["Identifier"] == [
        {
            "ID": "10.5281/zenodo.123",
            "IDScheme": "doi",
            "IDURL": "https://doi.org/10.5281/zenodo.123",
        }
    ]
    assert package["Source"]["Type"] == {"Name": "dataset"}
    assert package["Target"]["Type"] == {"Name": "literature"}
    assert package["Target"]["Identifier"][0]["ID"] == "10.2000/pet.7"
    assert len(client.get("/api/links", headers=auth(tokens.admin)).json()["links"]) == 2


def test_scholix_pages(fresh) -> None:
    client, _, ids, tokens = fresh
    created = client.post(
        "/api/publications", json={"bibtex": BIBTEX}, headers=auth(tokens.curator)
    )
    for paper in created.json():
        body = {"source": ids.study, "relation": "IsSupplementTo", "target": paper["id"]}
        client.post("/api/links", json=body, headers=auth(tokens.curator))
    first = client.get("/api/links", params={"size": 1}).json()
    assert len(first["links"]) == 1 and first["next"].startswith("http://testserver/api/links?")
    after = first["next"].split("after=")[1].split("&")[0]
    second = client.get("/api/links", params={"size": 1, "after": unquote(after)}).json()
    assert second["links"][0]["Target"] != first["links"][0]["Target"]


def test_publications_from_bids_references(tmp_path) -> None:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    try:
        study = RecordCreate(
            id="bids-ds",
            level="collection",
            title="BIDS dataset",
            access=Access(),
            related=[
                Related(identifier="10.1038/sdata.2016.44", scheme="DOI", relation="References"),
                Related(
                    identifier="https://bids.neuroimaging.io", scheme="URL", relation="References"
                ),
            ],
        )
        catalog.records.create(SYSTEM, study)
        links = catalog.publications.from_references(SYSTEM, "bids-ds")
        assert [(str(link.relation), link.other.doi) for link in links] == [
            ("References", "10.1038/sdata.2016.44")
        ]
        publication = catalog.records.get(SYSTEM, links[0].other.id)
        assert publication.title == "Publication doi:10.1038/sdata.2016.44"
        assert publication.source.type == "reference"
        again = catalog.publications.from_references(SYSTEM, "bids-ds")
        assert len(again) == 1  # idempotent
    finally:
        catalog.close()


def test_no_links_panel_without_links(client: TestClient, ids: Ids) -> None:
    assert 'id="links-heading"' not in client.get(f"/records/{ids.study}").text
