"""Helpers shared by the BIDS harvester tests: run a full harvest, write small trees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harvesters.base import FileFacts, HarvestedRecord, HarvestOptions, ItemError
from harvesters.bids.harvester import BidsHarvester
from harvesters.bids.sample import write_nifti

DATA = Path(__file__).resolve().parents[2] / "data" / "bids"
SECRET = b"test-secret"


def harvester(**options: Any) -> BidsHarvester:
    return BidsHarvester(HarvestOptions(secret=SECRET, **options))


def collect(root: Path, h: BidsHarvester | None = None) -> tuple[list[FileFacts], list[ItemError]]:
    """discover + read, as the harvest service does (errors kept, never raised)."""
    h = h or harvester()
    facts: list[FileFacts] = []
    errors: list[ItemError] = []
    for item in h.discover(root):
        if isinstance(item, ItemError):
            errors.append(item)
            continue
        try:
            facts.extend(h.read(item))
        except (ValueError, OSError) as exc:
            errors.append(ItemError(str(item), str(exc)))
    return facts, errors


def harvest(root: Path, **options: Any) -> tuple[dict[str, HarvestedRecord], list[ItemError]]:
    h = harvester(**options)
    facts, errors = collect(root, h)
    records: dict[str, HarvestedRecord] = {}
    for item in h.assemble(root, facts):
        if isinstance(item, ItemError):
            errors.append(item)
        else:
            records[item.key] = item
    return records, errors


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def write_tsv(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")


def image(path: Path, matrix: tuple[int, ...] = (4, 4, 3)) -> None:
    write_nifti(path, matrix, (1.5, 1.5, 2.0))


def minimal_dataset(root: Path, **description: Any) -> Path:
    write_json(
        root / "dataset_description.json", {"Name": "tiny", "BIDSVersion": "1.10.0"} | description
    )
    return root
