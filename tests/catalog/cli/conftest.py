"""Fixtures for the command-line tests: a data dir, a runner bound to it, seeded records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_support import Invoke, Seeded
from click.testing import CliRunner, Result

from catalog.cli.main import cli
from catalog.domain.enums import Level
from catalog.domain.identity import SYSTEM
from catalog.domain.records import Imaging, RecordCreate, SourceInfo
from catalog.services.container import Catalog
from catalog.settings import Settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def invoke(data_dir: Path) -> Invoke:
    """Run `imagora --data-dir <data_dir> ARGS...` in-process; stdout and stderr apart."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)

    return run


@pytest.fixture
def open_catalog(data_dir: Path) -> Iterator[Callable[[], Catalog]]:
    """Open the same installation the CLI uses (closed at the end of the test)."""
    opened: list[Catalog] = []

    def open_() -> Catalog:
        catalog = Catalog.open(Settings.load(data_dir=data_dir))
        opened.append(catalog)
        return catalog

    yield open_
    for catalog in opened:
        catalog.close()


@pytest.fixture
def seeded(data_dir: Path) -> Seeded:
    """A public collection with one MR acquisition, written through the service."""
    catalog = Catalog.open(Settings.load(data_dir=data_dir))
    try:
        return _seed(catalog)
    finally:
        catalog.close()


def _seed(catalog: Catalog) -> Seeded:
    source = SourceInfo(type="deposit")
    collection = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level=Level.collection,
            title="Hippocampus atlas of the rat",
            description="Ex vivo rat brain atlas",
            license="CC-BY-4.0",
            source=source,
        ),
    )
    scan = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level=Level.acquisition,
            title="Hippocampus T2 RARE",
            parent_id=collection.id,
            imaging=Imaging(modality="MR", manufacturer="Bruker"),
            source=source,
        ),
    )
    return Seeded(collection.id, scan.id)
