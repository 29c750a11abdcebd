"""Server-rendered pages: search page states, facets, landing page content, Signposting."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from lxml import html
from web_factories import Ids

from catalog.domain.records import RecordPublic
from catalog.settings import Settings
from exporters.base import ExportContext
from exporters.negotiation import negotiate as negotiated
from exporters.signposting import links as signposting_links


def doc(response) -> html.HtmlElement:  # type: ignore[no-untyped-def]
    return html.fromstring(response.text)


def test_search_page_has_landmarks_label_and_skip_link(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = doc(response)
    assert page.xpath("//a[@class='skip-link']/@href") == ["#main"]
    assert page.xpath("//main[@id='main']")
    assert page.xpath("//form[@role='search']//label[@for='q']/text()")
    assert page.xpath("//input[@id='q' and @name='q']")
    assert page.xpath("//aside[@id='facets']//h2/text()") == ["Refine results"]
    assert not page.xpath("//script[contains(@src, 'http')] | //link[contains(@href, 'http')]")


def test_search_page_results_show_imaging_facts(client: TestClient, ids: Ids) -> None:
    page = doc(client.get("/search", params={"q": "RARE", "group": "none", "level": "acquisition"}))
    titles = page.xpath("//li[@class='hit']//h2/a")
    assert [a.text for a in titles] == ["T2 RARE anatomical"]
    assert titles[0].get("href") == f"/records/{ids.t2}"
    facts = " ".join(page.xpath("//li[@class='hit']//ul[@class='facts']//text()"))
    for expected in ("MR", "9.4 T", "Bruker", "T2w", "Rattus norvegicus", "files open"):
        assert expected in facts, expected
    assert page.xpath("//li[@class='hit']//span[contains(@class,'level-acquisition')]")


def test_facet_links_toggle_filters(client: TestClient) -> None:
    page = doc(client.get("/search", params={"q": "rat", "group": "none"}))
    link = page.xpath("//details[summary='Modality']//a[.//span[@class='facet-label']='PT']")[0]
    params = parse_qsl(urlsplit(link.get("href")).query)
    assert params == [("q", "rat"), ("group", "none"), ("modality", "PT")]
    filtered = doc(client.get(link.get("href") + "&level=acquisition"))
    assert [a.text for a in filtered.xpath("//li[@class='hit']//h2/a")] == ["FDG PET dynamic"]
    chip = filtered.xpath("//section[@class='active-filters']//span[@class='chip']")[0]
    assert "Modality: PT" in chip.text_content()
    remove = chip.xpath(".//a")[0].get("href")
    assert parse_qsl(urlsplit(remove).query) == [
        ("q", "rat"),
        ("group", "none"),
        ("level", "acquisition"),
    ]
    active = filtered.xpath("//a[contains(@class,'facet') and contains(@class,'active')]")
    assert active and active[0].get("aria-current") == "true"
    assert filtered.xpath("//input[@type='hidden' and @name='modality' and @value='PT']")


def test_species_filter_chip_shows_label_not_iri(client: TestClient) -> None:
    iri = "http://purl.obolibrary.org/obo/NCBITaxon_10116"
    page = doc(client.get("/search", params={"species": iri}))
    chip = page.xpath("//span[@class='chip']")[0].text_content()
    assert "Species: Rattus norvegicus" in chip


def test_empty_and_error_states(client: TestClient) -> None:
    empty = client.get("/search", params={"q": "zebrafishxyz"})
    assert empty.status_code == 200
    assert "No records match" in empty.text
    bad = client.get("/search", params={"colour": "red"})
    assert bad.status_code == 400
    alert = doc(bad).xpath("//div[@role='alert']")[0].text_content()
    assert "cannot filter on 'colour'" in alert
    assert doc(bad).xpath("//input[@id='q']")  # the form stays usable


def test_pagination_links_on_search_page(client: TestClient) -> None:
    settings: Settings = client.app.state.catalog.settings  # type: ignore[attr-defined]
    assert settings.page_size == 20
    page = doc(client.get("/search", params={"q": "rat", "size": "2"}))
    # the page size is fixed for pages; with < 20 hits there is a single page
    assert not page.xpath("//nav[@class='pager']")


def test_landing_page_shows_metadata_hierarchy_and_files(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.t2}")
    assert response.status_code == 200
    page = doc(response)
    assert page.xpath("//h1[@id='record-title']/text()") == ["T2 RARE anatomical"]
    crumbs = page.xpath("//nav[@aria-label='Hierarchy']//a/@href")
    assert crumbs == [f"/records/{ids.study}", f"/records/{ids.subject}", f"/records/{ids.session}"]
    facts = dict(
        zip(
            page.xpath("//table[@class='facts-table']//th/text()"),
            page.xpath("//table[@class='facts-table']//td/text()"),
            strict=True,
        )
    )
    assert facts["Field strength"] == "9.4 T"
    assert facts["Echo time (TE)"] == "33 ms"
    assert facts["Voxel size"] == "0.1 \u00d7 0.1 \u00d7 0.5 mm"
    text = page.text_content()
    assert "T2w" in text and "anat" in text  # BIDS
    assert "sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz" in text
    assert "121 KB" in text or "120.6 KiB" in text or "123.5 kB" in text


def test_landing_page_of_collection(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.study}")
    page = doc(response)
    text = page.text_content()
    assert "Jane Doe" in text and "CC-BY-4.0" in text and "10.5281/zenodo.123" in text
    assert page.xpath("//a[@rel='license']/@href") == ["https://spdx.org/licenses/CC-BY-4.0"]
    assert page.xpath("//section[@aria-labelledby='children-heading']//a/@href") == [
        f"/records/{ids.subject}"
    ]
    assert "This record is cited by" in text and "IsCitedBy" not in text
    link = response.headers["link"]
    assert '<https://doi.org/10.5281/zenodo.123> ; rel="cite-as"' in link
    assert '<https://orcid.org/0000-0002-1825-0097> ; rel="author"' in link
    assert '<https://spdx.org/licenses/CC-BY-4.0> ; rel="license"' in link
    assert f'<http://testserver/api/records/{ids.study}> ; rel="describedby"' in link


def test_children_on_landing_page_are_paginated(client: TestClient, ids: Ids) -> None:
    import catalog.web.pages as pages

    old = pages.CHILDREN_PAGE_SIZE
    pages.CHILDREN_PAGE_SIZE = 2
    try:
        first = doc(client.get(f"/records/{ids.session}"))
        assert "Contains 5 records" in first.text_content()
        assert len(first.xpath("//ul[@class='children']/li")) == 2
        nxt = first.xpath("//nav[@class='pager']//a[@rel='next']/@href")[0]
        assert nxt == f"/records/{ids.session}?children_page=2"
        second = doc(client.get(nxt))
        assert len(second.xpath("//ul[@class='children']/li")) == 2
    finally:
        pages.CHILDREN_PAGE_SIZE = old


def test_withdrawn_record_shows_tombstone(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.gone}")
    assert response.status_code == 200
    assert "This record has been withdrawn" in response.text


def test_restricted_landing_page_is_html_404(client: TestClient, ids: Ids) -> None:
    response = client.get(f"/records/{ids.secret_scan}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f"no record with id &#39;{ids.secret_scan}&#39;" in response.text
    assert "Hidden CT scan" not in response.text


def test_html_is_escaped(client: TestClient) -> None:
    response = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_signposting_items_only_for_open_url_files(client: TestClient, ids: Ids) -> None:
    record = RecordPublic.model_validate(client.get(f"/api/records/{ids.t2}").json())
    context = ExportContext(base_url="https://cat.example.org")
    links = [link.header() for link in signposting_links(record, context, [])]
    assert links[0] == f'<https://cat.example.org/records/{ids.t2}> ; rel="cite-as"'
    items = [link for link in links if 'rel="item"' in link]
    assert items == [
        '<https://data.example.org/rat/T2w.nii.gz> ; rel="item" ; type="application/gzip"'
    ]


def test_content_negotiation_choice() -> None:
    offered = ["application/ld+json", "text/turtle"]
    assert negotiated("application/ld+json", offered) == "application/ld+json"
    assert negotiated("text/html,application/xhtml+xml,*/*;q=0.8", offered) is None
    assert negotiated("text/turtle;q=0.9, application/ld+json;q=0.5", offered) == "text/turtle"
    assert negotiated("", offered) is None
    assert negotiated("application/ld+json;q=0", offered) is None


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and ".skip-link" in css.text


def test_search_page_groups_hits_by_dataset_with_rollup(client: TestClient, ids: Ids) -> None:
    page = doc(client.get("/search", params={"q": "rat 9.4T T2"}))
    understood = page.xpath("//p[@id='understood']")[0].text_content()
    assert "field strength 9.4 T (8.7\u201310.1 T)" in understood
    cards = page.xpath("//li[contains(@class,'dataset')]")
    assert [c.xpath(".//h2/a")[0].get("href") for c in cards] == [f"/records/{ids.study}"]
    holds = " ".join(cards[0].xpath(".//ul[contains(@class,'rollup')]//text()"))
    assert "Rattus norvegicus" in holds and "9.4 T" in holds and "subject" in holds
    beneath = cards[0].xpath(".//ul[@class='sub-hits']//a/text()")
    assert "T2 RARE anatomical" in beneath
    flat = page.xpath("//p[@class='view-switch']//a")[0].get("href")
    assert ("group", "none") in parse_qsl(urlsplit(flat).query)


def test_search_page_suggests_corrections_and_shows_facet_bars(client: TestClient) -> None:
    page = doc(client.get("/search", params={"q": "anatomicl", "group": "none"}))
    suggestion = page.xpath("//ul[@class='did-you-mean']//a")[0]
    assert suggestion.text == "anatomical"
    assert parse_qsl(urlsplit(suggestion.get("href")).query)[0] == ("q", "anatomical")
    full = doc(client.get("/search", params={"group": "none"}))
    bars = full.xpath("//details[summary='Modality']//span[@class='bar']")
    assert bars and all("width:" in b.get("style") for b in bars)
    assert full.xpath("//p[@class='facet-missing']")  # collections have no modality
    assert full.xpath("//form[@class='range-form']//input[@name='tr_ms.min']")


def test_one_species_facet_the_tree(client: TestClient) -> None:
    page = doc(client.get("/search", params={"group": "none"}))
    species = page.xpath("//details[summary='Species']")
    assert len(species) == 1 and "tree" in species[0].get("class")
