"""Typo help on the demo catalogue: a correction whose concept has no records.

`hipocampus` corrects to the vocabulary label hippocampus, which no demo record carries;
the correction is still offered ("no records yet") and leads on to the nearest broader
concept that has records (the brain), counted, through `/api/records` and the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from web_factories import make_settings

from catalog.services.container import Catalog
from catalog.services.demo import run_demo
from catalog.web.app import create_app


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("demo") / "data"
    catalog = Catalog.open(make_settings(data_dir))
    report = run_demo(catalog)
    assert all(h.failed == 0 for h in report.harvests), report
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
        yield client
    catalog.close()


def total(client: TestClient, text: str) -> int:
    answer = client.get("/api/records", params={"q": text})
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


def test_api_offers_the_correction_then_its_broader_concept(demo_client: TestClient) -> None:
    assert total(demo_client, "hippocampus") == 0  # the label exists, no record has it
    brain = total(demo_client, "brain")
    assert brain > 0
    body = demo_client.get("/api/records", params={"q": "hipocampus"}).json()
    assert body["total"] == 0
    first, second = body["suggestions"][:2]
    assert first == {
        "text": "hippocampus",
        "reason": '"hipocampus" looks like "hippocampus"',
        "count": 0,
    }
    assert second["text"] == "brain" and second["count"] == brain
    assert re.fullmatch(r"no records for .+; its broader concept is brain", second["reason"])


def test_other_words_stay_in_the_suggested_queries(demo_client: TestClient) -> None:
    body = demo_client.get("/api/records", params={"q": "rat hipocampus"}).json()
    texts = [(s["text"], s["count"]) for s in body["suggestions"]]
    assert texts[:2] == [("rat hippocampus", 0), ("rat brain", total(demo_client, "rat brain"))]
    assert texts[1][1] > 0


def test_a_typo_of_a_concept_with_records_is_counted_as_before(demo_client: TestClient) -> None:
    body = demo_client.get("/api/records", params={"q": "brian"}).json()
    first = body["suggestions"][0]
    assert (first["text"], first["count"]) == ("brain", total(demo_client, "brain"))
    assert first["reason"] == '"brian" looks like "brain"'


def test_a_word_close_to_nothing_gets_no_suggestion(demo_client: TestClient) -> None:
    body = demo_client.get("/api/records", params={"q": "qqqqzzzz"}).json()
    assert body["total"] == 0 and body["suggestions"] == []


def test_search_page_shows_did_you_mean_with_the_broader_concept(
    demo_client: TestClient,
) -> None:
    page = demo_client.get("/search", params={"q": "hipocampus"})
    assert page.status_code == 200
    html = page.text
    assert "Did you mean:" in html
    brain = total(demo_client, "brain")
    assert re.search(r">hippocampus</a> \(no records yet\)", html)
    assert re.search(rf">brain</a> \({brain} records\)", html)
    assert html.index(">hippocampus</a>") < html.index(">brain</a>")
    assert f"q={quote('brain')}" in html
