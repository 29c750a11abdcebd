"""DicomHarvester end to end on real files: hierarchy, facts, errors, privacy, determinism."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from dicom_helpers import SECRET, acquisitions, harvest, pydicom_file

from harvesters.base import ItemError
from harvesters.dicom.harvester import DicomHarvester
from harvesters.privacy import pseudonym


def _one_acquisition(harvester: DicomHarvester, location: Path):
    records, errors = harvest(harvester, location)
    assert errors == []
    (acq,) = acquisitions(records)
    return acq.record


def test_mr_small_facts(harvester: DicomHarvester, tmp_path: Path) -> None:
    shutil.copy(pydicom_file("MR_small.dcm"), tmp_path / "mr.dcm")
    record = _one_acquisition(harvester, tmp_path)
    im = record.imaging
    assert (im.modality, im.manufacturer, im.model) == ("MR", "TOSHIBA_MEC", "MRT50H1")
    assert (im.tr_ms, im.te_ms, im.flip_angle_deg) == (4000.0, 240.0, 90.0)
    assert im.matrix == [64, 64]
    assert im.voxel_size_mm == [0.3125, 0.3125, 0.8]
    assert im.scanning_sequence == "SE" and im.sequence == "SE"
    assert im.num_instances == 1 and im.field_strength_t is None
    assert record.subject.sex == "female" and record.subject.weight_kg == 80.0
    assert record.title == "MR series 1"
    assert (record.bids.suffix, record.bids.rule) == ("T2w", "physics:SE_long_TE")
    assert record.source.raw["study_year"] == "2004"
    assert record.files[0].path == "mr.dcm" and record.files[0].size == 9830


@pytest.mark.parametrize("variant", ["MR_small_bigendian.dcm", "MR_small_implicit.dcm",
                                     "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"])  # fmt: skip
def test_transfer_syntax_variants_give_the_same_facts(
    harvester: DicomHarvester, variant: str
) -> None:
    reference = harvester.read(pydicom_file("MR_small.dcm"))[0].data
    other = harvester.read(pydicom_file(variant))[0].data
    for key in ("imaging", "study_uid", "series_uid", "subject", "sex", "weight_kg"):
        assert other[key] == reference[key], key


def test_philips_enhanced_multiframe(harvester: DicomHarvester, philips_enhanced: Path) -> None:
    facts = harvester.read(philips_enhanced)[0].data
    assert facts["reader"] == "pydicom"
    record = _one_acquisition(harvester, philips_enhanced.parent)
    im = record.imaging
    assert im.field_strength_t == 3.0
    assert im.tr_ms == pytest.approx(7.5693, abs=1e-3)  # SharedFunctionalGroups
    assert im.te_ms == pytest.approx(3.513)  # PerFrameFunctionalGroups MREchoSequence
    assert im.flip_angle_deg == 7.0 and im.voxel_size_mm == [1.0, 1.0, 1.0]
    assert im.matrix == [256, 256, 176] and im.num_frames == 176
    assert im.contrast == "T1"
    assert (record.bids.suffix, record.bids.rule) == ("T1w", "acquisition_contrast:T1")


def test_study_description_equal_to_patient_name_is_dropped(
    harvester: DicomHarvester, philips_enhanced: Path
) -> None:
    records, _ = harvest(harvester, philips_enhanced.parent)
    session = next(r for r in records if r.record.level == "session")
    assert "Phantom" not in session.record.title
    assert session.record.title.startswith("Session ") and session.record.title.endswith("(2012)")


def test_siemens_mosaic(harvester: DicomHarvester, mosaic: Path) -> None:
    record = _one_acquisition(harvester, mosaic.parent)
    assert "MOSAIC" in record.imaging.image_type
    assert record.imaging.matrix == [128, 128, 48]
    assert (record.bids.datatype, record.bids.suffix) == ("dwi", "dwi")
    assert record.bids.rule == "image_type:DIFFUSION"


def test_siemens_skyra_t1w(harvester: DicomHarvester, skyra_t1w: Path) -> None:
    record = _one_acquisition(harvester, skyra_t1w)
    assert record.title == "t1_mprage_sag_p2_iso_1"
    expected = "MR 3 T SIEMENS Skyra, TR 2300 ms, TE 2.07 ms, TI 900 ms, 256\u00d7240\u00d72"
    assert record.description == expected
    assert record.bids.rule == "series_description:mprage" and record.bids.suffix == "T1w"
    assert record.subject.age == "037Y" and record.subject.sex == "male"
    assert record.imaging.num_instances == 2


def test_pet(harvester: DicomHarvester, pet: Path) -> None:
    record = _one_acquisition(harvester, pet)
    im = record.imaging
    assert im.modality == "PT" and im.units == "BQML"
    assert im.radiopharmaceutical == "Germanium" and im.nucleus == "68Germanium"
    assert im.injected_dose_bq == 85740000.0
    bids = record.bids
    assert (bids.datatype, bids.suffix, bids.rule) == ("pet", "pet", "modality:PT")


def test_dicomdir_tree_hierarchy(harvester: DicomHarvester, tmp_path: Path) -> None:
    root = tmp_path / "dicomdirtests"
    shutil.copytree(pydicom_file("dicomdirtests/README.txt").parent, root)
    records, errors = harvest(harvester, root)
    assert errors == []
    levels = [r.record.level for r in records]
    assert levels[0] == "collection" and levels.count("collection") == 1
    assert levels.count("subject") == 3 and levels.count("session") == 7
    assert levels.count("acquisition") == 14
    keys = {r.key for r in records}
    assert all(r.parent_key in keys for r in records if r.parent_key)
    first = {r.key: i for i, r in enumerate(records)}
    assert all(first[r.parent_key] < first[r.key] for r in records if r.parent_key)
    subject = pseudonym(SECRET, "dicom", "98890234")
    assert f"subject:{subject}" in keys
    dicomdir = records[0].record.source.raw["dicomdir"]
    assert "DICOMDIR" in dicomdir["dicomdirs"] and dicomdir["not_harvested"] == 0
    assert records[0].record.title == "dicomdirtests"


def test_corrupted_corpus_gives_one_error_per_bad_file(
    harvester: DicomHarvester, tmp_path: Path
) -> None:
    good = pydicom_file("MR_small.dcm").read_bytes()
    (tmp_path / "good.dcm").write_bytes(good)
    (tmp_path / "truncated.dcm").write_bytes(good[:-200])
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "random.dcm").write_bytes(os.urandom(4096).replace(b"DICM", b"XXXX"))
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / "sidecar.json").write_text("{}")
    records, errors = harvest(harvester, tmp_path)
    messages = {Path(e.item).name: e.error for e in errors}
    assert set(messages) == {"truncated.dcm", "empty.dcm", "random.dcm"}
    assert "truncated DICOM file" in messages["truncated.dcm"]
    assert "empty file (0 bytes)" in messages["empty.dcm"]
    assert messages["random.dcm"] == (
        "not a DICOM file: no DICM preamble and no valid group 0008 element"
    )
    assert len(acquisitions(records)) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_an_oserror(harvester: DicomHarvester, tmp_path: Path) -> None:
    target = tmp_path / "locked.dcm"
    shutil.copy(pydicom_file("MR_small.dcm"), target)
    target.chmod(0)
    with pytest.raises(OSError, match="cannot read file"):
        harvester.read(target)


def test_discover_skips_side_files_and_reports_symlink_loops(
    harvester: DicomHarvester, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(pydicom_file("MR_small.dcm"), tmp_path / "a" / "IM0001")
    (tmp_path / "a" / "notes").write_text("not dicom, no extension")
    (tmp_path / "a" / "x.json").write_text("{}")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)
    (tmp_path / "DICOMDIR").write_bytes(b"")
    found = list(harvester.discover(tmp_path))
    paths = [p.name for p in found if isinstance(p, Path)]
    assert paths == ["DICOMDIR", "IM0001"]
    (loop,) = [e for e in found if isinstance(e, ItemError)]
    assert loop.item.endswith("loop") and "symbolic link loop" in loop.error


def test_no_identifying_value_reaches_the_records(
    harvester: DicomHarvester,
    tmp_path: Path,
    skyra_t1w: Path,
    mosaic: Path,
    philips_enhanced: Path,
) -> None:
    shutil.copy(pydicom_file("CT_small.dcm"), tmp_path / "ct.dcm")
    records, errors = harvest(harvester, tmp_path)
    assert errors == [] and len(acquisitions(records)) == 4
    text = json.dumps([r.record.model_dump(mode="json") for r in records])
    for secret in ("CompressedSamples", "Session Identifier", "Session Label", "dft patient",
                   "1CT1", "19111111", "Enhanced Dicom Phantom", "PHILIPS-E34D2B9"):  # fmt: skip
        assert secret not in text
    for keyword in ("PatientName", "PatientID", "StudyDate", "PatientBirthDate", "StationName"):
        assert f'"{keyword}"' not in text


def test_assemble_is_deterministic(harvester: DicomHarvester, tmp_path: Path) -> None:
    shutil.copytree(pydicom_file("dicomdirtests/README.txt").parent / "98892003", tmp_path / "d")
    facts = [f for p in harvester.discover(tmp_path) for f in harvester.read(p)]
    once = [r.record.model_dump_json() for r in harvester.assemble(tmp_path, facts)]
    again = [r.record.model_dump_json() for r in harvester.assemble(tmp_path, reversed(facts))]
    assert once == again
    json.dumps([f.data for f in facts])  # facts are JSON-serialisable (they get cached)


def test_read_many_keeps_order_and_turns_failures_into_items(
    harvester: DicomHarvester, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"")
    paths = [pydicom_file("MR_small.dcm"), bad, pydicom_file("CT_small.dcm")]
    results = list(harvester.read_many(paths, workers=3))
    assert [p for p, _ in results] == paths
    assert isinstance(results[1][1], ItemError) and "empty file" in results[1][1].error
    assert results[2][1][0].data["imaging"]["modality"] == "CT"


def test_missing_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no installation secret"):
        DicomHarvester().read(pydicom_file("MR_small.dcm"))
