"""`harvesters.detect`: the kind check stops at the first file that settles the answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydicom.data import get_testdata_file

from harvesters.detect import kind_mismatch, survey


def _tree(root: Path, dicom: str = "a-dicom", bruker: str = "b-bruker") -> Path:
    """A DICOM file and a ParaVision file, in folders whose names set the walk's order."""
    (root / dicom).mkdir(parents=True)
    shutil.copy(get_testdata_file("MR_small.dcm", download=False), root / dicom / "x.dcm")  # type: ignore[arg-type]
    (root / bruker / "1").mkdir(parents=True)
    (root / bruker / "1" / "acqp").write_text("##TITLE=acqp\n")
    return root


def test_survey_stops_at_the_first_file_of_the_asked_kind(tmp_path: Path) -> None:
    root = _tree(tmp_path / "mixed")
    assert survey(root).kinds() == ["dicom", "bruker"]
    assert survey(root, enough="dicom").kinds() == ["dicom"]  # the Bruker file is not met
    assert kind_mismatch(root, "dicom") is None
    assert kind_mismatch(root, "bruker") is None


def test_a_bids_dataset_given_to_bruker_still_lists_all_it_holds(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ds", dicom="b-dicom", bruker="a-bruker")  # Bruker met first
    (root / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.8.0"}')
    message = kind_mismatch(root, "bruker")
    assert message is not None
    assert "a BIDS dataset" in message and "DICOM files (e.g. b-dicom/x.dcm)" in message
    assert f"Use `imagora harvest bids {root}` instead" in message
