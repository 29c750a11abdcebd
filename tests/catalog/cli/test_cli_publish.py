"""Acceptance: `imagora publish ID --to zenodo|datacite` on a harvested DICOM collection.

Everything real except the DOI services, which are loopback servers following the
documented APIs: the harvest reads real DICOM files full of identifying data, the gate
cleans them, the publisher speaks HTTP, and the uploaded zip is re-read file by file.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from cli_support import Invoke
from fastapi.testclient import TestClient

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS / "exporters" / "publishers"), str(TESTS / "exporters" / "deid")]
from datacite_server import DataCiteServer  # noqa: E402
from dicom_factory import assert_no_identifying_attribute, write_series  # noqa: E402
from loopback import serving  # noqa: E402
from zenodo_server import ZenodoServer  # noqa: E402

from catalog.domain.identity import SYSTEM  # noqa: E402
from catalog.domain.records import Creator, RecordUpdate  # noqa: E402
from catalog.services.container import Catalog  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.web.app import create_app  # noqa: E402
from exporters.deid.policy import DeidPolicy  # noqa: E402


@pytest.fixture
def zenodo(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZenodoServer]:
    with serving(ZenodoServer()) as server:
        monkeypatch.setenv("IMAGORA_ZENODO_URL", server.base_url)
        monkeypatch.setenv("IMAGORA_ZENODO_TOKEN", server.token)  # type: ignore[attr-defined]
        yield server  # type: ignore[misc]


@pytest.fixture
def datacite(monkeypatch: pytest.MonkeyPatch) -> Iterator[DataCiteServer]:
    with serving(DataCiteServer()) as server:
        monkeypatch.setenv("IMAGORA_DATACITE_URL", server.base_url)
        monkeypatch.setenv("IMAGORA_DATACITE_USER", "TEST.IMAGORA")
        monkeypatch.setenv("IMAGORA_DATACITE_PASSWORD", "secret")
        monkeypatch.setenv("IMAGORA_DATACITE_PREFIX", "10.80000")
        yield server  # type: ignore[misc]


def _catalog(data_dir: Path) -> Catalog:
    return Catalog.open(Settings.load(data_dir=data_dir))


@pytest.fixture
def collection(invoke: Invoke, data_dir: Path, tmp_path: Path) -> str:
    """A harvested PACS-style export (folder named after the patient), made citable."""
    write_series(tmp_path / "pacs" / "DOE^JOHN" / "t2", 3)
    result = invoke("harvest", "dicom", str(tmp_path / "pacs"), "--json")
    assert result.exit_code == 0, result.output
    catalog = _catalog(data_dir)
    try:
        with catalog.uow() as uow:
            [root] = [r for b in uow.records.iter_all() for r in b if r.level == "collection"]
        catalog.records.update(
            SYSTEM,
            root.id,
            RecordUpdate(
                title="Rat brain T2 at 9.4 T",
                description="T2-weighted RARE images of one rat brain, acquired at 9.4 T.",
                license="CC-BY-4.0",
                creators=[Creator(name="Doe, Jane", orcid="0000-0002-1825-0097")],
            ),
        )
    finally:
        catalog.close()
    return root.id


def _uploaded_dicoms(server: ZenodoServer, deposition_id: int) -> list[pydicom.Dataset]:
    archive = zipfile.ZipFile(io.BytesIO(server.depositions[deposition_id].files["dataset.zip"]))
    names = [n for n in archive.namelist() if n.endswith(".dcm")]
    return [pydicom.dcmread(io.BytesIO(archive.read(n))) for n in names]


def _landing(data_dir: Path, record_id: str) -> str:
    catalog = _catalog(data_dir)
    try:
        with TestClient(create_app(catalog.settings, catalog)) as client:
            response = client.get(f"/records/{record_id}")
            assert response.status_code == 200
            return response.text
    finally:
        catalog.close()


def test_publish_to_zenodo_end_to_end(invoke, zenodo, collection, data_dir) -> None:
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 0, result.output
    [dep] = zenodo.depositions.values()
    assert result.stdout.strip() == dep.doi
    assert "3 DICOM cleaned" in result.stderr
    # de-identified: every uploaded file re-read, no PS3.15 identifying attribute left
    datasets = _uploaded_dicoms(zenodo, dep.id)
    assert len(datasets) == 3
    settings = Settings.load(data_dir=data_dir)
    shift = DeidPolicy.for_package(settings.secret(), collection, 1).shift_days
    subject = str(datasets[0].PatientID)
    assert subject.startswith("sub-")
    for ds in datasets:
        assert_no_identifying_attribute(ds, subject, shift)
        assert "DOE" not in ds.to_json() and "PID-98765" not in ds.to_json()
    names = zipfile.ZipFile(io.BytesIO(dep.files["dataset.zip"])).namelist()
    assert "dataset_description.json" in names and "manifest-sha256.txt" in names
    assert not any("DOE" in n for n in names)
    # correct metadata
    assert dep.metadata["title"] == "Rat brain T2 at 9.4 T"
    assert dep.metadata["license"] == "cc-by-4.0" and dep.metadata["version"] == "1"
    assert dep.metadata["creators"][0]["orcid"] == "0000-0002-1825-0097"
    # the DOI on the landing page
    page = _landing(data_dir, collection)
    assert f"https://doi.org/{dep.doi}" in page
    concept = f"https://doi.org/10.5072/zenodo.{dep.concept}"
    assert f'<link rel="cite-as" href="{concept}">' in page  # the record now cites its DOI
    shown = json.loads(invoke("show", collection, "--format", "json").stdout)
    assert {"identifier": f"10.5072/zenodo.{dep.concept}", "scheme": "doi"} in shown["identifiers"]
    assert shown["published_versions"] == [1]


def test_publishing_again_finds_the_doi_and_a_new_version_gets_a_new_one(
    invoke, zenodo, collection, data_dir
) -> None:
    first = invoke("publish", collection, "--to", "zenodo").stdout.strip()
    again = invoke("publish", collection, "--to", "zenodo")
    assert again.exit_code == 0 and again.stdout.strip() == first
    assert "already published" in again.stderr
    assert len(zenodo.depositions) == 1
    catalog = _catalog(data_dir)
    try:
        catalog.records.update(SYSTEM, collection, RecordUpdate(keywords=["rat", "T2"]))
        assert catalog.records.get(SYSTEM, collection).version == 2
    finally:
        catalog.close()
    result = invoke("publish", collection, "--to", "zenodo", "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    second = outcome["publication"]
    assert second["version"] == 2 and second["doi"] != first
    [concept] = zenodo.concepts().values()
    assert sorted(d.doi for d in concept) == sorted([first, second["doi"]])
    assert second["concept_doi"] == f"10.5072/zenodo.{concept[0].concept}"
    page = _landing(data_dir, collection)
    assert first in page and second["doi"] in page


STEPS = [
    ("GET", r"/api/deposit/depositions"),
    ("POST", r"/api/deposit/depositions"),
    ("GET", r"/api/files/[^/]+"),
    ("PUT", r"/api/files/[^/]+/dataset\.zip"),
    ("PUT", r"/api/files/[^/]+/manifest-sha256\.txt"),
    ("PUT", r"/api/deposit/depositions/\d+"),
    ("POST", r"/api/deposit/depositions/\d+/actions/publish"),
]


@pytest.mark.parametrize("kind", ["drop-before", "drop-after"])
@pytest.mark.parametrize(("method", "pattern"), STEPS)
def test_a_network_failure_at_each_step_then_a_retry_makes_one_deposition(
    invoke, zenodo, collection, method, pattern, kind
) -> None:
    zenodo.inject(method, pattern, kind)
    failed = invoke("publish", collection, "--to", "zenodo")
    assert failed.exit_code == 1
    assert "could not reach Zenodo" in failed.stderr and "run the same publish" in failed.stderr
    retried = invoke("publish", collection, "--to", "zenodo")
    assert retried.exit_code == 0, retried.output
    [dep] = zenodo.depositions.values()
    assert dep.submitted and retried.stdout.strip() == dep.doi
    assert sorted(dep.files) == ["dataset.zip", "dataset_description.json", "manifest-sha256.txt"]
    if kind == "drop-after" and "files" in pattern and method == "PUT":
        # the retry re-ran the gate, got the same bytes and did not upload them again
        assert len(zenodo.calls("PUT", pattern)) == 1


def test_zenodo_validation_errors_are_listed(invoke, zenodo, collection, data_dir) -> None:
    catalog = _catalog(data_dir)
    try:
        catalog.records.update(SYSTEM, collection, RecordUpdate(creators=[]))
    finally:
        catalog.close()
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 1
    assert "Zenodo refused publishing (HTTP 400)" in result.stderr
    assert "metadata.creators: Shorter than minimum length 1." in result.stderr


def test_burned_in_annotation_stops_the_deposit(invoke, zenodo, collection, tmp_path) -> None:
    write_series(tmp_path / "pacs" / "DOE^JOHN" / "sc", 1, burned_in="YES")
    assert invoke("harvest", "dicom", str(tmp_path / "pacs")).exit_code == 0
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 1
    assert "de-identification gate refused 1 file(s)" in result.stderr
    assert "burned-in annotation" in result.stderr and "0001.dcm" in result.stderr
    assert zenodo.log == []  # nothing was sent


def test_restricted_records_are_not_published(invoke, zenodo, collection) -> None:
    assert invoke("access", collection, "--record", "restricted").exit_code == 0
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 1
    assert "restricted records cannot be published openly" in result.stderr
    assert zenodo.log == []


def test_embargoed_records_publish_with_access_right_and_date(invoke, zenodo, collection) -> None:
    assert (
        invoke("access", collection, "--files", "embargoed", "--until", "2099-06-30").exit_code == 0
    )
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 0, result.output
    [dep] = zenodo.depositions.values()
    assert dep.metadata["access_right"] == "embargoed"
    assert dep.metadata["embargo_date"] == "2099-06-30"


def test_a_viewer_token_may_not_publish(invoke, zenodo, collection) -> None:
    created = invoke("tokens", "create", "--user", "eve", "--role", "viewer")
    token = created.stdout.strip().split()[-1]
    result = invoke("publish", collection, "--to", "zenodo", "--token", token)
    assert result.exit_code == 1
    assert "needs the curator or admin role" in result.stderr


def test_publish_to_datacite(invoke, datacite, collection) -> None:
    result = invoke("publish", collection, "--to", "datacite")
    assert result.exit_code == 0, result.output
    doi = result.stdout.strip()
    assert doi == f"10.80000/imagora.{collection}.v1"
    assert datacite.dois[doi]["state"] == "findable"
    assert datacite.dois[doi]["titles"] == [{"title": "Rat brain T2 at 9.4 T"}]


def test_one_publish_of_a_version_at_a_time(invoke, zenodo, collection, data_dir) -> None:
    import fcntl
    import os

    catalog = _catalog(data_dir)
    try:
        version = catalog.records.get(SYSTEM, collection).version
    finally:
        catalog.close()
    lock = data_dir / "publish" / f"{collection}-zenodo-v{version}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another process publishing it would
        result = invoke("publish", collection, "--to", "zenodo")
    finally:
        os.close(fd)
    assert result.exit_code == 1
    assert "is being published by another process" in result.stderr
    assert zenodo.log == []
    assert invoke("publish", collection, "--to", "zenodo").exit_code == 0


def test_dates_removed_by_setting(invoke, zenodo, collection, monkeypatch) -> None:
    monkeypatch.setenv("IMAGORA_DEID_DATES", "remove")
    assert invoke("publish", collection, "--to", "zenodo").exit_code == 0
    [dep] = zenodo.depositions.values()
    for ds in _uploaded_dicoms(zenodo, dep.id):
        assert ds.StudyDate == "" and ds.LongitudinalTemporalInformationModified == "REMOVED"


def _bids_dataset(root: Path) -> Path:
    import nibabel as nib
    import numpy as np

    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "Tiny rat BIDS", "BIDSVersion": "1.10.0", "License": "CC0-1.0"})
    )
    (root / "participants.tsv").write_text(
        "participant_id\tspecies\tpatient_name\tbirth_date\nsub-01\trat\tJohn Doe\t1970-01-01\n"
    )
    image = nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.int16), np.eye(4))
    image.header["descrip"] = b"John Doe 1970"
    nib.save(image, anat / "sub-01_T2w.nii.gz")
    (anat / "sub-01_T2w.json").write_text(
        json.dumps(
            {
                "RepetitionTime": 2.5,
                "EchoTime": 0.03,
                "PatientName": "DOE^JOHN",
                "InstitutionName": "Springfield General",
                "MagneticFieldStrength": 9.4,
            }
        )
    )
    return root


def test_a_bids_dataset_is_published_whole_and_clean(invoke, zenodo, data_dir, tmp_path) -> None:
    import nibabel as nib

    assert invoke("harvest", "bids", str(_bids_dataset(tmp_path / "bids"))).exit_code == 0
    catalog = _catalog(data_dir)
    try:
        with catalog.uow() as uow:
            [root] = [r for b in uow.records.iter_all() for r in b if r.level == "collection"]
        catalog.records.update(
            SYSTEM, root.id, RecordUpdate(creators=[Creator(name="Doe, Jane")], license="CC0-1.0")
        )
    finally:
        catalog.close()
    result = invoke("publish", root.id, "--to", "zenodo")
    assert result.exit_code == 0, result.output
    [dep] = zenodo.depositions.values()
    archive = zipfile.ZipFile(io.BytesIO(dep.files["dataset.zip"]))
    names = set(archive.namelist())
    assert {
        "participants.tsv",
        "sub-01/anat/sub-01_T2w.json",
        "sub-01/anat/sub-01_T2w.nii.gz",
        "dataset_description.json",
        "manifest-sha256.txt",
    } <= names
    assert archive.read("participants.tsv").decode() == "participant_id\tspecies\nsub-01\trat\n"
    sidecar = json.loads(archive.read("sub-01/anat/sub-01_T2w.json"))
    assert sidecar == {"RepetitionTime": 2.5, "EchoTime": 0.03, "MagneticFieldStrength": 9.4}
    nifti = tmp_path / "out.nii.gz"
    nifti.write_bytes(archive.read("sub-01/anat/sub-01_T2w.nii.gz"))
    assert nib.load(nifti).header["descrip"].item() == b""
    description = json.loads(archive.read("dataset_description.json"))
    assert description["Name"] == "Tiny rat BIDS"
    assert description["GeneratedBy"][-1]["Name"] == "Imagora de-identification gate"


def test_a_lost_newversion_answer_then_a_retry_makes_one_new_version(
    invoke, zenodo, collection, data_dir
) -> None:
    first = invoke("publish", collection, "--to", "zenodo").stdout.strip()
    catalog = _catalog(data_dir)
    try:
        catalog.records.update(SYSTEM, collection, RecordUpdate(keywords=["v2"]))
    finally:
        catalog.close()
    zenodo.inject("POST", r".*/actions/newversion", "drop-after")
    failed = invoke("publish", collection, "--to", "zenodo")
    assert failed.exit_code == 1 and "could not reach Zenodo" in failed.stderr
    retried = invoke("publish", collection, "--to", "zenodo")
    assert retried.exit_code == 0, retried.output
    assert len(zenodo.depositions) == 2 and len(zenodo.calls("POST", r".*/newversion")) == 1
    [concept] = zenodo.concepts().values()
    assert sorted(d.doi for d in concept) == sorted([first, retried.stdout.strip()])


def test_restricted_branches_are_left_out(invoke, zenodo, collection, data_dir, tmp_path) -> None:
    write_series(tmp_path / "pacs" / "ROE^JANE" / "t1", 2, patient_id="PID-2", study_uid="1.2.3.44")
    assert invoke("harvest", "dicom", str(tmp_path / "pacs")).exit_code == 0
    catalog = _catalog(data_dir)
    try:
        with catalog.uow() as uow:
            subjects = [r for b in uow.records.iter_all() for r in b if r.level == "subject"]
        assert len(subjects) == 2
        hidden = subjects[0]
        # the re-harvest rewrote the collection from the source: make it citable again
        catalog.records.update(
            SYSTEM,
            collection,
            RecordUpdate(license="CC-BY-4.0", creators=[Creator(name="Doe, Jane")]),
        )
        catalog.records.update(
            SYSTEM, hidden.id, RecordUpdate.model_validate({"access": {"record": "restricted"}})
        )
    finally:
        catalog.close()
    result = invoke("publish", collection, "--to", "zenodo")
    assert result.exit_code == 0, result.output
    assert f"record {hidden.id} is restricted: its files were left out" in result.stderr
    [dep] = zenodo.depositions.values()
    subjects_sent = {str(ds.PatientID) for ds in _uploaded_dicoms(zenodo, dep.id)}
    assert subjects_sent == {subjects[1].body["subject"]["pseudonym"]}


def test_unknown_service_and_plugins_listing(invoke, collection) -> None:
    result = invoke("publish", collection, "--to", "figshare")
    assert result.exit_code == 1
    assert "unknown publisher 'figshare'; known publishers: datacite, zenodo" in result.stderr
    rows = json.loads(invoke("plugins", "--json").stdout.strip().splitlines()[-1])
    publishers = {r["name"]: r["status"] for r in rows if r["kind"] == "publisher"}
    assert publishers == {"datacite": "available", "zenodo": "available"}


def test_a_bruker_study_leaves_without_subject_names_ids_or_people(
    invoke, zenodo, data_dir, tmp_path
) -> None:
    from harvesters.bruker.sample import write_sample_study

    study = write_sample_study(tmp_path / "paravision", version="360")
    assert (
        invoke("harvest", "bruker", str(tmp_path / "paravision"), "--species", "rat").exit_code == 0
    )
    catalog = _catalog(data_dir)
    try:
        with catalog.uow() as uow:
            [root] = [r for b in uow.records.iter_all() for r in b if r.level == "collection"]
        catalog.records.update(
            SYSTEM, root.id, RecordUpdate(creators=[Creator(name="Doe, Jane")], license="CC-BY-4.0")
        )
    finally:
        catalog.close()
    result = invoke("publish", root.id, "--to", "zenodo")
    assert result.exit_code == 0, result.output
    assert "Bruker subject file left out" in result.stderr
    [dep] = zenodo.depositions.values()
    archive = zipfile.ZipFile(io.BytesIO(dep.files["dataset.zip"]))
    names = archive.namelist()
    assert not any(n.endswith("/subject") for n in names)
    assert any(n.endswith("/visu_pars") for n in names) and any(n.endswith("/acqp") for n in names)
    identifying = ["RatA01", "Rat^A01", "jdoe", "nmrsu", "Example University", study.name]
    for name in names:
        text = archive.read(name).decode("latin-1")
        for secret in identifying:
            assert secret not in text and secret not in name, (secret, name)
    visu = archive.read(next(n for n in names if n.endswith("/visu_pars"))).decode("latin-1")
    assert "##$VisuSubjectSex=MALE" in visu and "##$VisuAcqEchoTime" in visu
