"""Fixtures for the publisher tests: loopback Zenodo and DataCite, a package, a fake clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from datacite_server import DataCiteServer
from loopback import serving
from publish_support import FakeClock
from zenodo_server import ZenodoServer


@pytest.fixture
def zenodo() -> Iterator[ZenodoServer]:
    with serving(ZenodoServer()) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def datacite() -> Iterator[DataCiteServer]:
    with serving(DataCiteServer()) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
