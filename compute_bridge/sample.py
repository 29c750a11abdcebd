"""A relaxometry phantom written as a DICOM series: the demo's input for the pipelines.

Without it a newcomer's demo catalogue holds no multi-echo series, so `imagora compute
run relaxometry` has nothing to fit. The phantom is `phantoms.multi_echo` (known T2 per
tissue, Rician noise at SNR 50) saved as classic MR Image Storage, one file per slice and
echo, as scanners export. Values are stored as integers with a rescale slope, like
magnitude images. UIDs are derived from fixed seeds, so every demo writes the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from compute_bridge.phantoms import multi_echo

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ECHO_TIMES_MS = [10.0 * (i + 1) for i in range(8)]
SHAPE = (32, 32, 2)
SLOPE = 0.05  # stored integer x SLOPE = signal; the phantom's S0 is 1000
SERIES_DESCRIPTION = "MSME relaxometry phantom (multi-echo T2)"


def _uid(*parts: object) -> str:
    return generate_uid(entropy_srcs=["imagora-demo-phantom", *map(str, parts)])


def _header(instance: int, echo: int, te_ms: float, z: int) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = _uid("instance", instance)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid("study"), _uid("series")
    ds.Modality, ds.Manufacturer, ds.MagneticFieldStrength = "MR", "Bruker", 9.4
    ds.PatientID, ds.PatientName = "PH01", "PH01"  # free text is scrubbed of name parts
    ds.StudyDescription, ds.StudyDate, ds.StudyID = "Relaxometry phantom", "20240725", "1"
    ds.SeriesNumber, ds.SeriesDescription = 1, SERIES_DESCRIPTION
    ds.ScanningSequence, ds.SequenceName = "SE", "MSME"
    ds.RepetitionTime, ds.EchoTime, ds.EchoNumbers, ds.FlipAngle = 3000.0, te_ms, echo, 90.0
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, float(z)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 1.0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = SLOPE, 0
    return ds


def write_phantom_series(dest: Path) -> Path:
    """Write the phantom's 16 files (2 slices x 8 echoes) under `dest/phantom/`."""
    folder = dest / "phantom"
    folder.mkdir(parents=True, exist_ok=True)
    images = multi_echo(shape=SHAPE, echo_times_ms=ECHO_TIMES_MS, snr=50.0, seed=7).images
    instance = 0
    for z in range(SHAPE[2]):
        for k, te_ms in enumerate(ECHO_TIMES_MS):
            instance += 1
            ds = _header(instance, k + 1, te_ms, z)
            pixels = np.clip(np.rint(images[:, :, z, k] / SLOPE), 0, 65535).astype(np.uint16)
            ds.Rows, ds.Columns = SHAPE[1], SHAPE[0]
            ds.PixelData = pixels.T.copy().tobytes()
            ds.save_as(folder / f"IM{instance:04d}.dcm", enforce_file_format=True)
    return folder
