"""Fixtures for the catalogue core: a real Catalog on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.services.container import Catalog
from catalog.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests run against the embedded default and against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def catalog(db_url: str, tmp_path: Path) -> Iterator[Catalog]:
    settings = Settings.load(data_dir=tmp_path / "data", database_url=db_url)
    cat = Catalog.open(settings)
    try:
        yield cat
    finally:
        cat.close()


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        yield cat
    finally:
        cat.close()
