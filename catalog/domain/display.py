"""How record values read for people: the imaging facts table shared by the landing page
and `imagora show` (labels, units, list formatting), so both say the same thing."""

from __future__ import annotations

from typing import Any

from catalog.domain.records import RecordPublic

TIMES = " \u00d7 "  # multiplication sign between matrix / voxel dimensions


#: Imaging fields shown on the landing page, in order: (field, label, unit).
IMAGING_ROWS: tuple[tuple[str, str, str], ...] = (
    ("modality", "Modality", ""),
    ("field_strength_t", "Field strength", "T"),
    ("manufacturer", "Manufacturer", ""),
    ("model", "Model", ""),
    ("sequence", "Sequence", ""),
    ("sequence_variant", "Sequence variant", ""),
    ("scanning_sequence", "Scanning sequence", ""),
    ("series_description", "Series description", ""),
    ("contrast", "Contrast", ""),
    ("tr_ms", "Repetition time (TR)", "ms"),
    ("te_ms", "Echo time (TE)", "ms"),
    ("ti_ms", "Inversion time (TI)", "ms"),
    ("flip_angle_deg", "Flip angle", "°"),
    ("voxel_size_mm", "Voxel size", "mm"),
    ("matrix", "Matrix", ""),
    ("fov_mm", "Field of view", "mm"),
    ("slice_thickness_mm", "Slice thickness", "mm"),
    ("num_instances", "Images", ""),
    ("num_frames", "Frames", ""),
    ("body_part", "Body part", ""),
    ("nucleus", "Nucleus", ""),
    ("averages", "Averages", ""),
    ("repetitions", "Repetitions", ""),
    ("radiopharmaceutical", "Radiopharmaceutical", ""),
    ("injected_dose_bq", "Injected dose", "Bq"),
    ("institution", "Institution", ""),
    ("station", "Station", ""),
    ("software_version", "Software", ""),
    ("acquisition_date", "Acquired", ""),
)


def _display(value: Any, unit: str) -> str:
    if isinstance(value, list):
        joined = TIMES.join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        return f"{joined} {unit}".strip()
    if isinstance(value, float):
        return f"{value:g} {unit}".strip()
    return f"{value} {unit}".strip()


def imaging_rows(record: RecordPublic) -> list[tuple[str, str]]:
    """(label, display value) for every known imaging fact of the record."""
    rows = []
    for name, label, unit in IMAGING_ROWS:
        value = getattr(record.imaging, name)
        if value is not None and value != []:
            rows.append((label, _display(value, unit)))
    return rows
