"""The demo: catalogue bundled sample data so a newcomer sees a populated catalogue.

Samples are materialised once under `<data_dir>/samples/` (written to a staging folder
and renamed, so an interrupted run never leaves half a sample) and never rewritten: their
files keep their mtimes, so running the demo again reports every record unchanged.

- `dicom`: real DICOM files shipped inside the pydicom wheel (no download);
- `bids`: a small synthetic BIDS dataset (`harvesters.bids.sample`);
- `bruker`: a synthetic ParaVision 360 rat study (`harvesters.bruker.sample`), whose
  collection gets embargoed files (one year ahead) when first catalogued, so the demo
  shows an embargo;
- `phantom`: a multi-echo DICOM series of a relaxometry phantom with known T2
  (`compute_bridge.sample`), so `imagora compute run relaxometry` has an input.

A sample whose harvester or writer is not installed is skipped with a note.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from catalog.domain.enums import FileAccess, Level
from catalog.domain.errors import PluginUnavailableError
from catalog.domain.identity import SYSTEM
from catalog.domain.records import AccessUpdate
from catalog.domain.results import HarvestReport
from harvesters.base import HarvestOptions
from harvesters.registry import harvesters

if TYPE_CHECKING:
    from catalog.services.container import Catalog

Progress = Callable[[str, int, int | None], None]

#: Files from pydicom's test data (paths relative to its `test_files` folder). The
#: DICOMDIR variants and TINY_ALPHA duplicate these trees, so they are left out.
PYDICOM_SAMPLES = (
    "MR_small.dcm",
    "CT_small.dcm",
    "dicomdirtests/77654033",
    "dicomdirtests/98892001",
    "dicomdirtests/98892003",
)
DICOM_COLLECTION_TITLE = "pydicom sample studies"
BRUKER_COLLECTION_TITLE = "Imagora sample: rat brain MRI at 9.4 T (ParaVision 360)"
PHANTOM_COLLECTION_TITLE = "Imagora sample: relaxometry phantom (multi-echo T2, 9.4 T)"
EMBARGO_DAYS = 365


class DemoReport(BaseModel):
    """What `imagora demo` did: one harvest report per sample, notes for skipped ones."""

    harvests: list[HarvestReport] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Sample:
    """One bundled sample: how to write it and how to harvest it."""

    name: str
    kind: str
    write: Callable[[Path], object]
    options: dict[str, str] = field(default_factory=dict)
    embargo_collection: bool = False


class SampleUnavailableError(PluginUnavailableError):
    """The code that writes a sample is not installed."""


def write_pydicom_samples(dest: Path) -> None:
    """Copy pydicom's bundled DICOM files into `dest`, keeping the folder structure."""
    from pydicom.data import get_testdata_file

    for name in PYDICOM_SAMPLES:
        found = get_testdata_file(name, download=False)
        if found is None:
            raise SampleUnavailableError(f"pydicom does not ship the test file '{name}'")
        source = Path(str(found))
        target = dest / Path(name).name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)


def sample_writer(module: str, function: str, **kwargs: str) -> Callable[[Path], object]:
    """A writer imported only when used, so a missing module skips just its sample."""

    def write(dest: Path) -> object:
        try:
            writer = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as exc:
            raise SampleUnavailableError(
                f"the sample writer {module}.{function} is not installed ({exc})"
            ) from exc
        return writer(dest, **kwargs)

    return write


def default_samples() -> list[Sample]:
    return [
        Sample(
            "dicom",
            "dicom",
            write_pydicom_samples,
            {"collection_title": DICOM_COLLECTION_TITLE, "species": "human"},
        ),
        Sample("bids", "bids", sample_writer("harvesters.bids.sample", "write_sample_dataset")),
        Sample(
            "bruker",
            "bruker",
            sample_writer("harvesters.bruker.sample", "write_sample_study", version="360"),
            {"species": "rat", "collection_title": BRUKER_COLLECTION_TITLE},
            embargo_collection=True,
        ),
        Sample(
            "phantom",
            "dicom",
            sample_writer("compute_bridge.sample", "write_phantom_series"),
            {"collection_title": PHANTOM_COLLECTION_TITLE},
        ),
    ]


def materialise(sample: Sample, samples_dir: Path) -> Path:
    """The sample's folder, written on first use only (staged, then renamed)."""
    dest = samples_dir / sample.name
    if dest.exists():
        return dest
    staging = samples_dir / f".{sample.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        sample.write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(dest)
    return dest


def run_demo(
    catalog: Catalog, progress: Progress | None = None, samples: list[Sample] | None = None
) -> DemoReport:
    """Write (once) and harvest every sample; skipped samples become notes."""
    result = DemoReport()
    samples_dir = catalog.settings.data_dir / "samples"
    for sample in samples if samples is not None else default_samples():
        try:
            options = _options(sample)
            location = materialise(sample, samples_dir)
        except PluginUnavailableError as exc:
            result.notes.append(f"skipped the {sample.name} sample: {exc.message}")
            continue
        report = catalog.harvest.run(
            SYSTEM, sample.kind, str(location), options, _staged(sample.name, progress)
        )
        if sample.embargo_collection:
            _embargo_new_collection(catalog, report.source)
        result.harvests.append(report)
    return result


def _options(sample: Sample) -> HarvestOptions:
    """The harvester's options; raises PluginUnavailableError when it is not installed."""
    return harvesters.get(sample.kind).Options(**sample.options)


def _staged(name: str, progress: Progress | None) -> Progress | None:
    if progress is None:
        return None

    def report(stage: str, done: int, total: int | None) -> None:
        progress(f"{name}: {stage}", done, total)

    return report


def _embargo_new_collection(catalog: Catalog, source: str) -> None:
    """Embargo the files of the source's collection unless its access was ever set."""
    with catalog.uow() as uow:
        origins = uow.records.origins_with_prefix(source + "#")
        targets = []
        for record_id, _status, _hash in origins.values():
            stored = uow.records.get(record_id)
            if stored and stored.level == Level.collection.value and stored.own_access is None:
                targets.append(record_id)
    until = date.today() + timedelta(days=EMBARGO_DAYS)
    for record_id in targets:
        update = AccessUpdate(files=FileAccess.embargoed, embargo_until=until)
        catalog.records.set_access(SYSTEM, record_id, update)
