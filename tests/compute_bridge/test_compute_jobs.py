"""End to end: a multi-echo phantom harvested from BIDS, a relaxometry job through the
local executor, the T2 maps catalogued as derived records with PROV."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from catalog.domain.compute import JobRequest, ResourceRequest
from catalog.domain.enums import Role
from catalog.domain.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    SourceUnusableError,
    ValidationError,
)
from catalog.domain.identity import ANONYMOUS, SYSTEM, Identity
from catalog.domain.records import AccessUpdate
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from tests.compute_bridge.conftest import ALICE, wait_for


def test_local_job_catalogues_t2_map_with_provenance(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    phantom, ids = mese
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    assert job.state == "queued"
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "succeeded", (job.message, job.log_tail)
    assert len(job.outputs) == 1
    record = catalog.records.get(ALICE, job.outputs[0])
    assert record.level == "derived"
    assert record.title.startswith("T2 map of ")
    related = {(r.relation, r.identifier) for r in record.related}
    assert {("IsDerivedFrom", i) for i in ids} <= related
    t2_file = output_folder(catalog, job.id) / record.files[0].path
    t2_ms = nib.load(t2_file).get_fdata() * 1000.0
    for label, _name, _t1, t2_true, _pd in [(1, "wm", 0, 45.0, 0), (5, "csf", 0, 250.0, 0)]:
        inside = phantom.labels == label
        # a small phantom (fast job); the 1% acceptance runs in test_fitting.py
        assert abs(np.median(t2_ms[inside]) / t2_true - 1.0) < 0.03


def test_t2_map_is_annotated_searchable_and_has_prov(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    job = wait_for(
        catalog,
        ALICE,
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids)).id,
    )
    assert job.state == "succeeded", job.message
    out_id = job.outputs[0]
    record = catalog.records.get(ALICE, out_id)
    assert any(t.iri.endswith("#t2map-suffixes") for t in record.terms)
    assert any(
        r.relation == "IsCompiledBy" and r.identifier == "pipeline-relaxometry-1-0-0"
        for r in record.related
    )
    assert all(f.checksum and f.checksum.startswith("sha256:") for f in record.files)
    pipeline_record = catalog.records.get(ALICE, "pipeline-relaxometry-1-0-0")
    assert pipeline_record.level == "pipeline"
    # searchable by what it is, by pipeline, and by what it was derived from
    collection = catalog.records.get(ALICE, ids[0]).parents[0].id
    for text in ("T2 map", '"pipeline relaxometry"', f'"derived from {collection}"'):
        hits = catalog.records.search(ALICE, SearchRequest(text=text, level="derived")).hits
        assert out_id in [h.id for h in hits], text
    elsewhere = catalog.records.search(ALICE, SearchRequest(text='"derived from nothing-like-it"'))
    assert out_id not in [h.id for h in elsewhere.hits]
    doc = json.loads(catalog.compute.provenance(ALICE, out_id))
    activity = doc["activity"][f"job:{job.id}"]
    assert activity["imagora:executor"] == "local"
    assert activity["imagora:rerunCommand"].startswith("imagora compute run relaxometry --records ")
    assert json.loads(activity["imagora:parameters"])["noise"] == "rician"
    agent = doc["agent"]["pipeline:relaxometry/1.0.0"]
    assert agent["imagora:descriptorSha256"].startswith("sha256:")
    assert agent["imagora:torchVersion"].startswith("2.13")
    assert agent["imagora:device"] == "cpu"
    checksums = [e.get("imagora:checksum") for e in doc["entity"].values()]
    assert sum(1 for c in checksums if c) >= len(ids) + 5  # every input and output file
    derived = doc["wasDerivedFrom"].values()
    assert {d["prov:usedEntity"] for d in derived} == {f"rec:{i}" for i in ids}


def test_failing_job_is_reported_with_log_tail_and_not_catalogued(
    catalog: Catalog, mese, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    broken = tmp_path / "bids" / "sub-01" / "anat" / "sub-01_echo-3_MESE.nii.gz"
    broken.write_bytes(b"not a nifti file")
    before = catalog.records.search(ALICE, SearchRequest(level="derived")).total
    job = wait_for(
        catalog,
        ALICE,
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids)).id,
    )
    assert job.state == "failed"
    assert "sub-01_echo-3_MESE.nii.gz: cannot read as NIfTI" in (job.message or "")
    assert "Traceback" in (job.log_tail or "")
    assert job.outputs == []
    work = catalog.settings.data_dir.resolve() / "compute" / "jobs" / job.id
    assert not (work / "output").exists()  # the partial folder is all there is
    assert (work / "output.partial").is_dir()
    assert catalog.records.search(ALICE, SearchRequest(level="derived")).total == before


def test_bad_parameter_is_refused_before_submission(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    request = JobRequest(pipeline="relaxometry", records=ids, params={"iterations": "0"})
    with pytest.raises(ValidationError) as caught:
        catalog.compute.submit(ALICE, request)
    assert caught.value.message == "parameter 'iterations' must be >= 1; got 0"
    assert caught.value.field == "params.iterations"
    request = JobRequest(pipeline="relaxometry", records=ids[:2], params={"model": "t2"})
    with pytest.raises(ValidationError, match="t2 needs at least 3 distinct echo_times_ms"):
        catalog.compute.submit(ALICE, request)


def test_killed_job_is_reported_not_catalogued(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    pid_file = catalog.settings.data_dir.resolve() / "compute" / "jobs" / job.id / "runner.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the runner, mid-import of torch
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "failed"
    assert job.message == "the job's process was killed by signal SIGKILL"
    assert job.outputs == []


def test_access_is_checked_on_every_input(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    catalog.records.set_access(SYSTEM, ids[1], AccessUpdate(record="restricted"))
    with pytest.raises(NotFoundError, match=f"no record with id '{ids[1]}'"):
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    catalog.records.set_access(SYSTEM, ids[1], AccessUpdate(record="public", files="restricted"))
    with pytest.raises(PermissionDeniedError, match="are restricted; ask its curator"):
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    with pytest.raises(AuthenticationError, match="needs a bearer token"):
        catalog.compute.submit(ANONYMOUS, JobRequest(pipeline="relaxometry", records=ids))


def test_outputs_of_restricted_inputs_stay_restricted(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    catalog.records.set_access(SYSTEM, ids[0], AccessUpdate(record="restricted", grants=["alice"]))
    job = wait_for(
        catalog,
        ALICE,
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids)).id,
    )
    assert job.state == "succeeded", job.message
    output = catalog.records.get(ALICE, job.outputs[0])
    assert output.access.record == "restricted" and "alice" in output.access.grants
    with pytest.raises(NotFoundError):
        catalog.records.get(ANONYMOUS, job.outputs[0])
    # jobs belong to their owner
    with pytest.raises(NotFoundError):
        catalog.compute.get(Identity(user="bob", role=Role.viewer), job.id)


def test_rerun_repeats_the_job_with_identical_outputs(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    first = wait_for(
        catalog,
        ALICE,
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids)).id,
    )
    second = wait_for(catalog, ALICE, catalog.compute.rerun(ALICE, first.id).id)
    assert second.state == "succeeded" and second.rerun_of == first.id
    assert second.inputs == first.inputs and second.params == first.params
    assert output_checksums(catalog, first.id) == output_checksums(catalog, second.id)


def output_folder(catalog: Catalog, job_id: str) -> Path:
    """Where a job's outputs are (record views hide server paths from non-curators)."""
    return catalog.settings.data_dir.resolve() / "compute" / "jobs" / job_id / "output"


def output_checksums(catalog: Catalog, job_id: str) -> dict[str, str]:
    folder = output_folder(catalog, job_id)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_timed_out_job_is_reported_with_its_limit(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    request = JobRequest(
        pipeline="relaxometry", records=ids, resources=ResourceRequest(time_limit_s=1)
    )
    job = wait_for(catalog, ALICE, catalog.compute.submit(ALICE, request).id)
    assert job.state == "failed"
    assert job.message == "the job ran past its time limit of 1 s"
    assert "time limit of 1 s reached; job killed" in (job.log_tail or "")
    assert job.outputs == []


def test_unknown_executor_and_pipeline_are_named(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    with pytest.raises(
        NotFoundError, match="unknown executor 'k8s'; known executors: local, slurm"
    ):
        catalog.compute.submit(
            ALICE, JobRequest(pipeline="relaxometry", records=ids, executor="k8s")
        )
    with pytest.raises(
        NotFoundError, match="unknown pipeline 'fsl'; known pipelines: relaxometry, segmentation"
    ):
        catalog.compute.submit(ALICE, JobRequest(pipeline="fsl", records=ids))


def test_harvester_refuses_partial_and_failed_outputs(catalog: Catalog, tmp_path: Path) -> None:
    work = tmp_path / "job"
    partial = work / "output.partial"
    partial.mkdir(parents=True)
    (partial / "metadata.json").write_text('{"outputs": []}')
    with pytest.raises(SourceUnusableError, match="partial outputs are never catalogued"):
        catalog.harvest.run(SYSTEM, "compute", str(partial))
    final = work / "output"
    partial.rename(final)
    with pytest.raises(SourceUnusableError, match="the job did not succeed; nothing to catalogue"):
        catalog.harvest.run(SYSTEM, "compute", str(final))
    (work / "result.json").write_text('{"ok": false, "error": "boom"}')
    with pytest.raises(SourceUnusableError, match="the job did not succeed"):
        catalog.harvest.run(SYSTEM, "compute", str(final))
