"""The DICOM attributes the harvester needs, in one table shared by both readers.

The fast scanner (`scanner.py`) and the pydicom fallback (`extract.py`) both collect
exactly these attributes into a plain `{keyword: value}` dict, so the normalizer never
needs to know which reader produced it and the two can be compared field by field.
The VR column matters for implicit-VR files, where the file does not say it.
Identifying attributes (names, ids, accession number) are read only so that their values
can be scrubbed from free text and folder names (`harvesters/privacy.py`); they are never
part of the cached facts.
"""

from __future__ import annotations

from typing import NamedTuple


class TagSpec(NamedTuple):
    """One needed attribute: `tag` as (group << 16) | element."""

    tag: int
    keyword: str
    vr: str
    vr_bytes: bytes = b""
    """The VR as bytes, filled in by the scanner to compare with explicit VRs cheaply."""


#: Top-level attributes, in tag order. Group 0019 entries are Siemens private
#: ("SIEMENS MR HEADER" creator in block 0x10); the normalizer checks the creator.
TOP_LEVEL: tuple[TagSpec, ...] = (
    TagSpec(0x00080005, "SpecificCharacterSet", "CS"),
    TagSpec(0x00080008, "ImageType", "CS"),
    TagSpec(0x00080016, "SOPClassUID", "UI"),
    TagSpec(0x00080018, "SOPInstanceUID", "UI"),
    TagSpec(0x00080020, "StudyDate", "DA"),
    TagSpec(0x00080050, "AccessionNumber", "SH"),
    TagSpec(0x00080060, "Modality", "CS"),
    TagSpec(0x00080070, "Manufacturer", "LO"),
    TagSpec(0x00081030, "StudyDescription", "LO"),
    TagSpec(0x0008103E, "SeriesDescription", "LO"),
    TagSpec(0x00081090, "ManufacturerModelName", "LO"),
    TagSpec(0x00089209, "AcquisitionContrast", "CS"),
    TagSpec(0x00100010, "PatientName", "PN"),
    TagSpec(0x00100020, "PatientID", "LO"),
    TagSpec(0x00100040, "PatientSex", "CS"),
    TagSpec(0x00101000, "OtherPatientIDs", "LO"),
    TagSpec(0x00101001, "OtherPatientNames", "PN"),
    TagSpec(0x00101002, "OtherPatientIDsSequence", "SQ"),
    TagSpec(0x00101005, "PatientBirthName", "PN"),
    TagSpec(0x00101010, "PatientAge", "AS"),
    TagSpec(0x00101030, "PatientWeight", "DS"),
    TagSpec(0x00101060, "PatientMotherBirthName", "PN"),
    TagSpec(0x00101090, "MedicalRecordLocator", "LO"),
    TagSpec(0x00180015, "BodyPartExamined", "CS"),
    TagSpec(0x00180020, "ScanningSequence", "CS"),
    TagSpec(0x00180021, "SequenceVariant", "CS"),
    TagSpec(0x00180022, "ScanOptions", "CS"),
    TagSpec(0x00180023, "MRAcquisitionType", "CS"),
    TagSpec(0x00180024, "SequenceName", "SH"),
    TagSpec(0x00180050, "SliceThickness", "DS"),
    TagSpec(0x00180080, "RepetitionTime", "DS"),
    TagSpec(0x00180081, "EchoTime", "DS"),
    TagSpec(0x00180082, "InversionTime", "DS"),
    TagSpec(0x00180087, "MagneticFieldStrength", "DS"),
    TagSpec(0x00181020, "SoftwareVersions", "LO"),
    TagSpec(0x00181030, "ProtocolName", "LO"),
    TagSpec(0x00181310, "AcquisitionMatrix", "US"),
    TagSpec(0x00181314, "FlipAngle", "DS"),
    TagSpec(0x00189005, "PulseSequenceName", "SH"),
    TagSpec(0x00190010, "SiemensPrivateCreator19", "LO"),
    TagSpec(0x0019100A, "NumberOfImagesInMosaic", "US"),
    TagSpec(0x0020000D, "StudyInstanceUID", "UI"),
    TagSpec(0x0020000E, "SeriesInstanceUID", "UI"),
    TagSpec(0x00200011, "SeriesNumber", "IS"),
    TagSpec(0x00200013, "InstanceNumber", "IS"),
    TagSpec(0x00280002, "SamplesPerPixel", "US"),
    TagSpec(0x00280008, "NumberOfFrames", "IS"),
    TagSpec(0x00280010, "Rows", "US"),
    TagSpec(0x00280011, "Columns", "US"),
    TagSpec(0x00280030, "PixelSpacing", "DS"),
    TagSpec(0x00280100, "BitsAllocated", "US"),
    TagSpec(0x00540016, "RadiopharmaceuticalInformationSequence", "SQ"),
    TagSpec(0x00540081, "NumberOfSlices", "US"),
    TagSpec(0x00541001, "Units", "CS"),
)

#: Attributes read from the first item of RadiopharmaceuticalInformationSequence.
RADIOPHARMACEUTICAL_ITEM: tuple[TagSpec, ...] = (
    TagSpec(0x00180031, "Radiopharmaceutical", "LO"),
    TagSpec(0x00181074, "RadionuclideTotalDose", "DS"),
    TagSpec(0x00540300, "RadionuclideCodeSequence", "SQ"),
    TagSpec(0x00540304, "RadiopharmaceuticalCodeSequence", "SQ"),
)

#: Attributes read from the first item of a code sequence.
CODE_ITEM: tuple[TagSpec, ...] = (TagSpec(0x00080104, "CodeMeaning", "LO"),)

#: Read from the first item of OtherPatientIDsSequence: only to scrub it from free text.
OTHER_PATIENT_ID_ITEM: tuple[TagSpec, ...] = (TagSpec(0x00100020, "PatientID", "LO"),)

#: Nested attribute sets, by the keyword of the sequence that holds them.
NESTED: dict[str, tuple[TagSpec, ...]] = {
    "OtherPatientIDsSequence": OTHER_PATIENT_ID_ITEM,
    "RadiopharmaceuticalInformationSequence": RADIOPHARMACEUTICAL_ITEM,
    "RadionuclideCodeSequence": CODE_ITEM,
    "RadiopharmaceuticalCodeSequence": CODE_ITEM,
}

#: Past this group nothing needed remains for modalities without PET attributes.
LAST_GROUP_NON_PET = 0x0028
#: Past this group nothing needed remains at all.
LAST_GROUP = 0x0054
#: Modalities whose group 0054 attributes we read.
PET_MODALITIES = frozenset({"PT", "NM"})

SIEMENS_CREATOR = "SIEMENS MR HEADER"

#: VRs whose values are text; backslash separates multiple values except in the last four.
TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UI"}
    | {"LT", "ST", "UT", "UC", "UR"}
)
SINGLE_VALUE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})
BINARY_FORMATS: dict[str, str] = {
    "US": "H",
    "SS": "h",
    "UL": "I",
    "SL": "i",
    "FL": "f",
    "FD": "d",
    "UV": "Q",
    "SV": "q",
}

ENHANCED_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
        "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color Image
        "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
        "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
        "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image
        "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
    }
)
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def is_explicit_le_family(transfer_syntax: str) -> bool:
    """Explicit VR little endian, natively or as the header encoding of a compressed syntax."""
    return transfer_syntax in (EXPLICIT_LE, "1.2.840.10008.1.2.5") or transfer_syntax.startswith(
        "1.2.840.10008.1.2.4."
    )
