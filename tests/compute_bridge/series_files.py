"""Real DICOM and Bruker ParaVision files of relaxometry phantoms, for the compute tests.

DICOM: classic MR Image Storage (one file per slice and echo / inversion time, as most
scanners export), or one enhanced MR multi-frame file with per-frame functional groups.
Bruker: a scan folder with `acqp`, `method`, `pdata/1/visu_pars` (JCAMP-DX written by
the harvester's own writer) and `pdata/1/2dseq` (integers with a per-frame slope).
Stored values are integers with a rescale slope, as scanners write magnitude images.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from harvesters.bruker.writer import array, num, string, struct, write_jcamp

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
SLOPE = 0.05  # stored integer * SLOPE = signal (phantom S0 is 1000: 20000 at most)


def _to_int(image: np.ndarray) -> np.ndarray:
    """(x, y) float image -> (rows=y, columns=x) uint16 pixel data."""
    return np.clip(np.rint(image / SLOPE), 0, 65535).astype(np.uint16).T.copy()


def _base(sop_class: str, study: str, series: str, number: int, description: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.Manufacturer = "Bruker"
    ds.MagneticFieldStrength = 9.4
    ds.PatientID = "rat-07"
    ds.PatientName = "Phantom^Rat"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    ds.StudyDate = "20240725"
    ds.Rows, ds.Columns = 0, 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = SLOPE, 0
    return ds


def write_dicom_series(
    folder: Path,
    images: np.ndarray,
    values: Sequence[float],
    field: str,
    *,
    study: str | None = None,
    number: int = 1,
    description: str = "MSME T2 map",
    tr_ms: float = 3000.0,
    flip_deg: float = 90.0,
    te_ms: float = 10.0,
    drop: tuple[str, int, int] | None = None,
) -> Path:
    """One classic DICOM file per slice and sample. `field` is the DICOM keyword that
    varies (EchoTime, InversionTime, FlipAngle); `drop=(keyword, slice, sample)` removes
    that attribute from one file (a broken export)."""
    folder.mkdir(parents=True, exist_ok=True)
    study = study or generate_uid()
    series = generate_uid()
    nx, ny, nz, _n = images.shape
    instance = 0
    for z in range(nz):
        for k, value in enumerate(values):
            instance += 1
            ds = _base(MR_STORAGE, study, series, number, description)
            ds.RepetitionTime, ds.FlipAngle, ds.EchoTime = tr_ms, flip_deg, te_ms
            setattr(ds, field, value)
            if field == "EchoTime":
                ds.EchoNumbers = k + 1
            ds.InstanceNumber = instance
            ds.ImagePositionPatient = [0.0, 0.0, float(z) * 1.0]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [0.5, 0.5]
            ds.SliceThickness = 1.0
            ds.Rows, ds.Columns = ny, nx
            ds.PixelData = _to_int(images[:, :, z, k]).tobytes()
            if drop and drop[1:] == (z, k):
                delattr(ds, drop[0])
            # files named out of order, as exports often are
            ds.save_as(folder / f"IM{(instance * 7919) % 10007:05d}.dcm", enforce_file_format=True)
    return folder


def write_enhanced_vfa(
    path: Path, images: np.ndarray, flips: Sequence[float], tr_ms: float, te_ms: float = 3.0
) -> Path:
    """One enhanced MR file: frames ordered sample-major, FlipAngle per frame in
    MRTimingAndRelatedParametersSequence, positions in PlanePositionSequence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = _base(ENHANCED_MR_STORAGE, generate_uid(), generate_uid(), 5, "VFA FLASH T1")
    nx, ny, nz, _n = images.shape
    ds.Rows, ds.Columns = ny, nx
    ds.InstanceNumber = 1
    del ds.RescaleSlope, ds.RescaleIntercept
    shared = Dataset()
    shared.PixelMeasuresSequence = DicomSequence([_measures()])
    orient = Dataset()
    orient.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    shared.PlaneOrientationSequence = DicomSequence([orient])
    rescale = Dataset()
    rescale.RescaleSlope, rescale.RescaleIntercept, rescale.RescaleType = SLOPE, 0, "US"
    shared.PixelValueTransformationSequence = DicomSequence([rescale])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    frames, pixels = [], []
    for k, flip in enumerate(flips):
        for z in range(nz):
            frames.append(_frame(z, k, flip, tr_ms, te_ms))
            pixels.append(_to_int(images[:, :, z, k]))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
    ds.NumberOfFrames = len(frames)
    ds.PixelData = np.stack(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _measures() -> Dataset:
    item = Dataset()
    item.PixelSpacing = [0.5, 0.5]
    item.SliceThickness = 1.0
    return item


def _frame(z: int, k: int, flip: float, tr_ms: float, te_ms: float) -> Dataset:
    frame = Dataset()
    position = Dataset()
    position.ImagePositionPatient = [0.0, 0.0, float(z)]
    frame.PlanePositionSequence = DicomSequence([position])
    timing = Dataset()
    timing.RepetitionTime, timing.FlipAngle = tr_ms, flip
    frame.MRTimingAndRelatedParametersSequence = DicomSequence([timing])
    echo = Dataset()
    echo.EffectiveEchoTime = te_ms
    frame.MREchoSequence = DicomSequence([echo])
    content = Dataset()
    content.InStackPositionNumber = z + 1
    content.TemporalPositionIndex = k + 1
    frame.FrameContentSequence = DicomSequence([content])
    return frame


# ----- Bruker ParaVision -----------------------------------------------------------------
def write_bruker_scan(
    study: Path,
    number: int,
    images: np.ndarray,
    values: Sequence[float],
    kind: str,
    *,
    tr_ms: float = 3000.0,
    word_type: str = "_16BIT_SGN_INT",
    byte_order: str = "littleEndian",
    echo_times: bool = True,
) -> Path:
    """A ParaVision 360-style scan: MSME (kind='echo': FG_ECHO, VisuAcqEchoTime,
    EffectiveTE) or RARE inversion recovery (kind='inversion': FG_CYCLE with
    VisuAcqInversionTime, MultiInvTime). Frames: sample fastest, then slice.
    `echo_times=False` leaves every echo time out (a broken export)."""
    nx, ny, nz, n = images.shape
    folder = study / str(number)
    method = "MSME" if kind == "echo" else "RAREVTR"
    method_params = [
        ("Method", f"<Bruker:{method}>"),
        ("PVM_RepetitionTime", num(tr_ms)),
        ("PVM_Matrix", array([nx, ny])),
        ("PVM_Fov", array([nx * 0.5, ny * 0.5])),
        ("PVM_SliceThick", "1"),
        ("PVM_SPackArrNSlices", array([nz])),
    ]
    if kind == "echo" and echo_times:
        method_params += [("PVM_EchoTime", num(values[0])), ("EffectiveTE", array(list(values)))]
        visu_values = [("VisuAcqEchoTime", array(list(values)))]
    elif kind == "echo":
        visu_values = []
    else:
        method_params += [("PVM_EchoTime", "8"), ("MultiInvTime", array(list(values)))]
        visu_values = [
            ("VisuAcqEchoTime", array([8])),
            ("VisuAcqInversionTime", array(list(values))),
        ]
    write_jcamp(folder / "method", method_params, title="Parameter List, ParaVision 360 V3.6")
    write_jcamp(
        folder / "acqp",
        [
            ("ACQ_method", f"<Bruker:{method}>"),
            ("ACQ_protocol_name", string(f"{method}_relaxometry")),
            ("BF1", "400.3"),
            ("ACQ_repetition_time", array([tr_ms])),
            ("ACQ_flip_angle", "90"),
        ],
        title="Parameter List, ParaVision 360 V3.6",
    )
    group = "<FG_ECHO>" if kind == "echo" else "<FG_CYCLE>"
    stored, slopes = _bruker_frames(images, word_type)
    write_jcamp(
        folder / "pdata" / "1" / "visu_pars",
        [
            ("VisuVersion", "8"),
            ("VisuManufacturer", string("Bruker BioSpin MRI GmbH")),
            ("VisuSubjectId", string("rat-07")),
            ("VisuStudyUid", string("2.25.1234567")),
            ("VisuExperimentNumber", str(number)),
            ("VisuAcqSequenceName", string(f"Bruker:{method}")),
            ("VisuAcqRepetitionTime", array([tr_ms])),
            *visu_values,
            ("VisuAcqFlipAngle", "90"),
            ("VisuCoreDim", "2"),
            ("VisuCoreSize", array([nx, ny])),
            ("VisuCoreExtent", array([nx * 0.5, ny * 0.5])),
            ("VisuCoreFrameCount", str(n * nz)),
            ("VisuCoreFrameThickness", array([1])),
            ("VisuCoreWordType", word_type),
            ("VisuCoreByteOrder", byte_order),
            ("VisuCoreDataSlope", array(slopes)),
            ("VisuCoreDataOffs", array([0] * len(slopes))),
            (
                "VisuFGOrderDesc",
                f"( 2 )\n{struct(n, group, '<>', 0, 1)} {struct(nz, '<FG_SLICE>', '<>', 1, 1)}",
            ),
        ],
        title="Parameter List, ParaVision 360 V3.6",
    )
    dtype = {"_16BIT_SGN_INT": "i2", "_32BIT_SGN_INT": "i4", "_32BIT_FLOAT": "f4"}[word_type]
    endian = "<" if byte_order == "littleEndian" else ">"
    (folder / "pdata" / "1" / "2dseq").write_bytes(stored.astype(endian + dtype).tobytes())
    return folder


def _bruker_frames(images: np.ndarray, word_type: str) -> tuple[np.ndarray, list[float]]:
    """Frames (sample fastest, then slice), each (y, x) with x fastest; a slope per frame
    chosen to use the integer range (ParaVision scales each frame)."""
    _nx, _ny, nz, n = images.shape
    frames, slopes = [], []
    for z in range(nz):
        for k in range(n):
            image = images[:, :, z, k].T
            if word_type == "_32BIT_FLOAT":
                frames.append(image.astype(np.float32))
                slopes.append(1.0)
                continue
            slope = float(max(image.max(), 1e-6) / 30000.0)
            frames.append(np.rint(image / slope))
            slopes.append(slope)
    return np.stack(frames), slopes
