"""Generate a DICOM corpus for benchmarks from a few real templates (small pixel data).

Templates: pydicom's MR_small (explicit VR, Toshiba) and CT_small (explicit VR, GE with
many private tags), and, when medimages4tests is installed, a Siemens Skyra MPRAGE
(implicit VR, CSA headers) and a Siemens Biograph PET (implicit VR, radiopharmaceutical
sequence). Each generated file gets new UIDs and an 16x16 image, laid out as
sub-N/study-M/series-K/IMxxxxx.dcm.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

SERIES_PER_STUDY = 4
FILES_PER_SERIES = 50


def templates(workdir: Path) -> list[Any]:
    """pydicom Datasets to clone (headers as found, pixel data replaced)."""
    import pydicom
    from pydicom.data import get_testdata_file

    found = [
        pydicom.dcmread(get_testdata_file(name, download=False))
        for name in ("MR_small.dcm", "CT_small.dcm")
    ]
    for module_name in (
        "medimages4tests.dummy.dicom.mri.t1w.siemens.skyra.syngo_d13c",
        "medimages4tests.dummy.dicom.pet.wholebody.siemens.biograph_vision.vr20b",
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        module.num_vols = 1
        out = module.get_image(out_dir=workdir / "templates" / module_name.split(".")[4])
        found.append(pydicom.dcmread(sorted(Path(out).glob("*.dcm"))[0]))
    return found


def generate(root: Path, count: int) -> list[Path]:
    """Write `count` files under `root`; returns their paths (sorted)."""
    from pydicom.uid import generate_uid

    root.mkdir(parents=True, exist_ok=True)
    sources = templates(root.parent)
    paths: list[Path] = []
    series_uid = study_uid = ""
    for index in range(count):
        series_index, instance = divmod(index, FILES_PER_SERIES)
        study_index = series_index // SERIES_PER_STUDY
        if instance == 0:
            series_uid = generate_uid()
            if series_index % SERIES_PER_STUDY == 0:
                study_uid = generate_uid()
        ds = sources[series_index % len(sources)].copy()
        _small_image(ds)
        ds.PatientID = f"BENCH{study_index % 97:03d}"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = instance + 1
        path = root / f"sub-{study_index % 97:03d}/study-{study_index}/series-{series_index}"
        path.mkdir(parents=True, exist_ok=True)
        target = path / f"IM{instance:05d}.dcm"
        ds.save_as(target, enforce_file_format=True)
        paths.append(target)
    return sorted(paths)


def _small_image(ds: Any) -> None:
    ds.Rows = 16
    ds.Columns = 16
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelData = bytes(16 * 16 * 2)
