"""NIfTI-1/-2 header reading: matrix and voxel size without loading voxel data.

Catalogue harvests touch thousands of images, so only the first 540 bytes are read
(through gzip for .nii.gz).  Many test and example datasets hold 0-byte placeholders:
those, and anything that is not a NIfTI header, give None instead of an error.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Any

_UNIT_TO_MM = {1: 1000.0, 2: 1.0, 3: 0.001}
"""NIfTI xyzt_units spatial codes: 1 metre, 2 millimetre, 3 micrometre (0: unknown)."""


def read_header_bytes(path: Path, size: int = 540) -> bytes:
    """The first `size` bytes of the image, gunzipped when gzip magic is present."""
    with path.open("rb") as handle:
        head = handle.read(size)
    if not head.startswith(b"\x1f\x8b"):
        return head
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


def parse_header(data: bytes) -> dict[str, Any] | None:
    """{"matrix", "voxel_size_mm", "ndim", "version"} from raw header bytes, else None."""
    for endian in ("<", ">"):
        if len(data) >= 348 and struct.unpack(endian + "i", data[:4])[0] == 348:
            return _nifti1(data, endian)
        if len(data) >= 540 and struct.unpack(endian + "i", data[:4])[0] == 540:
            return _nifti2(data, endian)
    return None


def _nifti1(data: bytes, endian: str) -> dict[str, Any] | None:
    dims = struct.unpack(endian + "8h", data[40:56])
    pixdim = struct.unpack(endian + "8f", data[76:108])
    units = data[123] & 0x07
    return _summary(dims, pixdim, units, "nifti1")


def _nifti2(data: bytes, endian: str) -> dict[str, Any] | None:
    dims = struct.unpack(endian + "8q", data[16:80])
    pixdim = struct.unpack(endian + "8d", data[104:168])
    units = struct.unpack(endian + "i", data[500:504])[0] & 0x07
    return _summary(dims, pixdim, units, "nifti2")


def _summary(dims: tuple[int, ...], pixdim: tuple[float, ...], units: int, version: str):
    ndim = dims[0]
    if not 1 <= ndim <= 7:
        return None
    scale = _UNIT_TO_MM.get(units, 1.0)  # unknown units: NIfTI readers assume mm
    spatial = min(ndim, 3)
    return {
        "version": version,
        "ndim": ndim,
        "matrix": [int(d) for d in dims[1 : ndim + 1]],
        "voxel_size_mm": [round(abs(p) * scale, 6) for p in pixdim[1 : spatial + 1]],
    }


def read_header(path: Path) -> dict[str, Any] | None:
    """Header summary of a .nii/.nii.gz file, or None (empty, truncated, not NIfTI)."""
    return parse_header(read_header_bytes(path))
