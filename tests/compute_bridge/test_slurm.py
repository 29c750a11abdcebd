"""The Slurm executor against a real single-node Slurm (deploy/slurm/start-single-node.sh).

The batch-script test needs no Slurm; the others skip with the reason when Slurm is not
installed here and fail in CI, where `.ci/run` starts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from catalog.domain.compute import JobRequest
from catalog.domain.errors import ConfigurationError
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from compute_bridge.base import JobSpec, Resources, StagedInput
from compute_bridge.executors.slurm import SlurmExecutor, SlurmSettings
from tests.compute_bridge.conftest import ALICE, echo_records, wait_for, write_mese_bids
from tests.compute_bridge.test_compute_jobs import output_checksums
from tests.conftest import unavailable


def test_batch_script_asks_for_the_job_resources(tmp_path: Path) -> None:
    spec = JobSpec(
        job_id="abc123",
        pipeline="relaxometry",
        pipeline_version="1.0.0",
        inputs=[StagedInput(record_id="r1", title="t", path="/data/x.nii")],
        work_dir=str(tmp_path / "job dir"),
        resources=Resources(cpus=4, memory_gb=1.5, time_limit_s=5400, gpus=2),
        partition="gpu",
        python="/opt/venv/bin/python",
    )
    script = SlurmExecutor(SlurmSettings(partition="ignored-when-the-job-says")).batch_script(spec)
    assert "#SBATCH --partition=gpu\n" in script
    assert "#SBATCH --time=0-01:30:00\n" in script
    assert "#SBATCH --mem=1536M\n" in script
    assert "#SBATCH --cpus-per-task=4\n" in script
    assert "#SBATCH --gres=gpu:2\n" in script
    assert f"#SBATCH --output={tmp_path / 'job dir' / 'log.txt'}\n" in script
    assert script.endswith(
        f"exec /opt/venv/bin/python -m compute_bridge.runner '{tmp_path}/job dir'\n"
    )
    cpu_only = SlurmExecutor().batch_script(spec.model_copy(update={"resources": Resources()}))
    assert "--gres" not in cpu_only


def test_local_and_slurm_give_identical_outputs(catalog: Catalog, mese, slurm) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    local = catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    remote = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=ids, executor="slurm")
    )
    assert remote.external_id and remote.external_id.isdigit()
    local, remote = wait_for(catalog, ALICE, local.id), wait_for(catalog, ALICE, remote.id)
    assert (local.state, remote.state) == ("succeeded", "succeeded"), (
        remote.message,
        remote.log_tail,
    )
    assert output_checksums(catalog, local.id) == output_checksums(catalog, remote.id)
    assert len(output_checksums(catalog, remote.id)) == 6  # 3 maps, CSV, PNG, metadata
    assert remote.outputs and remote.outputs != local.outputs  # each job its own records


def test_slurm_failures_are_reported_not_catalogued(
    catalog: Catalog, mese, slurm, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    (tmp_path / "bids" / "sub-01" / "anat" / "sub-01_echo-2_MESE.nii.gz").write_bytes(b"junk")
    bad = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=ids, executor="slurm")
    )
    bad = wait_for(catalog, ALICE, bad.id)
    assert bad.state == "failed"
    assert (
        bad.message and "the job failed: " in bad.message and "cannot read as NIfTI" in bad.message
    )
    assert bad.outputs == []


def test_slurm_killed_and_cancelled_jobs(catalog: Catalog, mese, slurm) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    job = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=ids, executor="slurm")
    )
    pid_file = catalog.settings.data_dir.resolve() / "compute" / "jobs" / job.id / "runner.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "failed"
    assert job.message == "the job failed without a result (its process was killed?)"
    assert job.outputs == []
    job = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=ids, executor="slurm")
    )
    job = catalog.compute.cancel(ALICE, job.id)
    assert job.state == "cancelled"
    assert catalog.compute.get(ALICE, job.id).state == "cancelled"


def _catalog(tmp_path: Path, **settings: str) -> Catalog:
    return Catalog.open(Settings.load(data_dir=tmp_path / "data", **settings))


def test_jobs_land_in_the_configured_partition_and_account(slurm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = subprocess.run(
        ["sinfo", "-h", "-p", "imaging", "-o", "%P"], capture_output=True, text=True, timeout=30
    )
    if "imaging" not in listed.stdout:
        unavailable("Slurm has no 'imaging' partition: re-run deploy/slurm/start-single-node.sh")
    bin_dir = str(Path(shutil.which("sbatch") or "/usr/bin/sbatch").parent)
    catalog = _catalog(
        tmp_path, slurm_partition="imaging", slurm_account="lab-a", slurm_bin_dir=bin_dir
    )
    try:
        write_mese_bids(tmp_path / "bids", shape=(12, 12, 1))
        catalog.harvest.run(SYSTEM, "bids", str(tmp_path / "bids"))
        request = JobRequest(
            pipeline="relaxometry", records=echo_records(catalog), executor="slurm"
        )
        job = catalog.compute.submit(ALICE, request)
        assert job.external_id and job.external_id.isdigit(), job.message
        shown = subprocess.run(
            ["scontrol", "show", "job", "-o", job.external_id],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
        assert "Partition=imaging" in shown and "Account=lab-a" in shown, shown
        job = wait_for(catalog, ALICE, job.id)
        assert job.state == "succeeded", (job.message, job.log_tail)
        # a job's own partition wins over the setting
        other = catalog.compute.submit(ALICE, request.model_copy(update={"partition": "debug"}))
        queued = subprocess.run(
            ["scontrol", "show", "job", "-o", str(other.external_id)],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
        assert "Partition=debug" in queued
        assert wait_for(catalog, ALICE, other.id).state == "succeeded"
    finally:
        catalog.close()


def test_a_wrong_slurm_bin_dir_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "no-slurm-here"
    empty.mkdir()
    catalog = _catalog(tmp_path, slurm_bin_dir=str(empty))
    try:
        write_mese_bids(tmp_path / "bids", shape=(8, 8, 1))
        catalog.harvest.run(SYSTEM, "bids", str(tmp_path / "bids"))
        request = JobRequest(
            pipeline="relaxometry", records=echo_records(catalog), executor="slurm"
        )
        job = catalog.compute.submit(ALICE, request)
        assert job.state == "failed" and job.external_id is None
        assert job.message == (
            "the slurm executor refused the job: the slurm executor needs 'sbatch', but "
            f"IMAGORA_SLURM_BIN_DIR is {empty}, which has no executable sbatch; set it to the "
            "folder that holds the Slurm commands (e.g. /usr/bin), or leave it empty to use PATH"
        )
    finally:
        catalog.close()
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(data_dir=tmp_path / "data", slurm_bin_dir="usr/bin")
    assert "IMAGORA_SLURM_BIN_DIR must be an absolute path; got 'usr/bin'" in caught.value.message


def test_slurm_settings_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMAGORA_SLURM_PARTITION", "gpu")
    monkeypatch.setenv("IMAGORA_SLURM_ACCOUNT", "imaging-lab")
    catalog = _catalog(tmp_path)
    try:
        executor = catalog.compute.executor("slurm")
        spec = JobSpec(
            job_id="abc",
            pipeline="relaxometry",
            pipeline_version="1.0.0",
            inputs=[StagedInput(record_id="r1", title="t", path="/data/x.nii")],
            work_dir=str(tmp_path / "job"),
        )
        script = executor.batch_script(spec)  # type: ignore[attr-defined]
        assert "#SBATCH --partition=gpu\n" in script
        assert "#SBATCH --account=imaging-lab\n" in script
    finally:
        catalog.close()


def test_cuda_job_on_a_cluster_without_gpus_is_refused_with_a_hint(
    catalog: Catalog, mese, slurm
) -> None:  # type: ignore[no-untyped-def]
    _phantom, ids = mese
    request = JobRequest(pipeline="relaxometry", records=ids, executor="slurm", device="cuda")
    job = catalog.compute.submit(ALICE, request)
    assert job.state == "failed" and job.external_id is None
    assert job.message.startswith("the slurm executor refused the job: sbatch failed: ")
    assert "gres" in job.message.lower()
    assert job.message.endswith(
        "(the job asks for 1 GPU(s) with --gres; this cluster or partition has none: run it "
        "with --device auto or cpu, or on a partition with GPUs)"
    )
