"""FAIR Signposting level 1 (Link headers) and level 2 (linkset), read by the
`signposting` package, and the citation formats reached by URL and by negotiation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from live import serving
from signposting import find_signposting_http_link
from signposting.linkset import find_signposting_linkset
from web_factories import Ids

from catalog.services.container import Catalog
from catalog.web.app import create_app

BASE = "http://testserver"


@pytest.fixture(scope="module")
def live(web_catalog: tuple[Catalog, Ids]) -> Iterator[str]:
    with serving(create_app(catalog=web_catalog[0])) as url:
        yield url


def test_level_one_link_header(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.study}")
    signposts = find_signposting_http_link([response.headers["link"]], f"{BASE}/records/x")
    assert str(signposts.citeAs.target) == "https://doi.org/10.5281/zenodo.123"
    assert {str(t.target) for t in signposts.types} == {
        "https://schema.org/AboutPage",
        "https://schema.org/Dataset",
    }
    assert [str(a.target) for a in signposts.authors] == ["https://orcid.org/0000-0002-1825-0097"]
    assert str(signposts.license.target) == "https://spdx.org/licenses/CC-BY-4.0"
    described = {str(d.type): str(d.target) for d in signposts.describedBy}
    assert described["application/vnd.citationstyles.csl+json"] == (
        f"{BASE}/records/{ids.study}.csl.json"
    )
    assert described["application/x-research-info-systems"] == f"{BASE}/records/{ids.study}.ris"
    assert described["application/vnd.datacite.datacite+xml"] == f"{BASE}/records/{ids.study}.xml"
    linksets = [str(link.target) for link in signposts.linksets]
    assert linksets == [f"{BASE}/records/{ids.study}/linkset"]


def test_item_links_only_for_downloadable_files(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.t2}")
    signposts = find_signposting_http_link([response.headers["link"]], f"{BASE}/records/x")
    assert [(str(i.target), str(i.type)) for i in signposts.items] == [
        ("https://data.example.org/rat/T2w.nii.gz", "application/gzip")
    ]
    assert str(signposts.citeAs.target) == f"{BASE}/records/{ids.t2}"


def test_level_two_linkset_read_by_the_signposting_package(live: str, ids: Ids) -> None:
    found = find_signposting_linkset(f"{live}/records/{ids.study}/linkset")
    landing = f"{BASE}/records/{ids.study}"  # the anchor: the landing page it describes
    assert {str(c) for c in found.other_contexts} == {landing}
    signposts = found.for_context(landing)
    assert str(signposts.citeAs.target) == "https://doi.org/10.5281/zenodo.123"
    assert str(signposts.license.target) == "https://spdx.org/licenses/CC-BY-4.0"
    described = {str(d.type) for d in signposts.describedBy}
    assert {"application/ld+json", "text/turtle", "application/x-bibtex"} <= described
    assert [str(a.target) for a in signposts.authors] == ["https://orcid.org/0000-0002-1825-0097"]


def test_linkset_matches_the_header_and_hides_restricted(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.study}/linkset")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/linkset+json"
    anchor = response.json()["linkset"][0]
    assert anchor["anchor"] == f"{BASE}/records/{ids.study}"
    header = client.get(f"/records/{ids.study}").headers["link"]
    for rel, targets in anchor.items():
        if rel != "anchor":
            assert all(f'<{t["href"]}> ; rel="{rel}"' in header for t in targets)
    hidden = client.get(f"/records/{ids.secret}/linkset")
    assert hidden.status_code == 404
    assert f"no record with id &#39;{ids.secret}&#39;" in hidden.text


@pytest.mark.parametrize(
    ("suffix", "media", "marker"),
    [
        ("csl.json", "application/vnd.citationstyles.csl+json", '"type": "dataset"'),
        ("ris", "application/x-research-info-systems", "TY  - DATA"),
    ],
)
def test_citation_formats_by_url_and_negotiation(
    client: TestClient, ids: Ids, suffix: str, media: str, marker: str
) -> None:
    by_url = client.get(f"/records/{ids.study}.{suffix}")
    assert by_url.status_code == 200
    assert by_url.headers["content-type"] == f"{media}; charset=utf-8"
    assert marker in by_url.text
    negotiated = client.get(f"/records/{ids.study}", headers={"Accept": media})
    assert negotiated.headers["content-type"] == f"{media}; charset=utf-8"
    assert negotiated.content == by_url.content
    hidden = client.get(f"/records/{ids.secret}.{suffix}")
    assert hidden.status_code == 404


def test_csl_json_lists_the_doi(client: TestClient, ids: Ids) -> None:
    item = json.loads(client.get(f"/records/{ids.study}.csl.json").text)[0]
    assert item["DOI"] == "10.5281/zenodo.123"
    assert item["title"] == "Rat brain MRI at 9.4 T"
