"""Landing pages as researchers read them: the dataset summary and grid, the formatted
citation with its export menu, words instead of codes, distinct titles, the home page's
charts and the offline API docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html
from web_factories import Ids, Tokens, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.domain.records import RecordCreate, Related, SubjectInfo
from catalog.services.container import Catalog
from catalog.web.app import create_app


def doc(response) -> html.HtmlElement:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text[:300]
    return html.fromstring(response.text)


def test_collection_page_opens_with_its_summary_and_grid(client: TestClient, ids: Ids) -> None:
    page = doc(client.get(f"/records/{ids.study}"))
    summary = page.xpath("//section[@aria-labelledby='summary-heading']")[0]
    stats = [
        " ".join(li.text_content().split()) for li in summary.xpath(".//ul[@class='stats']/li")
    ]
    assert stats == ["1 subject", "1 session", "5 acquisitions", "2 files, 123.5 kB"]
    facts = dict(
        zip(
            summary.xpath(".//dl/dt/text()"),
            [" ".join(dd.text_content().split()) for dd in summary.xpath(".//dl/dd")],
            strict=True,
        )
    )
    assert facts["Species"] == "Rattus norvegicus (1 subject)"
    assert facts["Modalities"] == "MR (4), PT (1)"
    assert facts["Field strengths"] == "9.4 T (4)"
    header = summary.xpath(".//table[@class='grid']/thead//th/text()")
    assert header == ["Subject", "Session", "MR", "PT", "anat"]  # most scans first
    rows = summary.xpath(".//table[@class='grid']/tbody/tr")
    assert len(rows) == 1
    assert rows[0].xpath("./th/a/@href") == [f"/records/{ids.subject}"]
    assert rows[0].xpath("./td[@class='num']/text()") == ["3", "1", "1"]
    assert "Confidential" not in page.text_content()  # the restricted study is not counted


def test_summary_api_hides_restricted_records(client: TestClient, ids: Ids, tokens: Tokens) -> None:
    response = client.get(f"/api/records/{ids.study}/summary")
    assert response.status_code == 200
    assert response.json()["acquisitions"] == 5
    hidden = client.get(f"/api/records/{ids.secret}/summary")
    assert hidden.status_code == 404
    assert hidden.json()["message"] == f"no record with id '{ids.secret}'"
    granted = client.get(
        f"/api/records/{ids.secret}/summary", headers={"Authorization": f"Bearer {tokens.bob}"}
    )
    assert granted.json()["acquisitions"] == 1


def test_landing_page_cites_the_dataset_with_an_export_menu(client: TestClient, ids: Ids) -> None:
    page = doc(client.get(f"/records/{ids.study}"))
    cite = page.xpath("//section[@aria-labelledby='cite-heading']")[0]
    text = " ".join(cite.xpath(".//p[@class='citation']")[0].text_content().split())
    year = client.get(f"/api/records/{ids.study}").json()["created"][:4]
    assert text == (
        f"Doe, J. ({year}). Rat brain MRI at 9.4 T (Version 1) [Data set]. Imagora. "
        "https://doi.org/10.5281/zenodo.123"
    )
    menu = cite.xpath(".//details[contains(@class, 'export-menu')]")[0]
    assert menu.xpath("./summary/text()") == ["Export citation"]
    links = dict(zip(menu.xpath(".//a/text()"), menu.xpath(".//a/@href"), strict=True))
    assert links == {
        "BibTeX": f"/records/{ids.study}.bib",
        "CSL-JSON": f"/records/{ids.study}.csl.json",
        "DataCite XML": f"/records/{ids.study}.xml",
        "RIS": f"/records/{ids.study}.ris",
    }
    assert client.get(links["BibTeX"]).text.startswith("@misc{")
    assert "<resource" in client.get(links["DataCite XML"]).text
    formats = cite.xpath(".//span[@class='formats']/a/@href")
    assert f"/records/{ids.study}.jsonld" in formats and f"/records/{ids.study}.ttl" in formats
    assert f"/api/records/{ids.study}" in formats


def test_ages_relations_and_term_origins_read_as_words(fresh) -> None:  # type: ignore[no-untyped-def]
    client, catalog, ids, _tokens = fresh
    subject = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level="subject",
            title="rat-02",
            parent_id=ids.study,
            subject=SubjectInfo(age="P84D", sex="male"),
            related=[Related(identifier="10.1000/x", scheme="DOI", relation="IsDerivedFrom")],
        ),
    )
    page = doc(client.get(f"/records/{subject.id}"))
    text = " ".join(page.text_content().split())
    panel = page.xpath("//section[@aria-labelledby='subject-heading']")[0]
    facts = dict(zip(panel.xpath(".//dt/text()"), panel.xpath(".//dd/text()"), strict=True))
    assert facts["Age"] == "84 days" and "P84D" not in text
    assert "This record is derived from" in text and "IsDerivedFrom" not in text
    scan = client.get(f"/api/records/{ids.t2}").json()
    scan_text = doc(client.get(f"/records/{ids.t2}")).text_content()
    assert scan["terms"], "the annotator gave the scan terms"
    for term in scan["terms"]:
        assert term["rule"] not in scan_text  # internal rule ids stay internal
    assert "assigned automatically from" in scan_text


@pytest.fixture
def small_pages(tmp_path: Path) -> Iterator[TestClient]:
    """A catalogue shown three hits a page, so searches have several pages."""
    catalog = Catalog.open(make_settings(tmp_path / "data", page_size=3))
    populate(catalog, extra_scans=3)
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
        yield client
    catalog.close()


def test_search_titles_and_pager_say_where_you_are(small_pages: TestClient) -> None:
    def title(path: str) -> str:
        return doc(small_pages.get(path)).xpath("//title/text()")[0]

    total = small_pages.get("/api/records?q=").json()["total"]
    pages = -(-total // 3)
    assert pages >= 3
    assert title("/search?q=") == "Search \u2013 Imagora"
    flat = "/search?q=&group=none"  # one hit per record (the page groups by dataset)
    assert title(f"{flat}&page=2") == f"page 2 of {pages} \u2013 Search \u2013 Imagora"
    assert title("/search?q=rat+brain") == "rat brain \u2013 Search \u2013 Imagora"
    filtered = title("/search?q=rat&modality=MR&page=2&group=none")
    assert filtered.startswith("rat \u00b7 Modality: MR \u2013 page 2")
    pager = doc(small_pages.get(f"{flat}&page=2")).xpath("//nav[@class='pager']//span/text()")
    assert pager == [f"Page 2 of {pages}"]


def test_home_page_shows_the_catalogue_at_a_glance(client: TestClient) -> None:
    page = doc(client.get("/"))
    charts = page.xpath("//section[@class='glance']//figure/@id")
    assert charts == ["chart-modality", "chart-field-strength", "chart-species"]
    modality = page.xpath("//figure[@id='chart-modality']//svg")[0]
    assert modality.get("aria-label") == "Modalities: MR 4, PT 1"  # the secret CT is hidden
    assert modality.xpath(".//a/@href") == ["/search?modality=MR", "/search?modality=PT"]
    widths = [float(w) for w in modality.xpath(".//rect/@width")]
    assert widths[0] == 120.0 and widths[1] == 30.0  # 4 : 1
    assert not page.xpath("//script[contains(@src, 'http')]")
    assert not doc(client.get("/search?q=rat")).xpath("//section[@class='glance']")


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    tree = html.fromstring(page.text)
    scripts = tree.xpath("//script/@src")
    styles = tree.xpath("//link[@rel='stylesheet' or @type='text/css']/@href")
    assert scripts == ["/docs-assets/swagger-ui-bundle.js"]
    assert styles == ["/docs-assets/swagger-ui.css"]
    assert "cdn" not in page.text.lower()
    script = client.get(scripts[0])
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    assert client.get(styles[0]).headers["content-type"].startswith("text/css")


def test_summary_of_a_record_without_children_is_not_shown(client: TestClient, ids: Ids) -> None:
    page = doc(client.get(f"/records/{ids.t2}"))
    assert not page.xpath("//section[@aria-labelledby='summary-heading']")
    assert page.xpath("//section[@aria-labelledby='cite-heading']")
