"""A corpus of DICOM, BIDS and ParaVision files seeded with identifying markers.

Every attribute the PS3.15 basic profile lists (`harvesters.privacy.IDENTIFYING_KEYWORDS`)
carries a marker value; the patient's name (with two-letter parts), id, other ids and
accession number recur in free text (SeriesDescription "MRN55555QZ follow-up") and in
folder names at every depth, the harvested folder included. `leaks(text)` names every
marker found in a text, so a test can assert that none reaches any output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from harvesters.bids.sample import write_nifti
from harvesters.bruker.sample import StudyWriter, SubjectSpec
from harvesters.privacy import IDENTIFYING_KEYWORDS

NAME = "ZORBLAX^XU^QJ"
PATIENT_ID = "MRN55555QZ"
OTHER_ID = "OTHERID77QZ"
ACCESSION = "ACC31337QZ"
DATE = "19370411"
#: Kept on purpose, normalized (age, sex, weight, size): not markers.
NORMALIZED = frozenset({"PatientAge", "PatientSex", "PatientWeight", "PatientSize"})
#: Numeric attributes cannot hold a marker text.
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "DS", "IS", "FL", "FD", "AS"})
_SPECIAL = {
    "PatientName": NAME,
    "PatientID": PATIENT_ID,
    "OtherPatientIDs": OTHER_ID,
    "AccessionNumber": ACCESSION,
}
#: Distinctive long markers: found anywhere, in any case.
LONG_MARKERS = ("ZORBLAX", PATIENT_ID, OTHER_ID, ACCESSION, DATE, "1937-04-11", "QZM")
#: Two-letter name parts: found as whole tokens only (they are ordinary letter pairs).
SHORT_MARKERS = ("XU", "QJ")
_SHORT = re.compile(r"(?<![A-Za-z])(?:XU|QJ)(?![A-Za-z])", re.IGNORECASE)


def marker(index: int) -> str:
    return f"QZM{index:03d}"


def leaks(text: str) -> list[str]:
    """The markers that occur in `text` (empty: nothing identifying)."""
    lowered = text.lower()
    found = [m for m in LONG_MARKERS if m.lower() in lowered]
    found += sorted({m.group(0) for m in _SHORT.finditer(text)})
    return found


def _value(keyword: str, vr: str, index: int) -> object | None:
    if keyword in _SPECIAL:
        return _SPECIAL[keyword]
    if vr in _NUMERIC_VRS or keyword in NORMALIZED:
        return None
    if vr == "DA":
        return DATE
    if vr == "TM":
        return "031415"
    if vr == "DT":
        return DATE + "031415"
    if vr == "UI":
        return f"1.2.826.0.1.3680043.99.{index}"
    if vr == "SQ":
        item = Dataset()
        item.PatientID = marker(index)
        return Sequence([item])
    if vr == "PN":
        return f"{marker(index)}^XU"
    return marker(index)


def identifying_header() -> Dataset:
    """Every PS3.15 attribute pydicom knows, each with a marker value."""
    ds = Dataset()
    for index, keyword in enumerate(sorted(IDENTIFYING_KEYWORDS)):
        tag = tag_for_keyword(keyword)
        if tag is None:
            continue
        value = _value(keyword, dictionary_VR(tag), index)
        if value is not None:
            setattr(ds, keyword, value)
    return ds


def write_dicom(
    path: Path,
    study_uid: str,
    series_uid: str,
    number: int,
    text: str,
    **header: str,
) -> Path:
    """A small MR image whose header holds every marker and `text` as SeriesDescription
    (`header` overrides attributes, e.g. PatientName)."""
    ds = identifying_header()
    ds.StudyDescription = f"Study of patient {PATIENT_ID} ({ACCESSION})"
    ds.SeriesDescription = text
    ds.ProtocolName = f"t1 XU QJ {OTHER_ID}"
    for keyword, value in header.items():
        setattr(ds, keyword, value)
    ds.Modality, ds.Manufacturer, ds.MagneticFieldStrength = "MR", "SIEMENS", 3
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.SeriesNumber, ds.InstanceNumber = number, 1
    ds.Rows = ds.Columns = 4
    ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 1.0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.zeros((4, 4), dtype=np.uint16).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_corpus(base: Path) -> Path:
    """A PACS export named after the patient, with identifying folders at every depth
    (one file more than 8 levels below its patient folder)."""
    root = base / "dicom" / "ZORBLAX^XU"
    study = generate_uid()
    deep = root / PATIENT_ID / f"{ACCESSION}_study" / "XU_QJ"
    for level in range(9):
        deep = deep / f"d{level}"
    write_dicom(deep / f"{OTHER_ID}.dcm", study, generate_uid(), 1, f"{PATIENT_ID} follow-up")
    write_dicom(root / "QJ" / "IM0001.dcm", study, generate_uid(), 2, "Xu Zorblax localiser")
    return root


def bids_corpus(base: Path) -> Path:
    """A BIDS dataset in a folder named after the patient; dcm2niix-style sidecars that
    kept the identifying DICOM fields, and participants.tsv columns that should go."""
    root = base / "bids" / "ZORBLAX_XU"
    root.mkdir(parents=True)
    description = {"Name": "Privacy corpus", "BIDSVersion": "1.9.0", "License": "CC0"}
    (root / "dataset_description.json").write_text(json.dumps(description), encoding="utf-8")
    (root / "participants.tsv").write_text(
        f"participant_id\tage\tsex\tPatientName\tmrn\nsub-01\t31\tF\t{NAME}\t{PATIENT_ID}\n",
        encoding="utf-8",
    )
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    write_nifti(anat / "sub-01_T1w.nii.gz", (4, 4, 4), (1.0, 1.0, 1.0))
    sidecar = {k: str(v.value) for k, v in _sidecar_header().items()}
    sidecar.update(
        {
            "Modality": "MR",
            "MagneticFieldStrength": 3,
            "RepetitionTime": 2.3,
            "SeriesDescription": f"{PATIENT_ID} follow-up XU",
            "ProtocolName": f"T1 {ACCESSION}",
        }
    )
    (anat / "sub-01_T1w.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return root


def _sidecar_header() -> dict[str, object]:
    header = identifying_header()
    return {e.keyword: e for e in header if e.VR != "SQ"}


def bruker_corpus(base: Path) -> Path:
    """A ParaVision study of a subject whose id and name also name the folders."""
    root = base / "bruker" / "ZORBLAX_XU"
    subject = SubjectSpec(
        subject_id=PATIENT_ID,
        name=NAME,
        owner=marker(901),
        institution=marker(902),
        station=marker(903),
        operator=marker(904),
    )
    StudyWriter(root / f"20240725_090212_{PATIENT_ID}_XU_1_1", "360", subject).write()
    return root
