"""A small, realistic BIDS dataset for the demo, the tests and the benchmark.

Three subjects (human MRI with anat T1w/FLAIR, dwi, func bold), sidecars at the root and
per file (so inheritance matters), participants.tsv/.json, and an fMRIPrep-style
derivatives folder with a GeneratedBy pipeline.  Images are real NIfTI-1 files with
tiny voxel data, written with `struct` + `gzip` (no nibabel needed at run time).
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

_SUBJECTS = (("01", "F", "29", "right"), ("02", "M", "34", "left"), ("03", "F", "41", "right"))


def nifti1_bytes(
    matrix: tuple[int, ...], voxel_mm: tuple[float, float, float], tr_s: float = 0.0
) -> bytes:
    """A complete single-file NIfTI-1 image (header, extension flag, uint8 zero voxels)."""
    dims = [len(matrix), *matrix] + [1] * (7 - len(matrix))
    pixdim = [1.0, *voxel_mm, tr_s or 1.0, 1.0, 1.0, 1.0]
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, *dims)
    struct.pack_into("<hh", header, 70, 2, 8)  # datatype uint8, bitpix 8
    struct.pack_into("<8f", header, 76, *pixdim)
    struct.pack_into("<f", header, 108, 352.0)  # vox_offset
    header[123] = 2 | 8  # xyzt_units: mm, seconds
    struct.pack_into("<h", header, 252, 1)  # qform_code: scanner
    struct.pack_into("<3f", header, 280, voxel_mm[0], 0.0, 0.0)  # srow_x
    struct.pack_into("<3f", header, 296, 0.0, voxel_mm[1], 0.0)  # srow_y
    struct.pack_into("<3f", header, 312, 0.0, 0.0, voxel_mm[2])  # srow_z
    header[344:348] = b"n+1\x00"
    voxels = 1
    for size in matrix:
        voxels *= size
    return bytes(header) + b"\x00" * 4 + bytes(voxels)


def write_nifti(path: Path, matrix: tuple[int, ...], voxel_mm: tuple[float, float, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(nifti1_bytes(matrix, voxel_mm), mtime=0))


def _json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


_DESCRIPTION = {
    "Name": "Imagora sample: multimodal MRI of three volunteers",
    "BIDSVersion": "1.10.0",
    "DatasetType": "raw",
    "License": "CC0",
    "Authors": ["Ada Lovelace", "Alan Turing"],
    "Keywords": ["MRI", "fMRI", "diffusion", "sample"],
    "Funding": ["Imagora demo grant 0001"],
    "ReferencesAndLinks": ["https://doi.org/10.1038/sdata.2016.44", "https://bids.neuroimaging.io"],
    "GeneratedBy": [{"Name": "dcm2niix", "Version": "v1.0.20240202"}],
}

_SCANNER = {
    "Manufacturer": "Siemens",
    "ManufacturersModelName": "Prisma",
    "MagneticFieldStrength": 3,
}

_ROOT_SIDECARS = {
    "T1w.json": {"RepetitionTime": 2.3, "EchoTime": 0.00226, "InversionTime": 0.9,
                 "FlipAngle": 8, "PulseSequenceType": "MPRAGE", "SliceThickness": 1.0},
    "FLAIR.json": {"RepetitionTime": 5.0, "EchoTime": 0.388, "InversionTime": 1.8,
                   "PulseSequenceType": "SPACE FLAIR"},
    "dwi.json": {"RepetitionTime": 3.2, "EchoTime": 0.089, "PhaseEncodingDirection": "j-",
                 "PulseSequenceType": "EPI DWI"},
    "task-rest_bold.json": {"TaskName": "rest", "RepetitionTime": 2.0, "EchoTime": 0.03,
                            "FlipAngle": 90, "PulseSequenceType": "EPI"},
}  # fmt: skip


def write_sample_dataset(dest: Path) -> Path:
    """Write the sample dataset into `dest` (created if needed) and return its root."""
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    _json(root / "dataset_description.json", _DESCRIPTION)
    (root / "README").write_text(
        "Sample BIDS dataset written by Imagora: three adult volunteers scanned at 3 T\n"
        "with anatomical (T1w, FLAIR), diffusion and resting-state functional MRI.\n",
        encoding="utf-8",
    )
    _participants(root)
    for name, data in _ROOT_SIDECARS.items():
        _json(root / name, {**_SCANNER, **data})
    for label, *_ in _SUBJECTS:
        _subject(root, label)
    _derivatives(root)
    return root


def _participants(root: Path) -> None:
    lines = ["participant_id\tspecies\tsex\tage\thandedness"]
    lines += [f"sub-{lab}\thomo sapiens\t{sex}\t{age}\t{hand}" for lab, sex, age, hand in _SUBJECTS]
    (root / "participants.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _json(
        root / "participants.json",
        {"age": {"Description": "age at scan", "Units": "year"},
         "sex": {"Levels": {"M": "male", "F": "female"}}},
    )  # fmt: skip


def _subject(root: Path, label: str) -> None:
    base = root / f"sub-{label}" / "ses-01"
    prefix = f"sub-{label}_ses-01"
    write_nifti(base / "anat" / f"{prefix}_T1w.nii.gz", (8, 8, 6), (1.0, 1.0, 1.0))
    write_nifti(base / "anat" / f"{prefix}_FLAIR.nii.gz", (8, 8, 4), (1.0, 1.0, 3.0))
    write_nifti(base / "dwi" / f"{prefix}_dwi.nii.gz", (6, 6, 4, 3), (2.0, 2.0, 2.0))
    (base / "dwi" / f"{prefix}_dwi.bval").write_text("0 1000 1000\n", encoding="utf-8")
    (base / "dwi" / f"{prefix}_dwi.bvec").write_text("0 1 0\n0 0 1\n0 0 0\n", encoding="utf-8")
    bold = base / "func" / f"{prefix}_task-rest_bold.nii.gz"
    write_nifti(bold, (6, 6, 4, 5), (3.0, 3.0, 3.0))
    # A per-file sidecar overriding the inherited root value (inheritance principle).
    _json(bold.with_name(f"{prefix}_task-rest_bold.json"), {"EchoTime": 0.028})


def _derivatives(root: Path) -> None:
    pipeline = root / "derivatives" / "smoothing"
    _json(
        pipeline / "dataset_description.json",
        {
            "Name": "Imagora sample: smoothed BOLD",
            "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "imagora-smooth", "Version": "0.1.0",
                             "CodeURL": "https://example.org/imagora-smooth"}],
            "SourceDatasets": [{"URL": "bids::"}],
            "License": "CC0",
        },
    )  # fmt: skip
    for label, *_ in _SUBJECTS:
        func = pipeline / f"sub-{label}" / "ses-01" / "func"
        stem = f"sub-{label}_ses-01_task-rest_desc-smooth_bold"
        write_nifti(func / f"{stem}.nii.gz", (6, 6, 4, 5), (3.0, 3.0, 3.0))
        _json(func / f"{stem}.json", {"SkullStripped": False, "FWHM": 6.0})
