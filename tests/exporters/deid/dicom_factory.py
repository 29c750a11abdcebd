"""Real DICOM files full of identifying data, written with pydicom for the gate tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

PATIENT_NAME = "DOE^JOHN"
PATIENT_ID = "PID-98765"
STUDY_UID = "1.2.826.0.1.3680043.8.498.1111"


def write_mr(
    path: Path,
    *,
    series_uid: str,
    instance: int,
    study_uid: str = STUDY_UID,
    patient_id: str = PATIENT_ID,
    burned_in: str | None = None,
    references: str | None = None,
) -> Path:
    """An MR image with the PS3.15 usual suspects, a private block and a reference."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    sop_uid = generate_uid()
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "SPRINGFIELD_MR1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = study_uid + ".9"
    ds.Modality = "MR"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.PatientAge = "056Y"
    ds.PatientWeight = "0.35"
    ds.PatientAddress = "1 Main Street, Springfield"
    ds.OtherPatientIDs = "MRN-1234"
    ds.InstitutionName = "Springfield General"
    ds.InstitutionAddress = "2 Hospital Road"
    ds.ReferringPhysicianName = "HOUSE^GREGORY"
    ds.OperatorsName = "SMITH^ANNA"
    ds.StationName = "MR-SCANNER-01"
    ds.DeviceSerialNumber = "SN-555"
    ds.AccessionNumber = "ACC-42"
    ds.StudyID = "STUDY-7"
    ds.StudyDate = "20240315"
    ds.SeriesDate = "20240315"
    ds.AcquisitionDate = "20240315"
    ds.ContentDate = "20240315"
    ds.StudyTime = "101500"
    ds.StudyDescription = "Brain study of DOE"
    ds.SeriesDescription = f"T2 RARE {PATIENT_ID}"
    ds.ProtocolName = "T2_RARE"
    ds.ImageComments = "patient was anxious"
    ds.MagneticFieldStrength = 9.4
    ds.RepetitionTime = 2500
    ds.EchoTime = 33
    ds.SeriesNumber = 3
    ds.InstanceNumber = instance
    if burned_in:
        ds.BurnedInAnnotation = burned_in
    if references:
        item = Dataset()
        item.ReferencedSOPClassUID = MRImageStorage
        item.ReferencedSOPInstanceUID = references
        ds.ReferencedImageSequence = Sequence([item])
    request = Dataset()
    request.RequestingPhysician = "WHO^DR"
    request.RequestedProcedureID = "RP-1"
    ds.RequestAttributesSequence = Sequence([request])
    block = ds.private_block(0x0029, "ACME SECRET", create=True)
    block.add_new(0x10, "LO", "secret patient note")
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 8)  # overlay data
    ds.Rows, ds.Columns = 4, 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.arange(16, dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(folder: Path, count: int = 3, **options: object) -> list[Path]:
    """`count` files of one series; each references the previous one's SOP instance."""
    folder.mkdir(parents=True, exist_ok=True)
    series = generate_uid()
    paths: list[Path] = []
    previous = None
    for n in range(1, count + 1):
        path = write_mr(
            folder / f"IM{n:04d}.dcm", series_uid=series, instance=n, references=previous, **options
        )  # type: ignore[arg-type]
        from pydicom import dcmread

        previous = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        paths.append(path)
    return paths


def assert_no_identifying_attribute(ds: Dataset, subject: str, shift_days: int) -> None:
    """The acceptance check: every PS3.15 identifying attribute is gone or replaced.

    Replaced means: name and id are the subject's pseudonym, type-2 identifiers are
    empty, the policy's dates are shifted by the package offset; patient characteristics
    (Retain Patient Characteristics Option) and times may stay. No private attribute
    and no overlay may be left anywhere, sequences included.
    """
    from exporters.deid.dicom import CHARACTERISTICS, EMPTIED, POLICY_DATES, TIMES
    from harvesters.privacy import IDENTIFYING_KEYWORDS

    for keyword in IDENTIFYING_KEYWORDS:
        if keyword not in ds:
            continue
        value = ds.data_element(keyword).value
        if keyword in ("PatientName", "PatientID"):
            assert str(value) == subject, keyword
        elif keyword in EMPTIED:
            assert value in ("", None), keyword
        elif keyword in POLICY_DATES:
            assert value == (date(2024, 3, 15) - timedelta(days=shift_days)).strftime("%Y%m%d")
        elif keyword not in CHARACTERISTICS | TIMES:
            pytest.fail(f"{keyword} survived the gate with value {value!r}")
    found: list[str] = []
    ds.walk(
        lambda _d, e: (
            found.append(str(e.tag)) if e.tag.is_private or e.tag.group == 0x6000 else None
        )
    )
    assert found == [], f"private or overlay attributes left: {found}"
    assert ds.PatientIdentityRemoved == "YES"
    assert "SourceApplicationEntityTitle" not in ds.file_meta
