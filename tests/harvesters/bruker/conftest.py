"""Fixtures for the Bruker harvester tests: synthetic studies for each ParaVision version."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pvfactory import SECRET

from harvesters.base import HarvestOptions
from harvesters.bruker.harvester import BrukerHarvester


@pytest.fixture
def harvester() -> BrukerHarvester:
    return BrukerHarvester(HarvestOptions(secret=SECRET, species="rat"))
