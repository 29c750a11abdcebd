"""Fixtures for the DICOM harvester tests: real files from pydicom, nibabel, medimages4tests."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from dicom_helpers import NIBABEL_DICOM, SECRET, m4t_series

from harvesters.base import HarvestOptions
from harvesters.dicom.harvester import DicomHarvester


@pytest.fixture
def harvester() -> DicomHarvester:
    return DicomHarvester(HarvestOptions(secret=SECRET))


@pytest.fixture
def philips_enhanced(tmp_path: Path) -> Path:
    target = tmp_path / "philips" / "mprage.dcm"
    target.parent.mkdir()
    target.write_bytes(gzip.decompress((NIBABEL_DICOM / "philips_mprage.dcm.gz").read_bytes()))
    return target


@pytest.fixture
def mosaic(tmp_path: Path) -> Path:
    target = tmp_path / "mosaic" / "0.dcm"
    target.parent.mkdir()
    shutil.copy(NIBABEL_DICOM / "0.dcm", target)
    return target


@pytest.fixture
def skyra_t1w(tmp_path: Path) -> Path:
    return m4t_series("mri.t1w.siemens.skyra.syngo_d13c", tmp_path / "skyra")


@pytest.fixture
def pet(tmp_path: Path) -> Path:
    return m4t_series("pet.wholebody.siemens.biograph_vision.vr20b", tmp_path / "pet")
