"""The de-identification gate on real files: DICOM, BIDS sidecars and tables, NIfTI, Bruker."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import PATIENT_ID, assert_no_identifying_attribute, write_series

from catalog.domain.errors import DeidentificationError
from exporters.deid.gate import MANIFEST, Gate, SourceFile
from exporters.deid.policy import DeidPolicy

SUBJECT = "sub-0123456789abcdef"


def _policy(**options: object) -> DeidPolicy:
    return DeidPolicy.for_package(b"installation-secret", "rec-1", 1, **options)


def _run(files: list[SourceFile], work: Path, **options: object) -> tuple[Gate, Path]:
    gate = Gate(_policy(**options))
    gate.run(files, work, {"Name": "Test"})
    return gate, work / "package"


def _dicom_sources(tmp_path: Path, count: int = 3) -> tuple[list[Path], list[SourceFile]]:
    paths = write_series(tmp_path / "raw" / "DOE^JOHN", count)
    return paths, [
        SourceFile(p, f"sourcedata/{SUBJECT}/acq-01/{n:04d}.dcm", SUBJECT)
        for n, p in enumerate(paths, 1)
    ]


def test_dicom_series_is_cleaned_per_the_basic_profile(tmp_path: Path) -> None:
    originals, sources = _dicom_sources(tmp_path)
    gate, tree = _run(sources, tmp_path / "work")
    cleaned = [pydicom.dcmread(tree / s.name) for s in sources]
    before = [pydicom.dcmread(p) for p in originals]
    for ds, old in zip(cleaned, before, strict=True):
        assert_no_identifying_attribute(ds, SUBJECT, _policy().shift_days)
        assert ds.PatientIdentityRemoved == "YES"
        assert "113100" in [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        assert ds.SOPInstanceUID != old.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.StudyInstanceUID != old.StudyInstanceUID
        assert ds.SOPClassUID == old.SOPClassUID  # standard UIDs stay
        assert PATIENT_ID not in ds.SeriesDescription and ds.SeriesDescription.startswith("T2 RARE")
        assert "RequestAttributesSequence" not in ds  # X in the profile, with its items
        assert ds.PatientSex == "M"  # Retain Patient Characteristics Option
        assert np.array_equal(ds.pixel_array, old.pixel_array)
        assert ds.MagneticFieldStrength == 9.4
    # UIDs are remapped consistently: references still point at the right image
    assert (
        cleaned[1].ReferencedImageSequence[0].ReferencedSOPInstanceUID == cleaned[0].SOPInstanceUID
    )
    assert len({ds.SeriesInstanceUID for ds in cleaned}) == 1
    assert gate.summary.dicom_cleaned == 3 and gate.summary.removed_private_tags == 6


def test_the_same_version_cleans_to_the_same_bytes_and_another_does_not_link(tmp_path) -> None:
    _, sources = _dicom_sources(tmp_path, 1)
    _, first = _run(sources, tmp_path / "a")
    _, again = _run(sources, tmp_path / "b")
    name = sources[0].name
    assert (first / name).read_bytes() == (again / name).read_bytes()
    other = Gate(DeidPolicy.for_package(b"installation-secret", "rec-1", 2))
    other.run(sources, tmp_path / "c", {})
    uid = pydicom.dcmread(first / name).SOPInstanceUID
    assert pydicom.dcmread(tmp_path / "c" / "package" / name).SOPInstanceUID != uid


def test_dates_can_be_removed_instead(tmp_path: Path) -> None:
    _, sources = _dicom_sources(tmp_path, 1)
    _, tree = _run(sources, tmp_path / "work", dates="remove")
    ds = pydicom.dcmread(tree / sources[0].name)
    assert ds.StudyDate == "" and ds.StudyTime == ""
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_burned_in_and_unreadable_files_stop_the_deposit_with_a_report(tmp_path: Path) -> None:
    _, sources = _dicom_sources(tmp_path, 1)
    flagged = write_series(tmp_path / "flagged", 1, burned_in="YES")[0]
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"\x00" * 128 + b"DICM" + b"garbage")
    sources += [
        SourceFile(flagged, "sourcedata/sub-x/acq-02/0001.dcm", SUBJECT),
        SourceFile(broken, "sourcedata/sub-x/acq-03/0001.dcm", SUBJECT),
        SourceFile(tmp_path / "gone.dcm", "sourcedata/sub-x/acq-04/0001.dcm", SUBJECT),
    ]
    with pytest.raises(DeidentificationError) as info:
        _run(sources, tmp_path / "work")
    problems = dict(info.value.problems)
    assert "burned-in annotation" in problems["sourcedata/sub-x/acq-02/0001.dcm"]
    assert "cannot be read as DICOM" in problems["sourcedata/sub-x/acq-03/0001.dcm"]
    assert "missing" in problems["sourcedata/sub-x/acq-04/0001.dcm"]
    assert len(problems) == 3
    assert "refused 3 file(s)" in info.value.message and info.value.status == 422
    body = info.value.to_dict()
    assert {
        "file": "sourcedata/sub-x/acq-02/0001.dcm",
        "reason": problems["sourcedata/sub-x/acq-02/0001.dcm"],
    } in body["problems"]  # type: ignore[operator]


def test_private_tags_can_be_allow_listed(tmp_path: Path) -> None:
    _, sources = _dicom_sources(tmp_path, 1)
    _, tree = _run(sources, tmp_path / "work", private_allow=frozenset({("ACME SECRET", 0x10)}))
    ds = pydicom.dcmread(tree / sources[0].name)
    assert ds.private_block(0x0029, "ACME SECRET")[0x10].value == "secret patient note"


def test_bids_sidecars_tables_and_nifti_headers(tmp_path: Path) -> None:
    root = tmp_path / "bids"
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    (anat / "sub-01_T2w.json").write_text(
        json.dumps(
            {
                "RepetitionTime": 2.5,
                "PatientName": "DOE^JOHN",
                "InstitutionName": "Springfield",
                "DeviceSerialNumber": "SN-1",
                "AcquisitionDateTime": "2024-03-15T10:00:00",
            }
        )
    )
    image = nib.Nifti1Image(np.zeros((2, 2, 2), dtype=np.int16), np.eye(4))
    image.header["descrip"] = b"DOE JOHN 1970"
    image.header["aux_file"] = b"john.txt"
    nib.save(image, anat / "sub-01_T2w.nii.gz")
    (root / "participants.tsv").write_text(
        "participant_id\tspecies\tpatient_name\tdate_of_birth\tweight\nsub-01\trat\tJohn\t1970-01-01\t0.3\n"
    )
    (root / "sub-01" / "sub-01_scans.tsv").write_text(
        "filename\tacq_time\nanat/sub-01_T2w.nii.gz\t2024-03-15T10:00:00\n"
    )
    names = [
        "sub-01/anat/sub-01_T2w.json",
        "sub-01/anat/sub-01_T2w.nii.gz",
        "participants.tsv",
        "sub-01/sub-01_scans.tsv",
    ]
    gate, tree = _run([SourceFile(root / n, n, "sub-01") for n in names], tmp_path / "work")
    sidecar = json.loads((tree / names[0]).read_text())
    assert sidecar == {"RepetitionTime": 2.5}
    header = nib.load(tree / names[1]).header
    assert header["descrip"].item() == b"" and header["aux_file"].item() == b""
    assert np.array_equal(nib.load(tree / names[1]).get_fdata(), np.zeros((2, 2, 2)))
    assert (
        tree / "participants.tsv"
    ).read_text() == "participant_id\tspecies\tweight\nsub-01\trat\t0.3\n"
    shifted = (date(2024, 3, 15) - timedelta(days=_policy().shift_days)).isoformat()
    assert (tree / names[3]).read_text().splitlines()[1].split("\t")[1] == f"{shifted}T10:00:00"
    assert gate.summary.files == 4


def test_bruker_subject_files_and_parameters(tmp_path: Path) -> None:
    study = tmp_path / "20240315_RatA01"
    (study / "1").mkdir(parents=True)
    (study / "subject").write_text(
        "##TITLE=Parameter List\n##$SUBJECT_id=( 60 )\n<RatA01>\n##END=\n"
    )
    (study / "1" / "visu_pars").write_text(
        "##TITLE=Parameter List\n$$ /opt/PV6/data/20240315_RatA01/1/visu_pars\n"
        "##$VisuSubjectName=( 65 )\n<RatA01>\n##$VisuSubjectId=( 65 )\n<RatA01>\n"
        "##$VisuSubjectSex=MALE\n##$VisuMagneticFieldStrength=9.4\n##OWNER=nmrsu\n##END=\n"
    )
    files = [
        SourceFile(study / "subject", "sourcedata/sub-a/subject", "sub-a"),
        SourceFile(study / "1" / "visu_pars", "sourcedata/sub-a/1/visu_pars", "sub-a"),
    ]
    gate, tree = _run(files, tmp_path / "work")
    assert not (tree / "sourcedata/sub-a/subject").exists()
    text = (tree / "sourcedata/sub-a/1/visu_pars").read_text()
    assert "RatA01" not in text and "nmrsu" not in text
    assert "##$VisuSubjectSex=MALE" in text and "##$VisuMagneticFieldStrength=9.4" in text
    assert any("subject file left out" in n for n in gate.summary.notes)


def test_package_has_a_description_a_manifest_and_a_deterministic_zip(tmp_path: Path) -> None:
    _, sources = _dicom_sources(tmp_path, 2)
    package = Gate(_policy()).run(sources, tmp_path / "work", {"Name": "Rat study"})
    names = [f.name for f in package.files]
    assert names == ["dataset.zip", MANIFEST, "dataset_description.json"]
    with zipfile.ZipFile(package.files[0].path) as zipped:
        inside = sorted(zipped.namelist())
        assert inside == sorted([s.name for s in sources] + [MANIFEST, "dataset_description.json"])
        description = json.loads(zipped.read("dataset_description.json"))
        assert description["Name"] == "Rat study" and description["BIDSVersion"]
        for line in zipped.read(MANIFEST).decode().splitlines():
            digest, name = line.split("  ")
            assert hashlib.sha256(zipped.read(name)).hexdigest() == digest
    again = Gate(_policy()).run(sources, tmp_path / "again", {"Name": "Rat study"})
    assert again.files[0].md5 == package.files[0].md5


def test_private_allow_list_setting_is_parsed_with_clear_errors() -> None:
    from catalog.domain.errors import ConfigurationError
    from exporters.deid.policy import parse_private_allow

    assert parse_private_allow("SIEMENS CSA HEADER:10; ACME:0x20") == frozenset(
        {("SIEMENS CSA HEADER", 0x10), ("ACME", 0x20)}
    )
    assert parse_private_allow("") == frozenset()
    with pytest.raises(ConfigurationError, match="IMAGORA_DEID_PRIVATE_ALLOW: 'ACME:zz'"):
        parse_private_allow("ACME:zz")


def _pydicom_files() -> list[Path]:
    import importlib

    root = Path(importlib.import_module("pydicom.data").__file__).parent / "test_files"
    names = ["MR_small.dcm", "CT_small.dcm", "MR_truncated.dcm", "rtplan.dcm", "emri_small.dcm"]
    found = [root / n for n in names if (root / n).is_file()]
    found += sorted(p for p in (root / "dicomdirtests" / "77654033").rglob("*") if p.is_file())
    return found


def test_real_dicom_files_from_pydicom_leave_clean_or_are_refused(tmp_path: Path) -> None:
    """Vendor files with private blocks, sequences and odd values: each one is either
    cleaned (re-read: nothing identifying left) or refused with a reason."""
    from exporters.deid.dicom import UidMap, Uncleanable, clean_dicom, leftovers

    policy = _policy().with_subject(SUBJECT)
    uids = UidMap(policy.salt)
    cleaned = refused = 0
    for n, source in enumerate(_pydicom_files()):
        target = tmp_path / f"{n:03d}.dcm"
        try:
            clean_dicom(source, target, policy, uids)
        except Uncleanable as exc:
            refused += 1
            assert str(exc), source
            continue
        ds = pydicom.dcmread(target)
        assert leftovers(ds, policy) == [], source
        assert ds.PatientIdentityRemoved == "YES"
        assert str(ds.get("PatientName", SUBJECT)) == SUBJECT
        assert str(ds.get("PatientID", SUBJECT)) == SUBJECT
        assert "SourceApplicationEntityTitle" not in ds.file_meta
        cleaned += 1
    assert cleaned >= 8 and cleaned + refused == len(_pydicom_files())
