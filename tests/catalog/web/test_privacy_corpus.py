"""No patient data leaves the service: a seeded corpus through every door.

DICOM, BIDS and ParaVision files carry identifying markers in every PS3.15 attribute, in
free text and in folder names at every depth, the harvested folders included (see
`privacy_corpus`). After harvesting them, no marker may appear in any record format
(JSON, JSON-LD, Turtle, DataCite XML, BibTeX), page, CKAN answer, search hit or facet,
export (/catalog.ttl, /catalog.jsonld, sitemap) or log line; anonymous callers never see
the server's paths either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from privacy_corpus import bids_corpus, bruker_corpus, dicom_corpus, leaks, write_dicom
from pydicom.uid import generate_uid
from web_factories import make_settings

from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.web.app import create_app

RECORD_PATHS = (
    "/api/records/{id}",
    "/api/records/{id}/children",
    "/records/{id}",
    "/records/{id}.jsonld",
    "/records/{id}.ttl",
    "/records/{id}.xml",
    "/records/{id}.bib",
    "/api/3/action/package_show?id={id}",
)
SITE_PATHS = (
    "/api/records?size=100",
    "/api/records?size=100&level=subject",
    "/api/records?size=100&level=session",
    "/search?q=",
    "/api/3/action/package_search?rows=1000",
    "/api/3/action/package_list",
    "/catalog.ttl",
    "/catalog.jsonld",
    "/sitemap.xml",
)
QUERIES = ("ZORBLAX", "MRN55555QZ", "OTHERID77QZ", "ACC31337QZ", "XU", "QJ", "QZM001")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("httpx"):  # the test's own client, not the service
            self.lines.append(self.format(record))


@dataclass
class Corpus:
    client: TestClient
    catalog: Catalog
    base: Path
    ids: list[str]
    logs: _Collect
    roots: list[Path] = field(default_factory=list)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    base = tmp_path_factory.mktemp("privacy")
    logs = _Collect()
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.addHandler(logs)
    root_logger.setLevel(logging.DEBUG)
    catalog = Catalog.open(make_settings(base / "data"))
    roots = []
    for kind, build in (("dicom", dicom_corpus), ("bids", bids_corpus), ("bruker", bruker_corpus)):
        root = build(base)
        options = catalog.harvest.parse_options(kind, {} if kind == "dicom" else {"species": "rat"})
        report = catalog.harvest.run(SYSTEM, kind, str(root), options)
        assert report.failed == 0, report.errors
        roots.append(root)
    hits = catalog.records.search(SYSTEM, SearchRequest(size=100)).hits
    try:
        with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
            yield Corpus(client, catalog, base, [h.id for h in hits], logs, roots)
    finally:
        catalog.close()
        root_logger.removeHandler(logs)
        root_logger.setLevel(level)


def _get(corpus: Corpus, path: str) -> str:
    response = corpus.client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
    return response.text


def _assert_clean(corpus: Corpus, path: str, text: str) -> None:
    assert leaks(text) == [], f"{path} shows {leaks(text)}"
    assert str(corpus.base) not in text, f"{path} shows the server's path"


def test_the_corpus_really_holds_markers(corpus: Corpus) -> None:
    """The check can fail: the files and folder names hold every kind of marker."""
    names = " ".join(str(p) for root in corpus.roots for p in root.rglob("*"))
    assert {"ZORBLAX", "MRN55555QZ", "OTHERID77QZ", "ACC31337QZ", "XU", "QJ"} <= set(leaks(names))
    dicom = next((corpus.roots[0]).rglob("*.dcm")).read_bytes()
    assert {"QZM", "1937-04-11"} - set(leaks(dicom.decode("latin-1"))) == {"1937-04-11"}
    assert len(corpus.ids) >= 15


def test_no_marker_in_any_record_format_page_or_ckan_answer(corpus: Corpus) -> None:
    for record_id in corpus.ids:
        for template in RECORD_PATHS:
            path = template.format(id=record_id)
            _assert_clean(corpus, path, _get(corpus, path))


def test_no_marker_in_listings_facets_exports_or_sitemap(corpus: Corpus) -> None:
    for path in SITE_PATHS:
        _assert_clean(corpus, path, _get(corpus, path))


def test_searching_for_a_marker_finds_nothing(corpus: Corpus) -> None:
    for query in QUERIES:
        found = corpus.client.get("/api/records", params={"q": query, "exact": "true"}).json()
        assert found["total"] == 0, f"q={query} found {[h['title'] for h in found['hits']]}"
        ckan = corpus.client.get("/api/3/action/package_search", params={"q": query}).json()
        assert ckan["result"]["count"] == 0, f"CKAN q={query}"


def test_the_harvested_folders_names_are_pseudonymised_in_titles(corpus: Corpus) -> None:
    page = corpus.client.get("/api/records", params={"level": "collection"}).json()
    titles = sorted(h["title"] for h in page["hits"])
    assert titles[0] == "Privacy corpus"  # BIDS: the dataset's own name
    assert all(t.startswith("sub-") for t in titles[1:]), titles


def test_no_marker_in_any_log_line(corpus: Corpus) -> None:
    for record_id in corpus.ids[:3]:
        corpus.client.get(f"/records/{record_id}")
    assert corpus.logs.lines, "the harvest and the requests logged nothing at all"
    for line in corpus.logs.lines:
        assert leaks(line) == [], line


def test_the_issues_exact_inputs(tmp_path: Path) -> None:
    """`harvest dicom .../SMITH^JOHN`, PatientID MRN55555 repeated in the descriptions."""
    root = tmp_path / "exports" / "SMITH^JOHN"
    study = generate_uid()
    header = {
        "PatientName": "SMITH^JOHN",
        "PatientID": "MRN55555",
        "StudyDescription": "Study of patient MRN55555",
    }
    write_dicom(root / "1.dcm", study, generate_uid(), 1, "MRN55555 follow-up", **header)
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    try:
        report = catalog.harvest.run(SYSTEM, "dicom", str(root))
        assert (report.created, report.failed) == (4, 0)
        with TestClient(create_app(catalog=catalog)) as client:
            hits = client.get("/api/records", params={"size": 10, "sort": "title"}).json()["hits"]
            titles = sorted(h["title"] for h in hits)
            assert not [t for t in titles if "SMITH" in t or "MRN55555" in t], titles
            assert any(t.endswith(" follow-up") for t in titles)
            assert any(t.startswith("Study of patient sub-") for t in titles)
            for query in ("SMITH", "JOHN", "MRN55555"):
                assert client.get("/api/records", params={"q": query}).json()["total"] == 0
            leaf = next(h["id"] for h in hits if h["level"] == "acquisition")
            for suffix in ("", ".jsonld", ".ttl", ".xml", ".bib"):
                text = client.get(f"/records/{leaf}{suffix}").text  # breadcrumbs included
                assert "SMITH" not in text and "MRN55555" not in text, suffix
            show = client.get("/api/3/action/package_show", params={"id": leaf}).text
            assert "SMITH" not in show and "MRN55555" not in show
    finally:
        catalog.close()
