"""A re-harvest after files change settles in one run, for every file harvester.

Change some files, harvest once: the changed records are `updated`; harvest again: every
record is `unchanged` and no file is read. A run that reads a file and the next run that
takes its facts from the cache must build identical records.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from harvesters.bids.sample import write_nifti, write_sample_dataset
from harvesters.bruker.sample import write_sample_study


def _counts(catalog: Catalog, kind: str, root: Path) -> tuple[int, int, int, int]:
    options = catalog.harvest.parse_options(kind, {"species": "rat"} if kind == "bruker" else {})
    report = catalog.harvest.run(SYSTEM, kind, str(root), options)
    assert report.failed == 0, report.errors
    return report.created, report.updated, report.unchanged, report.files_read


def _dicom_tree(root: Path) -> list[Path]:
    paths = []
    for name in ("MR_small.dcm", "CT_small.dcm", "MR_small_implicit.dcm"):
        source = get_testdata_file(name, download=False)
        assert source, f"{name} is not bundled with pydicom"
        for copy in range(2):
            target = root / name.split(".")[0] / f"{copy}.dcm"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            ds = pydicom.dcmread(target)
            ds.SOPInstanceUID = f"{ds.SOPInstanceUID}.{copy}"
            ds.InstanceNumber = copy + 1
            ds.save_as(target)
            paths.append(target)
    return paths


def _change_dicom(paths: list[Path]) -> None:
    for path in paths[::2]:
        ds = pydicom.dcmread(path)
        ds.SeriesDescription = "T2 FLAIR changed"
        ds.RepetitionTime = 9000
        ds.save_as(path)


def _change_bids(root: Path) -> None:
    sidecar = root / "task-rest_bold.json"
    metadata = json.loads(sidecar.read_text(encoding="utf-8"))
    metadata["RepetitionTime"] = 2.5  # inherited by every BOLD run
    sidecar.write_text(json.dumps(metadata), encoding="utf-8")
    for t1w in root.glob("sub-*/ses-01/anat/*_T1w.nii.gz"):
        write_nifti(t1w, (8, 8, 6), (1.1, 1.1, 1.3))


def _change_bruker(study: Path) -> None:
    for method in sorted(study.glob("*/method"))[:2]:
        text = method.read_text(encoding="latin-1")
        method.write_text(text.replace("##END=", "##$PVM_NAverages=7\n##END="), "latin-1")


@pytest.mark.parametrize("kind", ["dicom", "bids", "bruker"])
def test_a_change_settles_in_one_run(sqlite_catalog: Catalog, tmp_path: Path, kind: str) -> None:
    root = tmp_path / kind
    if kind == "dicom":
        files = _dicom_tree(root)
    elif kind == "bids":
        write_sample_dataset(root)
    else:
        study = write_sample_study(root)
    first = _counts(sqlite_catalog, kind, root)
    assert first[0] > 0
    assert _counts(sqlite_catalog, kind, root)[1:3] == (0, first[0])
    if kind == "dicom":
        _change_dicom(files)
    elif kind == "bids":
        _change_bids(root)
    else:
        _change_bruker(study)
    created, updated, unchanged, read = _counts(sqlite_catalog, kind, root)
    assert created == 0 and updated > 0 and read > 0
    assert updated + unchanged == first[0]
    assert _counts(sqlite_catalog, kind, root) == (0, 0, first[0], 0)
