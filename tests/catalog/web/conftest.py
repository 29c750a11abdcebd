"""Fixtures for the web tests: a real Catalog on a temporary SQLite data dir, an app, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_factories import Ids, Tokens, make_settings, populate

from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.web.app import create_app


@pytest.fixture(scope="module")
def web_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Catalog, Ids]]:
    catalog = Catalog.open(make_settings(tmp_path_factory.mktemp("web") / "data"))
    ids = populate(catalog, extra_scans=3)
    yield catalog, ids
    catalog.close()


@pytest.fixture(scope="module")
def ids(web_catalog: tuple[Catalog, Ids]) -> Ids:
    return web_catalog[1]


@pytest.fixture(scope="module")
def client(web_catalog: tuple[Catalog, Ids]) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=web_catalog[0]), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(web_catalog: tuple[Catalog, Ids]) -> Tokens:
    create = web_catalog[0].tokens.create
    return Tokens(
        viewer=create(SYSTEM, "alice", "viewer"),
        curator=create(SYSTEM, "carol", "curator"),
        admin=create(SYSTEM, "root", "admin"),
        bob=create(SYSTEM, "bob", "viewer"),
    )


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[TestClient, Catalog, Ids, Tokens]]:
    """A catalogue of its own, for tests that change records."""
    catalog = Catalog.open(make_settings(tmp_path / "data", max_upload_bytes=4096))
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
