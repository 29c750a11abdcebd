"""The sitemap (issue 9): one store query, cached per index generation, split into a
sitemap index beyond the per-file limit, never listing what the public may not see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import event
from web_factories import BASE_URL, Ids, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.domain.records import RecordCreate
from catalog.services.container import Catalog
from catalog.web.app import create_app
from catalog.web.cache import stamp_generation
from catalog.web.sitemap import SITEMAP_LIMIT, SitemapCache

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Catalog, Ids]]:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    ids = populate(catalog, extra_scans=4)
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
        yield client, catalog, ids
    catalog.close()


def _record_queries(catalog: Catalog) -> list[str]:
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "FROM records" in statement:
            seen.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", listen)
    return seen


def _locs(xml: bytes, path: str = "s:url/s:loc") -> list[str]:
    return [el.text for el in etree.fromstring(xml).findall(path, NS)]


def _public(ids: Ids) -> set[str]:
    return {f"{BASE_URL}/records/{i}" for i in (ids.study, ids.subject, ids.session, ids.t2)}


def _hidden(ids: Ids) -> set[str]:
    return {f"{BASE_URL}/records/{i}" for i in (ids.secret, ids.secret_scan, ids.gone)}


def test_one_query_then_cached_until_the_index_changes(site) -> None:
    client, catalog, ids = site
    queries = _record_queries(catalog)
    first = client.get("/sitemap.xml")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/xml")
    assert len(queries) == 1  # every URL and lastmod from one query
    assert client.get("/sitemap.xml").content == first.content
    assert len(queries) == 1  # the same index generation: served from the cache
    locs = _locs(first.content)
    assert locs[0] == f"{BASE_URL}/"
    assert _public(ids) <= set(locs)
    assert not _hidden(ids) & set(locs)
    assert len(locs) == len(set(locs))
    added = catalog.records.create(SYSTEM, RecordCreate(level="collection", title="New study"))
    queries.clear()  # the write's own statements
    again = client.get("/sitemap.xml")
    assert f"{BASE_URL}/records/{added.id}" in _locs(again.content)
    assert len(queries) == 1  # a new index generation: built again, in one query


def test_split_into_a_sitemap_index_beyond_the_limit(site) -> None:
    client, catalog, _ = site
    stamp = catalog.index_sync.lock_path.with_suffix(".stamp")
    reference = SitemapCache(catalog.records, BASE_URL, stamp_generation(stamp))
    every = _locs(reference.build()[0].encode())
    client.app.state.sitemaps = SitemapCache(
        catalog.records, BASE_URL, stamp_generation(stamp), limit=3
    )
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    assert etree.fromstring(index.content).tag == f"{{{NS['s']}}}sitemapindex"
    parts = _locs(index.content, "s:sitemap/s:loc")
    expected_files = -(-len(every) // 3)
    assert parts == [f"{BASE_URL}/sitemap-{n}.xml" for n in range(1, expected_files + 1)]
    listed: list[str] = []
    for part in parts:
        response = client.get(part.removeprefix(BASE_URL))
        assert response.status_code == 200
        urls = _locs(response.content)
        assert 1 <= len(urls) <= 3
        listed += urls
    assert listed == every  # the same URLs, in the same order, each once
    missing = client.get(f"/sitemap-{expected_files + 1}.xml")
    assert missing.status_code == 404
    assert "no sitemap file number" in missing.text


def test_the_protocol_limit_is_50000() -> None:
    assert SITEMAP_LIMIT == 50_000
