"""Shared helper for the Bruker tests (a uniquely named module: `conftest` names clash)."""

from __future__ import annotations

from pathlib import Path

from harvesters.base import FileFacts, ItemError
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
