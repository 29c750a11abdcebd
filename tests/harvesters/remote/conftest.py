"""Fixtures for remote harvesters: loopback servers and a fresh catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Loopback
from xnat_fake import FakeXnat, realistic

from catalog.services.container import Catalog
from catalog.settings import Settings


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(Settings.load(data_dir=tmp_path / "data", secret_key="test-secret"))
    yield cat
    cat.close()


@pytest.fixture
def xnat() -> Iterator[Loopback]:
    with Loopback(FakeXnat(realistic())) as server:
        yield server
