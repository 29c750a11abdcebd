"""Read one representative 2-D slice from DICOM, NIfTI or Bruker `2dseq` pixel data.

Each reader returns a float array in display orientation (rows top to bottom) or raises
`ValueError` saying what is missing. The middle slice (or frame) stands for the scan;
4-D data gives the middle slice of its first volume. Only numpy (and pydicom, already a
harvest dependency) are used: NIfTI headers are 348 / 540 bytes of documented layout and
a `2dseq` is raw frames described by `visu_pars`.
"""

from __future__ import annotations

import gzip
import logging
import struct
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: NIfTI datatype code -> numpy dtype (NIfTI-1 standard, nifti1.h).
NIFTI_DTYPES = {
    2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4",
    1024: "i8", 1280: "u8",
}  # fmt: skip
#: Bruker VisuCoreWordType -> numpy dtype.
BRUKER_DTYPES = {
    "_8BIT_UNSGN_INT": "u1", "_16BIT_SGN_INT": "i2", "_32BIT_SGN_INT": "i4",
    "_32BIT_FLOAT": "f4",
}  # fmt: skip
#: Bigger pixel payloads are not decoded for a thumbnail (a 4-D fMRI run can be GBs;
#: the reader then takes only the bytes of one slice).
MAX_SLICE_BYTES = 64 << 20


def dicom_slice(path: Path) -> np.ndarray:
    """The (middle frame of the) image of one DICOM file, rescaled to stored units."""
    import pydicom

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = pydicom.dcmread(path, force=True)
        if "PixelData" not in dataset:
            raise ValueError(f"{path.name}: the DICOM file has no pixel data")
        try:
            pixels = dataset.pixel_array
        except Exception as exc:  # missing codec plugins, truncated data
            raise ValueError(f"{path.name}: cannot decode the DICOM pixel data ({exc})") from None
    for warning in caught:  # library warnings go to the log, not the terminal
        log.warning("pydicom: %s: %s", path.name, warning.message)
    pixels = np.asarray(pixels)
    if pixels.ndim == 4 or (pixels.ndim == 3 and pixels.shape[-1] not in (3, 4)):
        pixels = pixels[pixels.shape[0] // 2]
    if pixels.ndim == 3:  # RGB(A): luminance
        pixels = pixels[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
    intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
    image = pixels.astype(np.float64) * slope + intercept
    if str(getattr(dataset, "PhotometricInterpretation", "")) == "MONOCHROME1":
        image = image.max() - image
    return image


def _open_nifti(path: Path):  # type: ignore[no-untyped-def]
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _nifti_header(head: bytes, name: str) -> tuple[str, list[int], int, int, float, float]:
    """(byte order, dims, datatype, vox_offset, slope, intercept) of a NIfTI-1/2 header."""
    for order in ("<", ">"):
        size = struct.unpack(order + "i", head[:4])[0]
        if size == 348:
            dims = list(struct.unpack(order + "8h", head[40:56]))
            datatype = struct.unpack(order + "h", head[70:72])[0]
            offset = int(struct.unpack(order + "f", head[108:112])[0])
            slope, inter = struct.unpack(order + "2f", head[112:120])
            return order, dims, datatype, max(offset, 352), slope, inter
        if size == 540:
            dims = list(struct.unpack(order + "8q", head[16:80]))
            datatype = struct.unpack(order + "h", head[12:14])[0]
            offset = struct.unpack(order + "q", head[168:176])[0]
            slope, inter = struct.unpack(order + "2d", head[176:192])
            return order, dims, datatype, max(offset, 544), slope, inter
    raise ValueError(f"{name}: not a NIfTI file (header size is neither 348 nor 540)")


def nifti_slice(path: Path) -> np.ndarray:
    """The middle axial slice of the first volume of a .nii / .nii.gz file."""
    with _open_nifti(path) as handle:
        head = handle.read(544)
        order, dims, datatype, offset, slope, inter = _nifti_header(head, path.name)
        if datatype not in NIFTI_DTYPES:
            raise ValueError(f"{path.name}: NIfTI datatype {datatype} has no preview")
        ndim = max(1, min(int(dims[0]), 7))
        nx, ny = max(1, dims[1]), max(1, dims[2]) if ndim >= 2 else 1
        nz = max(1, dims[3]) if ndim >= 3 else 1
        dtype = np.dtype(order + NIFTI_DTYPES[datatype])
        plane = nx * ny * dtype.itemsize
        if plane > MAX_SLICE_BYTES:
            raise ValueError(f"{path.name}: a slice of {nx} x {ny} is too big for a preview")
        handle.seek(offset + (nz // 2) * plane)
        data = handle.read(plane)
    if len(data) < plane:
        raise ValueError(f"{path.name}: the NIfTI file is shorter than its header says")
    image = np.frombuffer(data, dtype=dtype).reshape((ny, nx)).astype(np.float64)
    if slope and np.isfinite(slope):
        image = image * slope + (inter if np.isfinite(inter) else 0.0)
    return image[::-1]  # voxel rows go up (RAS+); screen rows go down


def bruker_slice(path: Path, visu_pars: dict[str, object]) -> np.ndarray:
    """The middle frame of a `2dseq`, laid out as `visu_pars` describes it."""
    size = visu_pars.get("VisuCoreSize")
    if not isinstance(size, list) or len(size) < 2:
        raise ValueError(f"{path}: visu_pars has no VisuCoreSize; cannot lay out the 2dseq")
    word = str(visu_pars.get("VisuCoreWordType") or "_16BIT_SGN_INT")
    if word not in BRUKER_DTYPES:
        raise ValueError(f"{path}: VisuCoreWordType {word} has no preview")
    big = str(visu_pars.get("VisuCoreByteOrder") or "littleEndian") == "bigEndian"
    dtype = np.dtype((">" if big else "<") + BRUKER_DTYPES[word])
    nx, ny = int(size[0]), int(size[1])
    plane = nx * ny * dtype.itemsize
    frames = path.stat().st_size // plane if plane else 0
    if frames < 1 or plane > MAX_SLICE_BYTES:
        raise ValueError(f"{path}: the 2dseq holds no whole {nx} x {ny} frame")
    with path.open("rb") as handle:
        handle.seek((frames // 2) * plane)
        data = handle.read(plane)
    image = np.frombuffer(data, dtype=dtype).reshape((ny, nx)).astype(np.float64)
    slope = visu_pars.get("VisuCoreDataSlope")
    if isinstance(slope, list) and slope:
        slope = slope[min(frames // 2, len(slope) - 1)]
    if isinstance(slope, int | float) and slope:
        image = image * float(slope)
    return image
