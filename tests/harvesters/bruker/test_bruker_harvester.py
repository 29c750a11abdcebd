"""The Bruker harvester end to end on synthetic PV5.1 / PV6 / PV7 / PV360 studies."""

from __future__ import annotations

import os
import zipfile
from datetime import date
from pathlib import Path

import pytest
from bruker_support import harvest
from pvfactory import IDENTIFYING, SECRET, SUBJECT, bare_scan, write_study, zip_study

from harvesters.base import HarvestOptions
from harvesters.bruker.harvester import BrukerHarvester
from harvesters.bruker.sample import write_sample_study
from harvesters.privacy import pseudonym

VERSIONS = ["5.1", "6.0.1", "7.0.0", "360"]
RAT = "http://purl.obolibrary.org/obo/NCBITaxon_10116"
PSEUDONYM = pseudonym(SECRET, "bruker", SUBJECT.subject_id)


def by_key(records):
    return {r.key: r for r in records}


def scans(records):
    return {r.key.rsplit("/", 1)[1]: r.record for r in records if r.key.startswith("scan:")}


@pytest.mark.parametrize("version", VERSIONS)
def test_fields_per_version(tmp_path, harvester, version):
    write_study(tmp_path, version)
    records, errors = harvest(harvester, tmp_path)
    assert errors == []
    rare, flash, dti, epi = (scans(records)[n] for n in "1234")
    software = "PV-360.3.6" if version == "360" else f"PV {version}"
    for record in (rare, flash, dti, epi):
        im = record.imaging
        assert (im.modality, im.manufacturer, im.field_strength_t) == ("MR", "Bruker", 9.4)
        assert (im.nucleus, im.software_version) == ("1H", software)
        assert im.acquisition_date == date(2024, 7, 25)
        assert record.subject.sex == "male" and record.subject.weight_kg == 0.35
        assert record.subject.species.iri == RAT
        assert record.subject.pseudonym == PSEUDONYM
    assert (rare.imaging.sequence, rare.imaging.tr_ms, rare.imaging.te_ms) == ("RARE", 2500, 33)
    assert rare.imaging.flip_angle_deg == 90 and rare.imaging.averages == 2
    assert rare.imaging.matrix == [256, 256] and rare.imaging.fov_mm == [32, 32]
    assert rare.imaging.voxel_size_mm == [0.125, 0.125, 0.5]
    assert rare.imaging.series_description == "T2_TurboRARE (axial, 0.5 mm)"
    assert (rare.bids.datatype, rare.bids.suffix) == ("anat", "T2w")
    assert rare.bids.rule == "bruker:RARE+TE>=30ms->T2w"
    assert (flash.imaging.sequence, flash.imaging.tr_ms, flash.imaging.te_ms) == ("FLASH", 350, 5.4)
    assert flash.imaging.flip_angle_deg == 30
    assert (flash.bids.suffix, flash.bids.rule) == ("T1w", "bruker:T1-weighted-method")
    assert dti.imaging.voxel_size_mm == [0.3, 0.3, 0.6] and dti.imaging.slice_thickness_mm == 0.6
    assert (dti.bids.datatype, dti.bids.suffix, dti.bids.rule) == ("dwi", "dwi", "bruker:dwi")
    assert (epi.imaging.sequence, epi.imaging.repetitions, epi.imaging.flip_angle_deg) == (
        "EPI",
        60,
        60,
    )
    assert epi.imaging.voxel_size_mm == [0.4, 0.3, 1.0]
    assert (epi.bids.suffix, epi.bids.rule) == ("bold", "bruker:EPI+repetitions>1->bold")
    assert epi.imaging.series_description == "rsfMRI_EPI (60 reps, TR=1.5s)"
    assert epi.source.raw["method"]["PVM_Matrix"] == [64, 64]


@pytest.mark.parametrize("version", VERSIONS)
def test_hierarchy_keys_and_provenance(tmp_path, harvester, version):
    study = write_study(tmp_path, version)
    records, _ = harvest(harvester, tmp_path)
    keys = [r.key for r in records]
    label = f"{tmp_path.name}/{study.name}"
    assert keys == [
        "collection",
        f"subject:{PSEUDONYM}",
        f"study:{label}",
        *[f"scan:{label}/{n}" for n in "1234"],
    ]
    found = by_key(records)
    assert found["collection"].record.title == tmp_path.name
    assert found[f"subject:{PSEUDONYM}"].parent_key == "collection"
    session = found[f"study:{label}"]
    assert session.parent_key == f"subject:{PSEUDONYM}"
    assert session.record.imaging.acquisition_date == date(2024, 7, 25)
    assert session.record.subject.age == "P84D"
    assert session.record.files[0].path == f"{label}/subject"
    scan = found[f"scan:{label}/1"]
    assert scan.parent_key == f"study:{label}"
    assert scan.record.source.type == "bruker"
    assert scan.record.source.harvester_version == BrukerHarvester.version
    paths = [f.path for f in scan.record.files]
    expected = [
        f"{label}/1/acqp",
        f"{label}/1/method",
        f"{label}/1/pdata/1/reco",
        f"{label}/1/pdata/1/visu_pars",
    ]  # PV5.1 writes visu_pars for scan 1 only
    assert paths == sorted(expected)
    assert all(f.size and f.size > 100 for f in scan.record.files)
    assert scan.record.source.raw["acqp"]["BF1"] == 400.3


def test_pv5_scan_without_visu_pars_and_pv360_frame_groups(tmp_path, harvester):
    write_study(tmp_path / "a", "5.1")
    write_study(tmp_path / "b", "360")
    records, errors = harvest(harvester, tmp_path)
    assert errors == []
    pv5 = [r for r in records if r.key.startswith("scan:") and "pv51" in r.key]
    assert "visu_pars" not in pv5[1].record.source.raw
    assert pv5[1].record.source.raw["paravision_version"] == "PV 5.1"
    dti = next(r for r in records if r.key.endswith("pv360_1_1/3"))
    assert dti.record.source.raw["frame_groups"] == ["FG_SLICE", "FG_DIFFUSION"]
    assert dti.record.source.raw["paravision_version"] == "360 V3.6"
    assert dti.record.imaging.num_frames == 620


def test_no_identifying_value_in_any_record(tmp_path, harvester):
    for version in VERSIONS:
        write_study(tmp_path / version, version)
    records, errors = harvest(harvester, tmp_path)
    assert errors == [] and len(records) == 1 + 1 + 4 + 16
    dumped = "\n".join(r.record.model_dump_json() for r in records)
    for value in IDENTIFYING:
        assert value not in dumped, value
    for key in (
        "SUBJECT_id",
        "SUBJECT_name_string",
        "SUBJECT_dbirth",
        "OWNER",
        "VisuSubjectId",
        "ACQ_institution",
        "VisuInstitution",
        "ACQ_station",
        "ACQ_operator",
    ):
        assert key not in dumped, key


def test_assemble_is_deterministic(tmp_path, harvester):
    write_study(tmp_path, "360")
    first, _ = harvest(harvester, tmp_path)
    facts = [f for p in harvester.discover(tmp_path) for f in harvester.read(p)]
    again = list(harvester.assemble(tmp_path, list(reversed(facts))))
    assert [r.key for r in again] == [r.key for r in first]
    assert [r.record.model_dump_json() for r in again] == [
        r.record.model_dump_json() for r in first
    ]


@pytest.mark.parametrize("suffix", [".zip", ".PvDatasets"])
def test_archives_are_read_without_extracting(tmp_path, harvester, suffix):
    study = write_study(tmp_path / "src", "6.0.1")
    archive = zip_study(study, tmp_path / f"export{suffix}")
    before = set(tmp_path.rglob("*"))
    records, errors = harvest(harvester, archive)
    assert errors == [] and set(tmp_path.rglob("*")) == before
    facts = harvester.read(archive)
    assert f"{archive}!/{study.name}/3/method" in {f.path for f in facts}
    found = by_key(records)
    label = f"export{suffix}!/{study.name}"
    assert found["collection"].record.title == "export"
    assert found[f"scan:{label}/1"].record.imaging.te_ms == 33
    assert found[f"scan:{label}/1"].record.files[0].path == f"{label}/1/acqp"


def test_corrupt_zip_is_one_error_item(tmp_path, harvester):
    write_study(tmp_path / "good", "360")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    records, errors = harvest(harvester, tmp_path)
    assert len(errors) == 1
    assert errors[0].item.endswith("broken.zip")
    assert "not a readable zip archive" in errors[0].error
    assert len([r for r in records if r.key.startswith("scan:")]) == 4


def test_bad_member_inside_archive_is_an_error_item(tmp_path, harvester):
    study = write_study(tmp_path / "src", "360")
    archive = zip_study(study, tmp_path / "export.zip")
    with zipfile.ZipFile(archive, "a") as handle:
        handle.writestr(f"{study.name}/5/acqp", "##TITLE=x\n##$ACQ_size=( 2 )\n64\n##END=\n")
    records, errors = harvest(harvester, archive)
    assert [e.item for e in errors] == [f"{archive}!/{study.name}/5/acqp"]
    assert "line 3: parameter ACQ_size: declared ( 2 ) = 2 values, found 1" in errors[0].error
    assert len([r for r in records if r.key.startswith("scan:")]) == 4


def test_bare_scan_folder_becomes_acquisition(tmp_path, harvester):
    study = write_study(tmp_path / "src", "360")
    loose = tmp_path / "loose"
    bare_scan(study, loose, "1")
    bare_scan(study, loose, "2")
    records, errors = harvest(harvester, loose)
    assert errors == []
    found = by_key(records)
    uid = "2.16.756.5.5.100.1234567890.20092.1721890932.1"
    assert f"scan:{uid}/1" in found and f"scan:{uid}/2" in found
    # no subject file: the subject comes from visu_pars' VisuSubjectId, pseudonymised
    assert found[f"study:{uid}"].parent_key == f"subject:{PSEUDONYM}"
    assert found[f"scan:{uid}/1"].record.imaging.sequence == "RARE"


def test_location_is_a_single_scan_folder(tmp_path, harvester):
    study = write_study(tmp_path, "5.1")
    records, errors = harvest(harvester, study / "2")
    assert errors == []
    assert [r.key for r in records if r.key.startswith("scan:")] == [f"scan:{study.name}/2"]


def test_broken_file_fails_alone_and_scan_without_method_uses_acqp(tmp_path, harvester):
    study = write_study(tmp_path, "6.0.1")
    (study / "1" / "method").write_text(
        "##TITLE=Parameter List\n##$PVM_Matrix=( 2 )\n256\n##END=\n"
    )
    (study / "2" / "method").unlink()
    text = (study / "3" / "acqp").read_text(encoding="latin-1")
    (study / "3" / "acqp").write_text(text[: len(text) // 2], encoding="latin-1")
    records, errors = harvest(harvester, tmp_path)
    messages = sorted(e.error for e in errors)
    assert len(errors) == 2
    assert messages[0].startswith(f"{study / '1' / 'method'}: line 3: parameter PVM_Matrix: ")
    assert str(study / "3" / "acqp") in messages[1] and "line" in messages[1]
    found = scans(records)
    assert sorted(found) == ["1", "2", "3", "4"]
    flash = found["2"].imaging
    assert (flash.sequence, flash.tr_ms, flash.te_ms, flash.flip_angle_deg) == (
        "FLASH",
        350,
        5.4,
        30,
    )
    assert flash.fov_mm == [32.0, 32.0] and flash.field_strength_t == 9.4
    assert found["1"].imaging.sequence == "RARE"  # from acqp ACQ_method


def test_symlink_loop_is_reported_not_followed(tmp_path, harvester):
    study = write_study(tmp_path, "360")
    os.symlink(tmp_path, study / "1" / "loop")
    records, errors = harvest(harvester, tmp_path)
    assert len(errors) == 1
    assert errors[0].item == str(study / "1" / "loop")
    assert errors[0].error.startswith("symbolic link loop:")
    assert len([r for r in records if r.key.startswith("scan:")]) == 4


def test_unreadable_directory_is_an_error_item(tmp_path, harvester, monkeypatch):
    study = write_study(tmp_path, "360")
    locked = study / "3"
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    records, errors = harvest(harvester, tmp_path)
    assert [(e.item, e.error) for e in errors] == [
        (str(locked), "cannot list directory (Permission denied)")
    ]
    assert sorted(scans(records)) == ["1", "2", "4"]


def test_species_never_guessed_from_subject_type(tmp_path):
    write_study(tmp_path, "360")  # SUBJECT_type=Quadruped, VisuSubjectType=Quadruped
    harvester = BrukerHarvester(HarvestOptions(secret=SECRET))
    records, errors = harvest(harvester, tmp_path)
    assert errors == []
    assert all(r.record.subject.species is None for r in records)
    raw = scans(records)["1"].source.raw
    assert raw["visu_pars"]["VisuSubjectType"] == "Quadruped"


@pytest.mark.parametrize(
    ("option", "iri", "label"),
    [
        ("mouse", "http://purl.obolibrary.org/obo/NCBITaxon_10090", "Mus musculus"),
        ("Rattus norvegicus", RAT, "Rattus norvegicus"),
        (
            "http://purl.obolibrary.org/obo/NCBITaxon_9483",
            "http://purl.obolibrary.org/obo/NCBITaxon_9483",
            "Callithrix jacchus",
        ),
        ("NCBITaxon:9940", "http://purl.obolibrary.org/obo/NCBITaxon_9940", "Ovis aries"),
    ],
)
def test_species_from_option(tmp_path, option, iri, label):
    write_study(tmp_path, "6.0.1")
    harvester = BrukerHarvester(HarvestOptions(secret=SECRET, species=option))
    records, _ = harvest(harvester, tmp_path)
    species = scans(records)["1"].subject.species
    assert (species.iri, species.label) == (iri, label)


def test_unknown_species_option_is_one_error(tmp_path):
    write_study(tmp_path, "6.0.1")
    harvester = BrukerHarvester(HarvestOptions(secret=SECRET, species="unicorn"))
    records, errors = harvest(harvester, tmp_path)
    assert [e.item for e in errors] == ["options.species"]
    assert "unknown species 'unicorn'" in errors[0].error
    assert len(scans(records)) == 4


def test_species_and_strain_from_participants_tsv(tmp_path, harvester):
    write_study(tmp_path, "360")
    (tmp_path / "participants.tsv").write_text(
        f"participant_id\tspecies\tstrain\nsub-{SUBJECT.subject_id}\tmouse\tC57BL/6J\n"
        "sub-other\trat\tWistar\n"
    )
    records, errors = harvest(harvester, tmp_path)
    assert errors == []
    subject = scans(records)["1"].subject
    assert subject.species.label == "Mus musculus" and subject.strain == "C57BL/6J"
    dumped = "\n".join(r.record.model_dump_json() for r in records)
    assert SUBJECT.subject_id not in dumped


def test_species_tsv_with_bad_species_names_line(tmp_path, harvester):
    (tmp_path / "species.tsv").write_text("subject_id\tspecies\nA\trat\nB\tdragon\n")
    with pytest.raises(ValueError, match=r"species.tsv: line 3: unknown species 'dragon'"):
        harvester.read(tmp_path / "species.tsv")


def test_read_returns_json_facts_per_kind(tmp_path, harvester):
    study = write_study(tmp_path, "360")
    [subject] = harvester.read(study / "subject")
    assert subject.kind == "subject"
    assert subject.data["pseudonym"] == PSEUDONYM
    assert subject.data["study_date"] == "2024-07-25" and subject.data["age"] == "P84D"
    assert "SUBJECT_id" not in subject.data["params"]
    assert "SUBJECT_dbirth" not in subject.data["params"]
    [visu] = harvester.read(study / "1" / "pdata" / "1" / "visu_pars")
    assert visu.kind == "visu_pars" and visu.data["params"]["VisuCoreSize"] == [256, 256]
    assert "VisuSubjectName" not in visu.data["params"]
    with pytest.raises(ValueError, match="not a ParaVision parameter"):
        harvester.read(tmp_path / "notes.txt")


def test_pseudonym_needs_a_secret(tmp_path):
    study = write_study(tmp_path, "360")
    with pytest.raises(ValueError, match="no installation secret"):
        BrukerHarvester(HarvestOptions()).read(study / "subject")


def test_discover_lists_parameter_files_and_archives(tmp_path, harvester):
    study = write_study(tmp_path, "6.0.1")
    (tmp_path / "data.PvDatasets").write_bytes(b"")
    (study / "1" / "fid").write_bytes(b"\0" * 16)
    (study / "1" / "visu_pars").write_text("scan-level copy, ignored")
    found = [p for p in harvester.discover(tmp_path) if isinstance(p, Path)]
    names = {p.relative_to(tmp_path).as_posix() for p in found}
    assert "data.PvDatasets" in names
    assert f"{study.name}/subject" in names
    assert f"{study.name}/1/pdata/1/visu_pars" in names
    assert f"{study.name}/1/visu_pars" not in names
    assert f"{study.name}/1/fid" not in names


def test_sample_study_for_demo(tmp_path, harvester):
    study = write_sample_study(tmp_path, "360")
    assert (study / "3" / "pdata" / "1" / "visu_pars").is_file()
    records, errors = harvest(harvester, tmp_path)
    assert errors == []
    found = scans(records)
    assert [found[n].bids.suffix for n in "123"] == ["T2w", "T1w", "dwi"]
    assert all(r.imaging.field_strength_t == 9.4 for r in found.values())
    with pytest.raises(ValueError, match="unknown ParaVision version '4'"):
        write_sample_study(tmp_path, "4")


def test_weight_is_grams_in_the_subject_file_and_kg_in_visu_pars() -> None:
    from harvesters.bruker.build import _weight_kg

    assert _weight_kg(350, 0.35) == 0.35  # SUBJECT_weight (g) wins
    assert _weight_kg(None, 0.025) == 0.025  # VisuSubjectWeight (kg) as a fallback
    assert _weight_kg(0, 0.0) is None  # zero: not entered
    assert _weight_kg("heavy", None) is None and _weight_kg(True, None) is None
