"""Helpers for the DICOM harvester tests: where the real sample files are, and a mini harvest."""

from __future__ import annotations

import importlib
from pathlib import Path

from pydicom.data import get_testdata_file

from harvesters.base import FileFacts, HarvestedRecord, ItemError
from harvesters.dicom.harvester import DicomHarvester

NIBABEL_DICOM = Path(importlib.import_module("nibabel").__file__).parent / "nicom/tests/data"
SECRET = b"test-secret"


PYDICOM_DATA = Path(importlib.import_module("pydicom.data").__file__).parent / "test_files"


def pydicom_file(name: str) -> Path:
    """A file bundled with pydicom (never downloaded)."""
    if "/" in name:
        return PYDICOM_DATA / name
    found = get_testdata_file(name, download=False)
    assert found, f"{name} is not bundled with pydicom"
    return Path(found)


def m4t_series(module: str, out_dir: Path) -> Path:
    """Two files of a medimages4tests generator (num_vols=2 keeps them small and fast)."""
    mod = importlib.import_module(f"medimages4tests.dummy.dicom.{module}")
    mod.num_vols = 2
    return Path(mod.get_image(out_dir=out_dir))


def harvest(
    harvester: DicomHarvester, location: Path
) -> tuple[list[HarvestedRecord], list[ItemError]]:
    """discover -> read -> assemble, as the harvest service does it."""
    facts: list[FileFacts] = []
    errors: list[ItemError] = []
    for item in harvester.discover(location):
        if isinstance(item, ItemError):
            errors.append(item)
            continue
        try:
            facts.extend(harvester.read(item))
        except (ValueError, OSError) as exc:
            errors.append(ItemError(str(item), str(exc)))
    records: list[HarvestedRecord] = []
    for out in harvester.assemble(location, facts):
        (errors if isinstance(out, ItemError) else records).append(out)  # type: ignore[arg-type]
    return records, errors


def acquisitions(records: list[HarvestedRecord]) -> list[HarvestedRecord]:
    return [r for r in records if r.record.level == "acquisition"]
