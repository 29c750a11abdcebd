"""Turn one file's raw attributes into the normalized, privacy-safe facts that get cached.

The output of `file_facts` is what `DicomHarvester.read` stores in `FileFacts.data`: plain
JSON (no dates, no identifiers), the same whichever reader produced the input. Patient
identifiers are used only to compute the pseudonym and to scrub free-text descriptions and
folder names of the patient's names and ids; they are never part of the output.
"""

from __future__ import annotations

import re
from typing import Any

from harvesters.dicom import tags as T
from harvesters.privacy import IDENTIFYING_KEYWORDS, Scrubber

_SEX = {"M": "male", "F": "female", "O": "other"}
_RAW_MAX_CHARS = 64
#: Keywords kept out of the raw dump besides the PS3.15 list: private or helper entries.
_RAW_EXCLUDED = frozenset(
    {
        "SiemensPrivateCreator19",
        "NumberOfImagesInMosaic",
        "MediaStorageSOPClassUID",
        "SamplesPerPixel",
        "BitsAllocated",
    }
)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def as_text(value: Any) -> str | None:
    """A single string ("\\"-joined for multi-valued attributes), None when empty."""
    if isinstance(value, str):  # the common case, ~40 times per file: no list built
        return value.strip() or None
    items = [str(v).strip() for v in as_list(value) if v is not None and str(v).strip()]
    return "\\".join(items) if items else None


def as_float(value: Any) -> float | None:
    first = as_list(value)[:1]
    if not first or first[0] is None:
        return None
    try:
        number = float(first[0])
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # drop NaN


def as_int(value: Any) -> int | None:
    number = as_float(value)
    return int(number) if number is not None else None


def float_list(value: Any) -> list[float] | None:
    numbers = [as_float(v) for v in as_list(value)]
    return [n for n in numbers if n is not None] or None


def file_facts(
    values: dict[str, Any],
    *,
    subject: str,
    reader: str,
    size: int,
    scrubber: Scrubber | None = None,
) -> dict[str, Any]:
    """Normalized per-file facts (JSON-serialisable, no identifying values): free text is
    scrubbed of every name part and id the file holds (replaced by `subject`)."""
    scrub = scrubber or Scrubber.from_header(values, subject)
    study_date = as_text(values.get("StudyDate")) or ""
    return {
        "reader": reader,
        "size": size,
        "subject": subject,
        "study_uid": as_text(values.get("StudyInstanceUID")),
        "series_uid": as_text(values.get("SeriesInstanceUID")),
        "sop_uid": as_text(values.get("SOPInstanceUID")),
        "sop_class_uid": as_text(values.get("SOPClassUID")),
        "transfer_syntax": as_text(values.get("TransferSyntaxUID")),
        "series_number": as_int(values.get("SeriesNumber")),
        "instance_number": as_int(values.get("InstanceNumber")),
        "study_description": scrub.scrub_optional(as_text(values.get("StudyDescription"))),
        "study_year": study_date[:4] if re.fullmatch(r"\d{8}", study_date) else None,
        "protocol_name": scrub.scrub_optional(as_text(values.get("ProtocolName"))),
        "pulse_sequence_name": as_text(values.get("PulseSequenceName")),
        "mr_acquisition_type": as_text(values.get("MRAcquisitionType")),
        "scan_options": [str(v) for v in as_list(values.get("ScanOptions")) if v],
        "sex": _SEX.get(as_text(values.get("PatientSex")) or ""),
        "age": as_text(values.get("PatientAge")),
        "weight_kg": _positive(as_float(values.get("PatientWeight"))),
        "mosaic_slices": mosaic_slices(values),
        "imaging": imaging_facts(values, scrub),
        "raw": raw_dump(values, scrub),
    }


def _positive(number: float | None) -> float | None:
    return number if number is not None and number > 0 else None


def mosaic_slices(values: dict[str, Any]) -> int | None:
    """Slices in a Siemens mosaic: (0019,100A) under the SIEMENS MR HEADER creator, or CSA."""
    if "MOSAIC" not in as_list(values.get("ImageType")):
        return None
    creator = as_text(values.get("SiemensPrivateCreator19"))
    count = as_int(values.get("NumberOfImagesInMosaic"))
    if creator not in (None, T.SIEMENS_CREATOR) and count is not None:
        return None
    return count if count and count > 0 else None


def imaging_facts(values: dict[str, Any], scrubber: Scrubber | None = None) -> dict[str, Any]:
    """The per-file part of `catalog.domain.records.Imaging` (None values dropped)."""
    scrub = scrubber or Scrubber.from_header(values, "")
    sequence_name = as_text(values.get("SequenceName")) or as_text(values.get("PulseSequenceName"))
    facts: dict[str, Any] = {
        "modality": as_text(values.get("Modality")),
        "manufacturer": as_text(values.get("Manufacturer")),
        "model": as_text(values.get("ManufacturerModelName")),
        "field_strength_t": field_strength(values.get("MagneticFieldStrength")),
        "sequence": sequence_name or as_text(values.get("ScanningSequence")),
        "scanning_sequence": as_text(values.get("ScanningSequence")),
        "sequence_variant": as_text(values.get("SequenceVariant")),
        "series_description": scrub.scrub_optional(as_text(values.get("SeriesDescription"))),
        "image_type": [str(v) for v in as_list(values.get("ImageType")) if v] or None,
        "contrast": as_text(values.get("AcquisitionContrast")),
        "tr_ms": as_float(values.get("RepetitionTime")),
        "te_ms": as_float(values.get("EchoTime")),
        "ti_ms": as_float(values.get("InversionTime")),
        "flip_angle_deg": as_float(values.get("FlipAngle")),
        "slice_thickness_mm": _positive(as_float(values.get("SliceThickness"))),
        "num_frames": as_int(values.get("NumberOfFrames")),
        "body_part": as_text(values.get("BodyPartExamined")),
        "software_version": as_text(values.get("SoftwareVersions")),
        "units": as_text(values.get("Units")),
    }
    facts["voxel_size_mm"] = voxel_size(values, facts["slice_thickness_mm"])
    facts["matrix"] = file_matrix(values)
    facts.update(radiopharmaceutical_facts(values))
    return {key: value for key, value in facts.items() if value is not None}


def field_strength(value: Any) -> float | None:
    """Tesla; some old scanners wrote gauss (15000 -> 1.5 T)."""
    number = _positive(as_float(value))
    if number is None:
        return None
    return round(number / 10000, 4) if number > 100 else number


def voxel_size(values: dict[str, Any], thickness: float | None) -> list[float] | None:
    spacing = float_list(values.get("PixelSpacing"))
    if not spacing or len(spacing) != 2:
        return None
    return [*spacing, thickness] if thickness is not None else spacing


def file_matrix(values: dict[str, Any]) -> list[int] | None:
    """[rows, cols] (+ frames or mosaic slices); a mosaic's tile size is the acquisition matrix."""
    rows, cols = as_int(values.get("Rows")), as_int(values.get("Columns"))
    if not rows or not cols:
        return None
    slices = mosaic_slices(values)
    if slices:
        acquired = [v for v in (as_int(x) for x in as_list(values.get("AcquisitionMatrix"))) if v]
        if len(acquired) == 2:
            rows, cols = acquired
        return [rows, cols, slices]
    frames = as_int(values.get("NumberOfFrames"))
    return [rows, cols, frames] if frames and frames > 1 else [rows, cols]


def radiopharmaceutical_facts(values: dict[str, Any]) -> dict[str, Any]:
    """Radiopharmaceutical, radionuclide (as `nucleus`) and injected dose from the PET item."""
    items = values.get("RadiopharmaceuticalInformationSequence") or []
    item = items[0] if items and isinstance(items[0], dict) else {}
    if not item:
        return {}
    agent = as_text(item.get("Radiopharmaceutical")) or _code_meaning(
        item.get("RadiopharmaceuticalCodeSequence")
    )
    nuclide = _code_meaning(item.get("RadionuclideCodeSequence"))
    return {
        "radiopharmaceutical": agent,
        "nucleus": nuclide.replace("^", "") if nuclide else None,
        "injected_dose_bq": _positive(as_float(item.get("RadionuclideTotalDose"))),
    }


def _code_meaning(sequence: Any) -> str | None:
    if not sequence or not isinstance(sequence[0], dict):
        return None
    return as_text(sequence[0].get("CodeMeaning"))


def raw_dump(values: dict[str, Any], scrubber: Scrubber | None = None) -> dict[str, str]:
    """A small scrubbed dump: top-level, non-private, non-sequence values as short strings.

    PS3.15 identifying attributes are left out; every other value is scrubbed of the
    patient's names and ids (descriptions, protocol names, station names typed by hand).
    """
    scrub = scrubber or Scrubber.from_header(values, "")
    texts: dict[str, str] = {}
    for key in sorted(values):
        value = values[key]
        if key in _RAW_EXCLUDED or key in IDENTIFYING_KEYWORDS or value is None or value == []:
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        texts[key] = value if isinstance(value, str) else "\\".join(str(v) for v in as_list(value))
    # One search over all values first: most files mention no name or id outside the
    # identifying attributes (left out above), and then nothing needs replacing.
    if scrub.mentions("\x00".join(texts.values())):
        return {key: scrub.scrub(text)[:_RAW_MAX_CHARS] for key, text in texts.items()}
    return {key: text[:_RAW_MAX_CHARS] for key, text in texts.items()}
