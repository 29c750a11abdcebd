"""Which file of an acquisition stands for it, and its thumbnail PNG.

An acquisition lists its files (a DICOM series' instances, a BIDS run's NIfTI and
sidecars, a Bruker scan's parameter files). The representative image is: the NIfTI
image if there is one; else the `2dseq` next to a listed `pdata/N/` parameter file
(laid out by its `visu_pars`); else the middle DICOM instance in path order that holds
pixel data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harvesters.preview.pixels import bruker_slice, dicom_slice, nifti_slice
from harvesters.preview.render import slice_png

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: Non-image files a DICOM series or BIDS run lists beside its images.
SIDECAR_SUFFIXES = (".json", ".tsv", ".bval", ".bvec", ".txt", ".gz.json")
#: DICOM instances tried (from the middle outwards) before giving up on a series.
MAX_DICOM_TRIES = 3


def _pdata_dirs(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.parent.parent.name == "pdata" and path.parent not in found:
            found.append(path.parent)
        elif path.name in ("acqp", "method") and (path.parent / "pdata" / "1").is_dir():
            found.append(path.parent / "pdata" / "1")
    return found


def _bruker(paths: list[Path]) -> np.ndarray | None:
    from harvesters.bruker.jcamp import read_jcamp

    for folder in _pdata_dirs(paths):
        image, visu = folder / "2dseq", folder / "visu_pars"
        if image.is_file() and visu.is_file():
            return bruker_slice(image, read_jcamp(visu, require_end=False).params)
    return None


def _dicom(paths: list[Path]) -> np.ndarray | None:
    candidates = sorted(p for p in paths if not p.name.lower().endswith(SIDECAR_SUFFIXES))
    if not candidates:
        return None
    middle = len(candidates) // 2
    order = sorted(range(len(candidates)), key=lambda i: abs(i - middle))[:MAX_DICOM_TRIES]
    error: ValueError | None = None
    for index in order:
        try:
            return dicom_slice(candidates[index])
        except ValueError as exc:
            error = exc
    if error is not None:
        raise error
    return None


def representative_slice(paths: list[Path]) -> np.ndarray | None:
    """The slice that stands for the acquisition whose (existing) files are `paths`;
    None when none of them holds an image. Raises ValueError for unreadable pixels."""
    niftis = [p for p in paths if p.name.endswith(NIFTI_SUFFIXES)]
    if niftis:
        return nifti_slice(sorted(niftis)[0])
    if _pdata_dirs(paths):
        return _bruker(paths)
    return _dicom(paths)


def preview_png(paths: list[Path]) -> bytes | None:
    """The thumbnail PNG of an acquisition, or None when it has no image or its slice
    holds no signal (a uniform square tells nobody anything)."""
    image = representative_slice(paths)
    if image is None or not np.ptp(np.nan_to_num(image)):
        return None
    return slice_png(image)
