"""BidsHarvester end to end on vendored pybids datasets and on trees built in tmp_path."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from bids_helpers import (
    DATA,
    SECRET,
    collect,
    harvest,
    harvester,
    image,
    minimal_dataset,
    write_json,
    write_tsv,
)

from catalog.domain.enums import Level, RelationType
from harvesters.bids.harvester import BidsHarvester
from harvesters.privacy import pseudonym
from harvesters.registry import harvesters

HUMAN = "http://purl.obolibrary.org/obo/NCBITaxon_9606"


def codes(record) -> list[str]:
    return [i["code"] for i in record.record.quality["issues"]]


# -- vendored datasets ----------------------------------------------------------------------


def test_registry_resolves_bids_to_this_harvester() -> None:
    assert harvesters.get("bids") is BidsHarvester


def test_7t_trt_hierarchy_and_inherited_sidecars() -> None:
    records, errors = harvest(DATA / "7t_trt")
    assert errors == []
    levels = [r.record.level for r in records.values()]
    assert levels.count(Level.subject) == 10
    assert levels.count(Level.session) == 20
    assert levels.count(Level.acquisition) == 200
    bold = records["file:sub-01/ses-1/func/sub-01_ses-1_task-rest_acq-fullbrain_run-1_bold"]
    assert bold.parent_key == "session:01/1"
    assert records["session:01/1"].parent_key == "subject:01"
    # RepetitionTime 3.0 s and EchoTime come from the root task-rest_acq-fullbrain_bold.json.
    assert bold.record.imaging.tr_ms == 3000.0
    assert bold.record.imaging.modality == "MR"
    assert bold.record.bids.entities == {
        "sub": "01", "ses": "1", "task": "rest", "acq": "fullbrain", "run": "1"
    }  # fmt: skip
    assert (bold.record.bids.datatype, bold.record.bids.suffix) == ("func", "bold")
    assert bold.record.source.raw["sidecar_files"] == [
        "task-rest_acq-fullbrain_bold.json",
        "sub-01/ses-1/func/sub-01_ses-1_task-rest_acq-fullbrain_run-1_bold.json",
    ]
    # 0-byte NIfTI placeholders: no header, no error.
    assert bold.record.imaging.matrix is None
    physio = "sub-01/ses-1/func/sub-01_ses-1_task-rest_acq-fullbrain_run-1_physio.tsv.gz"
    assert physio in [f.path for f in bold.record.files]


def test_7t_trt_subjects_default_to_human_with_rule_recorded() -> None:
    records, _ = harvest(DATA / "7t_trt")
    subject = records["subject:01"].record
    assert subject.title == "sub-01"
    assert subject.subject.sex == "female"
    assert subject.subject.species.iri == HUMAN
    assert subject.terms[0].rule == "bids:default-species"
    assert subject.subject.pseudonym == pseudonym(SECRET, "bids", "7t_trt", "01")
    assert subject.bids.entities == {"sub": "01"}
    # participants.tsv columns outside the kept list never reach the record.
    assert "number_of_scans_before" not in subject.source.raw["participant"]
    assert subject.source.raw["participant"]["handedness"] == "100"


def test_7t_trt_quality_report_lists_schema_issues() -> None:
    records, _ = harvest(DATA / "7t_trt")
    quality = records["collection"].record.quality
    assert quality["validator"] == "bidsschematools 2.0.1"
    assert quality["schema_version"] == "2.0.1"
    not_included = [i["location"] for i in quality["issues"] if i["code"] == "NOT_INCLUDED"]
    assert not_included == ["sub-03/sub-03-test.bval", "test.bval"]
    assert "NO_AUTHORS" in codes(records["collection"])


def test_synthetic_headers_derivatives_and_licence() -> None:
    root = DATA / "synthetic"
    records, errors = harvest(root)
    assert errors == []
    collection = records["collection"].record
    assert collection.title == "Synthetic dataset for inclusion in BIDS-examples"
    assert collection.license == "LicenseRef-PublicDomain"
    assert [c.name for c in collection.creators] == ["Markiewicz, C. J."]
    bold = records["file:sub-01/ses-01/func/sub-01_ses-01_task-nback_run-01_bold"].record
    assert bold.imaging.matrix == [64, 64, 64, 64]
    assert bold.imaging.voxel_size_mm == [2.0, 2.0, 2.0]
    assert [f.format for f in bold.files][:2] == ["nii", "nii.gz"]
    derived_collection = records["dataset:derivatives/fmriprep"]
    assert derived_collection.parent_key == "collection"
    assert derived_collection.record.source.raw["generated_by"] == [{"Name": "fmriprep"}]
    func = "derivatives/fmriprep/sub-01/ses-01/func"
    derived = records[f"file:{func}/sub-01_ses-01_task-rest_space-T1w_desc-preproc_bold"]
    assert derived.record.level == Level.derived
    assert derived.parent_key == "dataset:derivatives/fmriprep"
    assert derived.record.bids.entities["desc"] == "preproc"
    assert derived.record.imaging.tr_ms == 2500.0  # derivatives/fmriprep/task-rest_bold.json
    link = derived.record.related[0]
    assert (link.identifier, link.relation) == (f"bids:{root}", RelationType.IsDerivedFrom)


def test_facts_are_json_serialisable_and_assembly_is_deterministic() -> None:
    root = DATA / "synthetic"
    h = harvester()
    facts, _ = collect(root, h)
    json.dumps([f.data for f in facts])
    first = [(r.key, r.record.model_dump_json()) for r in h.assemble(root, facts)]
    random.Random(7).shuffle(facts)
    second = [(r.key, r.record.model_dump_json()) for r in h.assemble(root, facts)]
    assert first == second


# -- inheritance -----------------------------------------------------------------------------


def _inheritance_tree(root: Path) -> Path:
    minimal_dataset(root, Authors=["A"])
    write_json(
        root / "task-rest_bold.json", {"TaskName": "rest", "RepetitionTime": 2.0, "EchoTime": 0.03}
    )
    write_json(root / "task-rest_acq-fast_bold.json", {"RepetitionTime": 0.8})
    write_json(root / "sub-02" / "sub-02_task-rest_bold.json", {"RepetitionTime": 3.0})
    for sub in ("01", "02"):
        image(root / f"sub-{sub}/func/sub-{sub}_task-rest_bold.nii.gz", (4, 4, 3, 2))
        image(root / f"sub-{sub}/func/sub-{sub}_task-rest_acq-fast_bold.nii.gz", (4, 4, 3, 2))
    write_json(
        root / "sub-01/func/sub-01_task-rest_bold.json", {"EchoTime": 0.025, "FlipAngle": 77}
    )
    return root


def test_inheritance_closest_sidecar_wins_and_entities_must_match(tmp_path: Path) -> None:
    records, _ = harvest(_inheritance_tree(tmp_path))
    one = records["file:sub-01/func/sub-01_task-rest_bold"].record.imaging
    assert (one.tr_ms, one.te_ms, one.flip_angle_deg) == (2000.0, 25.0, 77.0)
    two = records["file:sub-02/func/sub-02_task-rest_bold"].record.imaging
    assert (two.tr_ms, two.te_ms) == (3000.0, 30.0)
    fast = records["file:sub-01/func/sub-01_task-rest_acq-fast_bold"].record
    assert fast.imaging.tr_ms == 800.0  # acq-fast sidecar applies only to acq-fast files
    assert fast.source.raw["sidecar_files"] == [
        "task-rest_bold.json",
        "task-rest_acq-fast_bold.json",
        # entities {sub, task} are a subset of the file's: it applies too (BIDS rule)
        "sub-01/func/sub-01_task-rest_bold.json",
    ]
    assert fast.imaging.flip_angle_deg == 77.0
    assert records["session:01/_"].parent_key == "subject:01"
    assert records["file:sub-01/func/sub-01_task-rest_bold"].parent_key == "session:01/_"
    assert records["file:sub-01/func/sub-01_task-rest_bold"].record.imaging.matrix == [4, 4, 3, 2]


def test_sidecar_change_updates_only_the_acquisitions_it_applies_to(tmp_path: Path) -> None:
    root = _inheritance_tree(tmp_path)
    before, _ = harvest(root)
    write_json(root / "sub-02" / "sub-02_task-rest_bold.json", {"RepetitionTime": 3.5})
    after, _ = harvest(root)
    changed = sorted(k for k in before if before[k].record != after[k].record)
    assert changed == [
        "file:sub-02/func/sub-02_task-rest_acq-fast_bold",
        "file:sub-02/func/sub-02_task-rest_bold",
    ]


# -- bad input --------------------------------------------------------------------------------


def test_invalid_json_sidecar_names_file_and_position_rest_harvests(tmp_path: Path) -> None:
    root = _inheritance_tree(tmp_path)
    bad = root / "sub-02/func/sub-02_task-rest_bold.json"
    bad.write_text('{"RepetitionTime": 2.0,\n "EchoTime": }', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"sub-02_task-rest_bold\.json: invalid JSON at line 2 column 14"
    ):
        harvester().read(bad)
    records, errors = harvest(root)
    assert [e.item for e in errors] == [str(bad)]
    assert "file:sub-02/func/sub-02_task-rest_bold" in records
    assert records["file:sub-01/func/sub-01_task-rest_bold"].record.imaging.te_ms == 25.0


def test_missing_required_fields_are_reported_not_fatal(tmp_path: Path) -> None:
    write_json(tmp_path / "dataset_description.json", {"Name": "no version"})
    image(tmp_path / "sub-01/func/sub-01_task-rest_bold.nii.gz", (4, 4, 3, 2))
    records, errors = harvest(tmp_path)
    assert errors == []
    issues = {
        (i["code"], i["severity"], i["location"])
        for i in records["collection"].record.quality["issues"]
    }
    assert ("JSON_KEY_REQUIRED", "error", "dataset_description.json") in issues
    assert ("SIDECAR_KEY_REQUIRED", "error", "sub-01/func/sub-01_task-rest_bold.nii.gz") in issues
    bold = records["file:sub-01/func/sub-01_task-rest_bold"].record
    messages = [i["message"] for i in bold.quality["issues"]]
    assert any(
        m.startswith("RepetitionTime or VolumeTiming is required for func/bold") for m in messages
    )


def test_missing_dataset_description_still_harvests(tmp_path: Path) -> None:
    image(tmp_path / "sub-01/anat/sub-01_T1w.nii.gz")
    records, _ = harvest(tmp_path)
    assert records["collection"].record.title == tmp_path.name
    assert "MISSING_DATASET_DESCRIPTION" in codes(records["collection"])
    assert "file:sub-01/anat/sub-01_T1w" in records


def test_symlink_loop_is_reported_once_and_walk_continues(tmp_path: Path) -> None:
    minimal_dataset(tmp_path)
    image(tmp_path / "sub-01/anat/sub-01_T1w.nii.gz")
    (tmp_path / "sub-01/anat/loop").symlink_to(tmp_path / "sub-01")
    items = list(harvester().discover(tmp_path))
    errors = [i for i in items if not isinstance(i, Path)]
    assert len(errors) == 1
    assert errors[0].item == str(tmp_path / "sub-01/anat/loop")
    assert "symbolic link loop" in errors[0].error and str(tmp_path / "sub-01") in errors[0].error
    assert tmp_path / "sub-01/anat/sub-01_T1w.nii.gz" in items


def test_unreadable_folder_is_an_item_error(tmp_path: Path, monkeypatch) -> None:
    minimal_dataset(tmp_path)
    locked = tmp_path / "sub-01"
    image(locked / "anat/sub-01_T1w.nii.gz")
    real_scandir = os.scandir

    def scandir(path):  # root ignores chmod, so refuse the folder the way the OS would
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("harvesters.walk.os.scandir", scandir)
    items = list(harvester().discover(tmp_path))
    errors = [i for i in items if not isinstance(i, Path)]
    assert [(e.item, e.error) for e in errors] == [
        (str(locked), "cannot list directory (Permission denied)")
    ]
    assert tmp_path / "dataset_description.json" in items


def test_skips_hidden_sourcedata_and_code(tmp_path: Path) -> None:
    minimal_dataset(tmp_path)
    for folder in (".git", "sourcedata", "code"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.json").write_text("not json", encoding="utf-8")
    assert list(harvester().discover(tmp_path)) == [tmp_path / "dataset_description.json"]


# -- PET, species, participants, derivatives ---------------------------------------------------


def test_pet_rat_dataset(tmp_path: Path) -> None:
    minimal_dataset(
        tmp_path, License="CC-BY-4.0", DatasetDOI="doi:10.18112/openneuro.ds009999.v1.0.0"
    )
    write_tsv(
        tmp_path / "participants.tsv",
        [["participant_id", "species", "strain", "sex", "age", "name", "birth_date"],
         ["sub-r1", "rattus norvegicus", "Wistar", "M", "0.25", "Ratty", "2024-01-01"]],
    )  # fmt: skip
    pet = tmp_path / "sub-r1/ses-baseline/pet/sub-r1_ses-baseline_trc-FDG_pet.nii.gz"
    image(pet, (4, 4, 3, 6))
    write_json(
        pet.with_name("sub-r1_ses-baseline_trc-FDG_pet.json"),
        {"TracerName": "FDG", "InjectedRadioactivity": 37, "InjectedRadioactivityUnits": "MBq",
         "Manufacturer": "Siemens", "ManufacturersModelName": "Inveon"},
    )  # fmt: skip
    records, errors = harvest(tmp_path)
    assert errors == []
    collection = records["collection"].record
    assert collection.license == "CC-BY-4.0"
    assert [(i.identifier, i.scheme) for i in collection.identifiers] == [
        ("10.18112/openneuro.ds009999.v1.0.0", "doi")
    ]
    subject = records["subject:r1"].record
    assert subject.subject.species.iri == "http://purl.obolibrary.org/obo/NCBITaxon_10116"
    assert subject.terms[0].rule == "bids:participants.species"
    assert (subject.subject.strain, subject.subject.sex, subject.subject.age) == (
        "Wistar",
        "male",
        "P0.25Y",
    )
    assert "name" not in subject.source.raw["participant"]
    assert "Ratty" not in subject.model_dump_json()
    acq = records["file:sub-r1/ses-baseline/pet/sub-r1_ses-baseline_trc-FDG_pet"].record
    assert acq.imaging.modality == "PT"
    assert acq.imaging.radiopharmaceutical == "FDG"
    assert acq.imaging.injected_dose_bq == pytest.approx(3.7e7)
    assert acq.imaging.model == "Inveon"
    assert acq.subject.species.label == "Rattus norvegicus"
    # The other PET-required fields are missing: reported on the acquisition.
    assert "SIDECAR_KEY_REQUIRED" in [i["code"] for i in acq.quality["issues"]]


def test_unknown_species_is_a_warning_and_no_guess(tmp_path: Path) -> None:
    minimal_dataset(tmp_path)
    write_tsv(tmp_path / "participants.tsv", [["participant_id", "species"], ["sub-1", "axolotl"]])
    image(tmp_path / "sub-1/anat/sub-1_T1w.nii.gz")
    records, _ = harvest(tmp_path)
    assert records["subject:1"].record.subject.species is None
    assert "SPECIES_UNMAPPED" in codes(records["collection"])


def test_species_option_used_when_participants_silent(tmp_path: Path) -> None:
    minimal_dataset(tmp_path)
    image(tmp_path / "sub-1/anat/sub-1_T1w.nii.gz")
    records, _ = harvest(tmp_path, species="mouse")
    subject = records["subject:1"].record
    assert subject.subject.species.label == "Mus musculus"
    assert subject.terms[0].rule == "option:species"


def test_participant_missing_from_table_is_reported(tmp_path: Path) -> None:
    minimal_dataset(tmp_path)
    write_tsv(tmp_path / "participants.tsv", [["participant_id", "sex"], ["sub-1", "F"]])
    image(tmp_path / "sub-1/anat/sub-1_T1w.nii.gz")
    image(tmp_path / "sub-2/anat/sub-2_T1w.nii.gz")
    records, _ = harvest(tmp_path)
    mismatch = [
        i
        for i in records["collection"].record.quality["issues"]
        if i["code"] == "PARTICIPANT_ID_MISMATCH"
    ]
    assert mismatch[0]["message"].endswith("sub-2")


def test_derivative_with_source_dataset_doi_and_pipeline(tmp_path: Path) -> None:
    minimal_dataset(
        tmp_path,
        ReferencesAndLinks=["Smith et al. (2020) doi:10.1000/xyz.1", "https://example.org/x"],
    )
    image(tmp_path / "sub-1/anat/sub-1_T1w.nii.gz")
    deriv = tmp_path / "derivatives" / "seg"
    write_json(
        deriv / "dataset_description.json",
        {"Name": "Segmentations", "BIDSVersion": "1.10.0", "DatasetType": "derivative",
         "GeneratedBy": [{"Name": "segtool", "Version": "2.1", "CodeURL": "https://example.org/segtool"}],
         "SourceDatasets": [{"DOI": "doi:10.18112/openneuro.ds000001.v1.0.0"}]},
    )  # fmt: skip
    image(deriv / "sub-1/anat/sub-1_desc-brain_mask.nii.gz")
    records, _ = harvest(tmp_path)
    related = records["collection"].record.related
    assert [(r.identifier, r.scheme, r.relation) for r in related] == [
        ("10.1000/xyz.1", "DOI", RelationType.References),
        ("https://example.org/x", "URL", RelationType.References),
    ]
    dataset = records["dataset:derivatives/seg"].record
    assert dataset.title == "Segmentations"
    assert [(r.identifier, r.relation) for r in dataset.related] == [
        ("10.18112/openneuro.ds000001.v1.0.0", RelationType.IsDerivedFrom),
        ("https://example.org/segtool", RelationType.IsCompiledBy),
    ]
    mask = records["file:derivatives/seg/sub-1/anat/sub-1_desc-brain_mask"].record
    assert mask.level == Level.derived
    assert mask.related[0].identifier == "10.18112/openneuro.ds000001.v1.0.0"
    assert mask.subject.pseudonym == records["subject:1"].record.subject.pseudonym
    # Derivative files are not validated against the raw file rules.
    assert all(
        "derivatives" not in i["location"] for i in records["collection"].record.quality["issues"]
    )


def test_copy_of_vendored_dataset_harvests_from_any_location(tmp_path: Path) -> None:
    root = Path(shutil.copytree(DATA / "7t_trt", tmp_path / "copy"))
    records, _ = harvest(root)
    assert records["collection"].record.source.location == str(root)
    assert records["collection"].record.title == "7t_trt"
