"""Thumbnails from real DICOM, NIfTI and Bruker 2dseq pixel data: the representative
slice is chosen, window-levelled against outliers, and written as a valid PNG."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from preview_support import phantom, read_png
from pydicom.data import get_testdata_file

from harvesters.bruker.jcamp import read_jcamp
from harvesters.bruker.sample import write_sample_study
from harvesters.preview.build import preview_png, representative_slice
from harvesters.preview.pixels import bruker_slice, nifti_slice
from harvesters.preview.render import THUMBNAIL_SIZE, png_bytes, window_level


def test_window_ignores_a_hot_outlier_and_keeps_the_background_black() -> None:
    image = window_level(phantom(40, 40, (20, 20)))
    assert image[20, 20] == 255  # the disc is white, not grey under a min..max window
    assert image[39, 39] == 0
    assert image.dtype == np.uint8


def test_flat_and_empty_slices_do_not_divide_by_zero() -> None:
    assert not window_level(np.zeros((8, 8))).any()
    assert window_level(np.full((8, 8), 7.0)).shape == (8, 8)
    with pytest.raises(ValueError, match="2-D slice"):
        window_level(np.zeros((2, 2, 2)))


def test_png_round_trips_through_an_independent_reader() -> None:
    gradient = np.arange(12 * 7, dtype=np.uint8).reshape(7, 12)
    assert np.array_equal(read_png(png_bytes(gradient)), gradient)


def write_dicom_series(folder: Path) -> list[Path]:
    """Three MR instances from pydicom's MR_small.dcm with the disc left, centre, right."""
    folder.mkdir(parents=True)
    paths = []
    for index, column in enumerate((12, 32, 52)):
        ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
        ds.PixelData = phantom(64, 64, (32, column)).tobytes()
        ds.InstanceNumber = index + 1
        path = folder / f"IM{index:04d}"
        ds.save_as(path)
        paths.append(path)
    return paths


def test_dicom_series_shows_its_middle_instance(tmp_path: Path) -> None:
    paths = write_dicom_series(tmp_path / "series")
    image = read_png(preview_png(paths) or b"")
    assert image.shape == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    middle = image[128]  # the middle row crosses the disc of the middle instance
    assert middle[128] == 255 and middle[48] == 0 and middle[208] == 0


def test_a_dicom_file_without_pixels_is_a_clear_error(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    del ds.PixelData
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path)
    with pytest.raises(ValueError, match=r"nopixels\.dcm: the DICOM file has no pixel data"):
        representative_slice([path])


@pytest.mark.parametrize("name", ["run.nii", "run.nii.gz"])
def test_nifti_shows_the_middle_slice_of_the_first_volume(tmp_path: Path, name: str) -> None:
    nib = importlib.import_module("nibabel")  # an independent NIfTI writer
    volume = np.zeros((32, 24, 5, 2), dtype=np.int16)  # x, y, z, t
    disc = phantom(24, 32, (12, 16)).T  # (x, y)
    volume[:, :, 2, 0] = disc
    volume[:, :, 2, 1] = 0  # the second volume must not be the one shown
    path = tmp_path / name
    nib.save(nib.Nifti1Image(volume, np.eye(4)), path)
    image = read_png(preview_png([path, tmp_path / "run.json"]) or b"")
    assert image.shape == (192, 256)  # 24 rows x 32 columns, enlarged 8 times
    assert image[96, 128] == 255 and image[5, 250] == 0
    slice_ = nifti_slice(path)
    assert slice_.shape == (24, 32)
    assert slice_[0, 0] == 0 and slice_[-1, 0] == 30000  # voxel row 0 is the bottom row


def test_nifti_header_that_is_not_nifti_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.nii"
    path.write_bytes(b"\0" * 400)
    with pytest.raises(ValueError, match=r"bad\.nii: not a NIfTI file"):
        nifti_slice(path)


def add_2dseq(scan_dir: Path) -> np.ndarray:
    """A 2dseq for scan_dir/pdata/1 laid out as its visu_pars says (the middle frame has
    the disc); returns that frame."""
    pdata = scan_dir / "pdata" / "1"
    visu = read_jcamp(pdata / "visu_pars").params
    cols, rows = (int(n) for n in visu["VisuCoreSize"][:2])
    frames = int(visu["VisuCoreFrameCount"])
    stack = np.zeros((frames, rows, cols), dtype="<i2")
    stack[frames // 2] = phantom(rows, cols, (rows // 2, cols // 2))
    (pdata / "2dseq").write_bytes(stack.tobytes())
    return stack[frames // 2]


def test_bruker_2dseq_shows_its_middle_frame(tmp_path: Path) -> None:
    study = write_sample_study(tmp_path)
    scan = study / "1"
    frame = add_2dseq(scan)
    visu = read_jcamp(scan / "pdata" / "1" / "visu_pars").params
    shown = bruker_slice(scan / "pdata" / "1" / "2dseq", visu)
    slope = visu["VisuCoreDataSlope"]
    slope = slope[0] if isinstance(slope, list) else slope
    assert np.allclose(shown, frame * float(slope))
    # the harvester lists acqp / method / reco: the 2dseq beside them is found
    listed = [scan / "acqp", scan / "method", scan / "pdata" / "1" / "reco"]
    image = read_png(preview_png(listed) or b"")
    assert image[128, 128] == 255 and image[250, 5] == 0


def test_bruker_scan_without_2dseq_has_no_preview(tmp_path: Path) -> None:
    scan = write_sample_study(tmp_path) / "2"
    assert preview_png([scan / "acqp", scan / "method"]) is None


def test_a_slice_without_signal_gets_no_thumbnail(tmp_path: Path) -> None:
    nib = importlib.import_module("nibabel")
    path = tmp_path / "empty.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 3), dtype=np.int16), np.eye(4)), path)
    assert preview_png([path]) is None
