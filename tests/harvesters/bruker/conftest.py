"""Fixtures for the Bruker harvester tests: synthetic studies for each ParaVision version."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pvfactory import SECRET

from harvesters.base import FileFacts, HarvestOptions, ItemError
from harvesters.bruker.harvester import BrukerHarvester


def harvest(harvester: BrukerHarvester, location: Path) -> tuple[list, list[ItemError]]:
    """discover + read + assemble the way the harvest service does; errors collected."""
    facts: list[FileFacts] = []
    errors: list[ItemError] = []
    for found in harvester.discover(location):
        if isinstance(found, ItemError):
            errors.append(found)
            continue
        try:
            facts.extend(harvester.read(found))
        except (ValueError, OSError) as exc:
            errors.append(ItemError(str(found), str(exc)))
    records = []
    for item in harvester.assemble(location, facts):
        (errors if isinstance(item, ItemError) else records).append(item)
    return records, errors


@pytest.fixture
def harvester() -> BrukerHarvester:
    return BrukerHarvester(HarvestOptions(secret=SECRET, species="rat"))
