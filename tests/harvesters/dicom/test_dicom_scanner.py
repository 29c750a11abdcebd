"""The fast scanner against pydicom on every bundled sample, and its refusals/errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from dicom_helpers import NIBABEL_DICOM, m4t_series, pydicom_file

from harvesters.dicom import scanner
from harvesters.dicom.extract import read_with_pydicom
from harvesters.dicom.normalize import file_facts

PYDICOM_FILES = [
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_padded.dcm",
    "CT_small.dcm",
    "image_dfl.dcm",
    "ExplVR_BigEndNoMeta.dcm",
    "rtplan.dcm",
]
NIBABEL_FILES = ["0.dcm", "1.dcm", "csa_slice_norm.dcm", "slicethickness_empty_string.dcm"]


def _both(path: Path) -> tuple[dict, dict]:
    try:
        fast = scanner.scan_file(str(path))
    except scanner.Unsure:  # the harvester would use pydicom: compare pydicom with itself
        fast = read_with_pydicom(str(path))
        fast.pop("MediaStorageSOPClassUID", None)
    slow = read_with_pydicom(str(path))
    slow.pop("MediaStorageSOPClassUID", None)
    return fast, slow


def _facts(values: dict) -> dict:
    return file_facts(values, subject="sub-x", reader="any", size=0)


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_scanner_and_pydicom_agree_on_pydicom_samples(name: str) -> None:
    fast, slow = _both(pydicom_file(name))
    assert fast == slow
    assert _facts(fast) == _facts(slow)


def test_scanner_and_pydicom_agree_on_every_dicomdirtests_file() -> None:
    root = pydicom_file("dicomdirtests/README.txt").parent
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and "DICOMDIR" not in p.name]
    files = [p for p in files if not p.name.startswith("README")]
    assert len(files) > 70
    for path in files:
        fast, slow = _both(path)
        assert fast == slow, path
        assert _facts(fast) == _facts(slow), path


@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_scanner_and_pydicom_agree_on_nibabel_samples(name: str) -> None:
    fast, slow = _both(NIBABEL_DICOM / name)
    assert _facts(fast) == _facts(slow)


def test_scanner_and_pydicom_agree_on_gzipped_siemens_dwi(tmp_path: Path) -> None:
    target = tmp_path / "dwi.dcm"
    target.write_bytes(gzip.decompress((NIBABEL_DICOM / "siemens_dwi_1000.dcm.gz").read_bytes()))
    fast, slow = _both(target)
    assert _facts(fast) == _facts(slow)


@pytest.mark.parametrize(
    "module",
    ["mri.t1w.siemens.skyra.syngo_d13c", "pet.wholebody.siemens.biograph_vision.vr20b"],
)
def test_scanner_and_pydicom_agree_on_generated_series(module: str, tmp_path: Path) -> None:
    for path in sorted(m4t_series(module, tmp_path).glob("*.dcm")):
        fast, slow = _both(path)
        assert fast == slow


def test_pet_radiopharmaceutical_item_is_read_by_the_scanner(pet: Path) -> None:
    values = scanner.scan_file(str(sorted(pet.glob("*.dcm"))[0]))
    item = values["RadiopharmaceuticalInformationSequence"][0]
    assert item["RadionuclideTotalDose"] == "85740000.0"
    assert item["RadionuclideCodeSequence"] == [{"CodeMeaning": "^68^Germanium"}]
    assert values["Units"] == "BQML"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("MR_small_bigendian.dcm", "transfer syntax 1.2.840.10008.1.2.2"), ("no_meta.dcm", "DICM")],
)
def test_scanner_refuses_what_it_is_not_sure_about(name: str, reason: str) -> None:
    with pytest.raises(scanner.Unsure, match=reason):
        scanner.scan_file(str(pydicom_file(name)))


def test_scanner_refuses_enhanced_multiframe(philips_enhanced: Path) -> None:
    with pytest.raises(scanner.Unsure, match="enhanced multi-frame"):
        scanner.scan_file(str(philips_enhanced))


def test_scanner_reports_truncated_pixel_data() -> None:
    with pytest.raises(ValueError, match="truncated DICOM file: pixel data declares 8192 bytes"):
        scanner.scan_file(str(pydicom_file("MR_truncated.dcm")))


def test_scanner_reports_a_header_cut_mid_element(tmp_path: Path) -> None:
    data = pydicom_file("MR_small.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:700])
    with pytest.raises(ValueError, match="truncated DICOM file"):
        scanner.scan_file(str(cut))


def test_scanner_reads_headers_larger_than_the_first_read(tmp_path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.ImageComments = "x" * (scanner.INITIAL_READ * 3)
    big = tmp_path / "big.dcm"
    ds.save_as(big)
    assert scanner.scan_file(str(big))["RepetitionTime"] == "4000.0000"
