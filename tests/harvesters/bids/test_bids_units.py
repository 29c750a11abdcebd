"""Unit tests of the BIDS helpers: names, normalisation, NIfTI headers, sample writer."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import pytest
from bids_helpers import harvest
from bidsschematools.validator import validate_bids

from harvesters.bids import normalize
from harvesters.bids.nifti import parse_header, read_header
from harvesters.bids.paths import dataset_root, parse_name, strip_extension
from harvesters.bids.sample import nifti1_bytes, write_sample_dataset


def test_parse_name_entities_suffix_datatype() -> None:
    name = parse_name("sub-01/ses-2/dwi/sub-01_ses-2_acq-b1000_dir-AP_run-3_dwi.nii.gz")
    assert name.entities == {"sub": "01", "ses": "2", "acq": "b1000", "dir": "AP", "run": "3"}
    assert (name.suffix, name.extension, name.datatype) == ("dwi", ".nii.gz", "dwi")
    assert parse_name("task-rest_bold.json").entities == {"task": "rest"}
    assert parse_name("sub-01/anat/sub-01_T1w extra.nii") is None


def test_paths_keys_and_dataset_roots() -> None:
    assert strip_extension("sub-01/anat/sub-01_T1w.nii.gz") == "sub-01/anat/sub-01_T1w"
    assert dataset_root("derivatives/fmriprep/sub-01/anat/x.nii") == "derivatives/fmriprep"
    assert dataset_root("derivatives/a/derivatives/b/sub-1/x.nii") == "derivatives/a/derivatives/b"
    assert dataset_root("sub-01/anat/x.nii") == ""


@pytest.mark.parametrize(
    ("text", "spdx"),
    [("CC0", "CC0-1.0"), ("CC0 1.0 Universal", "CC0-1.0"), ("PDDL", "PDDL-1.0"),
     ("CC-BY-4.0", "CC-BY-4.0"), ("CC BY 4.0", "CC-BY-4.0"), ("cc-by-nc-sa 4.0", "CC-BY-NC-SA-4.0"),
     ("Creative Commons Attribution 4.0 International", "CC-BY-4.0"), ("ODbL", "ODbL-1.0"),
     ("my own licence", None), (None, None)],
)  # fmt: skip
def test_spdx_licence(text: str | None, spdx: str | None) -> None:
    assert normalize.spdx_license(text) == spdx


@pytest.mark.parametrize(
    ("text", "taxon"),
    [("homo sapiens", "9606"), ("Human", "9606"), ("rattus norvegicus", "10116"), ("rat", "10116"),
     ("mouse", "10090"), ("Mus musculus", "10090"), ("macaque", "9544"), ("marmoset", "9483"),
     ("pig", "9823"), ("sheep", "9940"), ("NCBITaxon:10090", "10090"), ("dog", None)],
)  # fmt: skip
def test_species_to_ncbitaxon(text: str, taxon: str | None) -> None:
    concept = normalize.species_concept(text)
    assert (concept.iri if concept else None) == (
        f"http://purl.obolibrary.org/obo/NCBITaxon_{taxon}" if taxon else None
    )


def test_sex_age_dose_doi() -> None:
    assert [normalize.sex(v) for v in ("M", "f", "male", "O", "n/a")] == [
        "male", "female", "male", "other", None
    ]  # fmt: skip
    assert normalize.age("29") == "P29Y"
    assert normalize.age("6", "month") == "P6M"
    assert normalize.age("89+") == "89+"
    assert normalize.age("n/a") is None
    assert normalize.radioactivity_bq(5, "mCi") == pytest.approx(1.85e8)
    assert normalize.doi("https://doi.org/10.5281/zenodo.123.") == "10.5281/zenodo.123"


def test_nifti_header_matches_nibabel(tmp_path: Path) -> None:
    path = tmp_path / "x.nii.gz"
    path.write_bytes(gzip.compress(nifti1_bytes((5, 6, 7, 2), (0.5, 0.75, 1.25))))
    img = nib.load(path)
    header = read_header(path)
    assert header["matrix"] == list(img.shape)
    assert header["voxel_size_mm"] == [float(z) for z in img.header.get_zooms()[:3]]


def test_nifti_header_gives_none_for_placeholders(tmp_path: Path) -> None:
    empty = tmp_path / "e.nii.gz"
    empty.write_bytes(b"")
    assert read_header(empty) is None
    truncated = tmp_path / "t.nii.gz"
    truncated.write_bytes(b"\x1f\x8b\x08\x00junk")
    assert read_header(truncated) is None
    assert parse_header(b"\x00" * 348) is None


def test_nifti_metre_units_are_converted() -> None:
    data = bytearray(nifti1_bytes((2, 2, 2), (0.001, 0.001, 0.002)))
    data[123] = 1  # metres
    assert parse_header(bytes(data))["voxel_size_mm"] == [1.0, 1.0, 2.0]


def test_sample_dataset_is_valid_bids_and_harvests(tmp_path: Path) -> None:
    root = write_sample_dataset(tmp_path / "sample")
    result = validate_bids(str(root), suppress_errors=True)
    assert result["path_tracking"] == []
    assert nib.load(root / "sub-02/ses-01/dwi/sub-02_ses-01_dwi.nii.gz").shape == (6, 6, 4, 3)
    records, errors = harvest(root)
    assert errors == []
    assert sum(r.record.level == "subject" for r in records.values()) == 3
    bold = records["file:sub-01/ses-01/func/sub-01_ses-01_task-rest_bold"].record
    assert (bold.imaging.tr_ms, bold.imaging.te_ms, bold.imaging.field_strength_t) == (
        2000.0,
        28.0,
        3.0,
    )
    assert bold.imaging.manufacturer == "Siemens"
    flair = records["file:sub-02/ses-01/anat/sub-02_ses-01_FLAIR"].record.imaging
    assert (flair.ti_ms, flair.voxel_size_mm, flair.sequence) == (
        1800.0,
        [1.0, 1.0, 3.0],
        "SPACE FLAIR",
    )
    derived = [r for r in records.values() if r.record.level == "derived"]
    assert len(derived) == 3
    errors_in_report = [
        i for i in records["collection"].record.quality["issues"] if i["severity"] == "error"
    ]
    assert errors_in_report == []
