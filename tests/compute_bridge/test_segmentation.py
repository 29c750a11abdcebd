"""Segmentation inference + evaluation with the shipped TorchScript model: label maps,
Dice and HD95 per label against a reference mask, catalogued as derived records."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from catalog.domain.compute import JobRequest
from catalog.domain.enums import Level
from catalog.domain.errors import ValidationError
from catalog.domain.identity import SYSTEM
from catalog.domain.records import BidsInfo, FileEntry, RecordCreate, SourceInfo
from catalog.services.container import Catalog
from compute_bridge import phantoms
from compute_bridge.metrics import dice, hd95
from tests.compute_bridge.conftest import ALICE, wait_for
from tests.compute_bridge.test_compute_jobs import output_folder


def test_dice_and_hd95_on_known_shapes() -> None:
    a = np.zeros((20, 20, 1), bool)
    a[5:15, 5:15] = True
    b = np.zeros_like(a)
    b[5:15, 7:17] = True  # shifted by 2 voxels along y
    assert dice(a, b) == pytest.approx(2 * 80 / 200)
    assert hd95(a, b, (1.0, 0.5, 1.0)) == pytest.approx(1.0)  # 2 voxels x 0.5 mm
    assert hd95(a, a, (1.0, 1.0, 1.0)) == 0.0
    assert math.isinf(hd95(a, np.zeros_like(a), (1.0, 1.0, 1.0)))
    assert dice(np.zeros_like(a), np.zeros_like(a)) == 1.0


def _deposit(catalog: Catalog, folder: Path, name: str, array: np.ndarray, suffix: str) -> str:
    nib.save(nib.Nifti1Image(array, np.diag([0.4, 0.4, 1.0, 1.0])), str(folder / name))
    record = catalog.records.create(
        SYSTEM,
        RecordCreate(
            level=Level.acquisition,
            title=name,
            bids=BidsInfo(suffix=suffix),
            files=[FileEntry(path=name)],
            source=SourceInfo(type="deposit", location=str(folder)),
        ),
    )
    return record.id


def test_segmentation_job_scores_against_the_reference(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.multi_echo((48, 48, 3), echo_times_ms=[20.0], seed=7)
    image = _deposit(catalog, tmp_path, "sub-01_T2w.nii.gz", ph.images[..., 0], "T2w")
    mask = _deposit(catalog, tmp_path, "sub-01_dseg.nii.gz", ph.labels.astype(np.int16), "dseg")
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="segmentation", records=[image, mask]))
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "succeeded", (job.message, job.log_tail)
    record = catalog.records.get(ALICE, job.outputs[0])
    assert record.title == "Segmentation of sub-01_T2w.nii.gz"
    assert {r.identifier for r in record.related if r.relation == "IsDerivedFrom"} == {image, mask}
    scores = output_folder(catalog, job.id) / record.files[1].path
    rows = list(csv.DictReader(scores.open()))
    assert [int(r["label"]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(float(r["dice"]) > 0.95 for r in rows), rows
    assert all(float(r["hd95_mm"]) <= 1.0 for r in rows), rows
    assert rows[0]["model_sha256"].startswith("sha256:")


def test_models_are_named_not_paths(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.multi_echo((16, 16, 1), echo_times_ms=[20.0])
    image = _deposit(catalog, tmp_path, "img.nii.gz", ph.images[..., 0], "T2w")
    request = JobRequest(pipeline="segmentation", records=[image], params={"model": "/etc/passwd"})
    with pytest.raises(ValidationError, match="must be the name of a registered model"):
        catalog.compute.submit(ALICE, request)


def test_segmentation_of_a_dicom_series(catalog: Catalog, tmp_path: Path) -> None:
    """A harvested DICOM series is segmented like a NIfTI volume (its first echo)."""
    from tests.compute_bridge.series_files import write_dicom_series

    ph = phantoms.multi_echo((48, 48, 3), echo_times_ms=[20.0, 40.0], seed=7)
    write_dicom_series(tmp_path / "dicom" / "t2w", ph.images, [20.0, 40.0], "EchoTime")
    assert catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "dicom")).failed == 0
    with catalog.uow() as uow:
        [series] = [r.id for b in uow.records.iter_all() for r in b if r.level == "acquisition"]
    mask = _deposit(catalog, tmp_path, "sub-01_dseg.nii.gz", ph.labels.astype(np.int16), "dseg")
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="segmentation", records=[series, mask]))
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "succeeded", (job.message, job.log_tail)
    record = catalog.records.get(ALICE, job.outputs[0])
    assert record.files[0].path.startswith("MSME_T2_map_")
    rows = list(csv.DictReader((output_folder(catalog, job.id) / record.files[1].path).open()))
    assert [int(r["label"]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(float(r["dice"]) > 0.95 for r in rows), rows
