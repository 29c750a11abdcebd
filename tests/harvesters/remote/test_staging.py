"""Pipeline inputs from remote sources: harvested from the loopback XNAT and Shanoir-NG,
their files downloaded (over HTTP, through each harvester's `stage`) into the job's
folder, and the relaxometry pipeline run on them through the compute service.

Also: a source failing during the download (500 on every retry, credentials refused)
fails the job with a message naming the record, and unsafe archives are refused."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from loopback import Loopback
from shanoir_fake import FakeShanoir
from shanoir_fake import realistic as shanoir_data
from xnat_fake import FakeXnat, Resource, Scan, realistic

from catalog.domain.compute import JobPublic, JobRequest
from catalog.domain.enums import Role
from catalog.domain.identity import SYSTEM, Identity
from catalog.services.container import Catalog
from compute_bridge import phantoms, sample
from harvesters.staging import ArchiveRefusedError, StageLimits, extract_zip
from tests.compute_bridge.conftest import wait_for

ALICE = Identity(user="alice", role=Role.viewer)
XNAT_ADMIN = {"user": "admin", "password": "s3cret!", "backoff_s": 0.01, "retries": 1}
SHANOIR_ALICE = {"user": "alice", "password": "pw", "backoff_s": 0.01, "retries": 1}
MSME_DATASET = 6001  # Shanoir's preclinical "T2 TurboRARE" acquisition 2001


def phantom_files(tmp_path: Path) -> dict[str, bytes]:
    folder = sample.write_phantom_series(tmp_path / "phantom-src")
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.dcm"))}


def series_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(files[name])
    return "sha256:" + digest.hexdigest()


@pytest.fixture
def xnat_phantom(tmp_path: Path) -> Iterator[tuple[Loopback, dict[str, bytes]]]:
    """The realistic XNAT plus an MSME relaxometry scan (4) whose DICOM resource holds
    the phantom's 16 files."""
    files = phantom_files(tmp_path)
    data = realistic()
    scan = Scan(
        "4",
        "xnat:mrScanData",
        "MSME",
        "msme_relaxometry",
        frames=16,
        params={"tr": 3000, "te": 10, "fieldStrength": 9.4},
        resources=[Resource("DICOM", "DICOM", len(files), sum(map(len, files.values())), files)],
    )
    data.sessions["XNAT_E00001"].scans.append(scan)
    with Loopback(FakeXnat(data)) as server:
        yield server, files


def harvested_id(catalog: Catalog, kind: str, external_id: str) -> str:
    with catalog.uow() as uow:
        for batch in uow.records.iter_all():
            for r in batch:
                source = r.body.get("source") or {}
                if (
                    r.level == "acquisition"
                    and source.get("type") == kind
                    and source.get("external_id") == external_id
                ):
                    return r.id
    raise AssertionError(f"no {kind} acquisition {external_id}")


def harvest_xnat(catalog: Catalog, server: Loopback) -> str:
    opts = catalog.harvest.parse_options("xnat", XNAT_ADMIN)
    report = catalog.harvest.run(SYSTEM, "xnat", server.url, opts)
    assert report.failed == 0, report.errors
    return harvested_id(catalog, "xnat", "4")


def register(
    catalog: Catalog, kind: str, server: Loopback, tmp_path: Path, creds: dict[str, Any]
) -> None:
    """A registered source with a secrets file, as operators set them up."""
    secrets_file = tmp_path / f"{kind}-secrets.json"
    secrets_file.write_text(json.dumps({"user": creds["user"], "password": creds["password"]}))
    options = {"secrets_file": str(secrets_file), "backoff_s": 0.01, "retries": 1}
    catalog.sources.add(SYSTEM, kind, kind, server.url, options)


def run_relaxometry(catalog: Catalog, record_id: str) -> JobPublic:
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=[record_id]))
    return wait_for(catalog, ALICE, job.id)


def check_t2_map(catalog: Catalog, job: JobPublic, files: dict[str, bytes]) -> None:
    assert job.state == "succeeded", (job.message, job.log_tail)
    (output_id,) = job.outputs
    record = catalog.records.get(ALICE, output_id)
    folder = catalog.compute.jobs_dir / job.id / "output"
    t2_ms = nib.load(folder / record.files[0].path).get_fdata() * 1000.0
    truth = phantoms.multi_echo(sample.SHAPE, echo_times_ms=sample.ECHO_TIMES_MS, seed=7)
    for label, name, *_ in phantoms.TISSUES:
        inside = truth.labels == label
        error = float(np.median(t2_ms[inside] / truth.t2_ms[inside] - 1.0))
        assert abs(error) < 0.01, (name, error)
    doc = json.loads(catalog.compute.provenance(ALICE, output_id))
    # the input's file entity (named by the series' first file) has the series' checksum
    entity = doc["entity"][f"rec:{job.inputs[0]}/files/{min(files)}"]
    assert entity["imagora:checksum"] == series_digest(files)


def test_xnat_scan_is_downloaded_and_its_t2_map_catalogued(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    server, files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    record_id = harvest_xnat(catalog, server)
    job = run_relaxometry(catalog, record_id)
    check_t2_map(catalog, job, files)
    zips = [p for m, p, _s in server.app.log if m == "GET" and p.endswith("/DICOM/files")]
    assert zips == ["/data/experiments/XNAT_E00001/scans/4/resources/DICOM/files"]
    staged = catalog.compute.jobs_dir / job.id / "inputs" / record_id
    assert len(list(staged.rglob("*.dcm"))) == 16
    assert "s3cret!" not in (catalog.compute.jobs_dir / job.id / "job.json").read_text()


def test_shanoir_dataset_is_downloaded_and_its_t2_map_catalogued(
    catalog: Catalog, tmp_path: Path
) -> None:
    files = phantom_files(tmp_path)
    fake = FakeShanoir(shanoir_data())
    fake.files[MSME_DATASET] = files
    with Loopback(fake) as server:
        register(catalog, "shanoir", server, tmp_path, SHANOIR_ALICE)
        opts = catalog.harvest.parse_options("shanoir", SHANOIR_ALICE)
        report = catalog.harvest.run(SYSTEM, "shanoir", server.url, opts)
        assert report.failed == 0, report.errors
        job = run_relaxometry(catalog, harvested_id(catalog, "shanoir", "2001"))
        check_t2_map(catalog, job, files)
        asked = [p for m, p, _s in fake.log if "/download/" in p]
        assert asked == [f"/shanoir-ng/datasets/datasets/download/{MSME_DATASET}"]


def test_credentials_from_the_settings_file_are_used(
    xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    """No registered source: the host's table in IMAGORA_HARVEST_CREDENTIALS."""
    from catalog.settings import Settings

    server, files = xnat_phantom
    creds = tmp_path / "credentials.toml"
    host = server.url.split("//", 1)[1]
    creds.write_text(f'["{host}"]\nuser = "admin"\npassword = "s3cret!"\n')
    settings = Settings.load(
        data_dir=tmp_path / "data", secret_key="test-secret", harvest_credentials=creds
    )
    catalog = Catalog.open(settings)
    try:
        record_id = harvest_xnat(catalog, server)
        check_t2_map(catalog, run_relaxometry(catalog, record_id), files)
    finally:
        catalog.close()


def test_scan_harvested_without_resources_stages_its_dicom_resource(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    """`-o resources=false` lists no resources: the scan's DICOM resource is asked for."""
    server, files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    opts = catalog.harvest.parse_options("xnat", {**XNAT_ADMIN, "resources": False})
    catalog.harvest.run(SYSTEM, "xnat", server.url, opts)
    record_id = harvested_id(catalog, "xnat", "4")
    assert catalog.records.get(ALICE, record_id).files == []
    check_t2_map(catalog, run_relaxometry(catalog, record_id), files)


def test_server_error_during_download_fails_the_job_naming_the_record(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    server, _files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    record_id = harvest_xnat(catalog, server)
    server.app.inject("GET", r".*/resources/DICOM/files", "status", status=500, times=5)
    job = run_relaxometry(catalog, record_id)
    assert job.state == "failed" and job.outputs == []
    assert job.message is not None
    assert f"record '{record_id}' (msme_relaxometry)" in job.message
    assert "HTTP 500 after 2 attempts" in job.message
    assert "staging the inputs from the xnat source failed" in job.message
    assert not (catalog.compute.jobs_dir / job.id / "inputs" / record_id).exists()


def test_rejected_credentials_fail_the_job_without_showing_them(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    server, _files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    record_id = harvest_xnat(catalog, server)
    server.app.users["admin"] = "changed-since"  # the password was changed upstream
    job = run_relaxometry(catalog, record_id)
    assert job.state == "failed"
    assert f"record '{record_id}'" in (job.message or "")
    assert "rejected the credentials (HTTP 401)" in (job.message or "")
    assert "s3cret!" not in (job.message or "") + (job.log_tail or "")


def test_archive_with_parent_entries_is_refused(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    server, _files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    record_id = harvest_xnat(catalog, server)
    server.app.zip_override = _zip({"scans/4/../../../../escaped.dcm": b"DICM"})
    job = run_relaxometry(catalog, record_id)
    assert job.state == "failed"
    assert f"record '{record_id}' (msme_relaxometry)" in (job.message or "")
    assert "'scans/4/../../../../escaped.dcm' would land outside" in (job.message or "")
    assert not list(catalog.compute.jobs_dir.parent.rglob("escaped.dcm"))


def test_oversized_download_is_refused(
    catalog: Catalog, xnat_phantom: tuple[Loopback, dict[str, bytes]], tmp_path: Path
) -> None:
    server, _files = xnat_phantom
    register(catalog, "xnat", server, tmp_path, XNAT_ADMIN)
    record_id = harvest_xnat(catalog, server)
    catalog.compute.remote.limits = StageLimits(max_bytes=10_000)
    job = run_relaxometry(catalog, record_id)
    assert job.state == "failed"
    assert f"record '{record_id}'" in (job.message or "")
    assert "over the 10000-byte limit" in (job.message or "")


def _zip(entries: dict[str, bytes], **options: Any) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, **options) as zipped:
        for name, content in entries.items():
            zipped.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["/etc/evil.dcm", "../evil.dcm", "a/../../evil.dcm"])
def test_extract_refuses_escaping_entries(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip({"ok.dcm": b"x", name: b"y"}))
    with pytest.raises(
        ArchiveRefusedError, match=re.escape("record 'r1' (T2): ") + ".*" + re.escape(f"'{name}'")
    ):
        extract_zip(archive, tmp_path / "out", StageLimits(), "record 'r1' (T2)")
    assert not (tmp_path / "evil.dcm").exists()


def test_extract_refuses_a_zip_bomb(tmp_path: Path) -> None:
    """A few kilobytes that unpack to 50 MB: refused from the sizes it announces."""
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(_zip({"zeros.dcm": b"\0" * 50_000_000}))
    assert archive.stat().st_size < 100_000
    limits = StageLimits(max_bytes=1_000_000)
    with pytest.raises(ArchiveRefusedError, match="unpacks to 50000000 bytes, over the 1000000"):
        extract_zip(archive, tmp_path / "out", limits, "record 'r1' (T2)")
    assert not (tmp_path / "out").exists()


def test_extract_refuses_what_is_not_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "page.zip"
    archive.write_bytes(b"<html>Login required</html>")
    with pytest.raises(ArchiveRefusedError, match=r"record 'r1' \(T2\): .* not a zip"):
        extract_zip(archive, tmp_path / "out", StageLimits(), "record 'r1' (T2)")
