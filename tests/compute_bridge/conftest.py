"""Fixtures for the compute bridge: a real catalogue, real BIDS qMRI phantoms (NIfTI +
sidecars) harvested by the BIDS harvester, and a helper that waits for a job to end."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from catalog.domain.compute import JobPublic
from catalog.domain.enums import Role
from catalog.domain.identity import SYSTEM, Identity
from catalog.services.container import Catalog
from catalog.settings import Settings
from compute_bridge import phantoms
from tests.conftest import unavailable

ALICE = Identity(user="alice", role=Role.viewer)
ECHO_TIMES_MS = [10.0 * (i + 1) for i in range(16)]


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        yield cat
    finally:
        cat.close()


def write_mese_bids(root: Path, shape: tuple[int, int, int] = (24, 24, 2), seed: int = 0):  # type: ignore[no-untyped-def]
    """A BIDS qMRI multi-echo spin-echo dataset: one 3-D file per echo with its
    EchoTime in the sidecar (seconds), as the BIDS specification writes it."""
    phantom = phantoms.multi_echo(shape, echo_times_ms=ECHO_TIMES_MS, seed=seed)
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "Relaxometry phantom", "BIDSVersion": "1.10.0", "License": "CC0"})
    )
    (root / "participants.tsv").write_text("participant_id\tspecies\nsub-01\trattus norvegicus\n")
    affine = np.diag([0.5, 0.5, 1.0, 1.0])
    for index, te in enumerate(ECHO_TIMES_MS, 1):
        stem = anat / f"sub-01_echo-{index}_MESE"
        volume = phantom.images[..., index - 1]
        nib.save(nib.Nifti1Image(volume, affine), str(stem) + ".nii.gz")
        sidecar = {"EchoTime": te / 1000.0, "RepetitionTime": 3.0, "FlipAngle": 90}
        stem.with_suffix(".json").write_text(json.dumps(sidecar))
    return phantom


@pytest.fixture
def mese(tmp_path: Path, catalog: Catalog):  # type: ignore[no-untyped-def]
    """(phantom, echo record ids in echo order) of a harvested multi-echo dataset."""
    root = tmp_path / "bids"
    phantom = write_mese_bids(root)
    report = catalog.harvest.run(SYSTEM, "bids", str(root))
    assert report.failed == 0, report.errors
    ids = echo_records(catalog)
    assert len(ids) == len(ECHO_TIMES_MS)
    return phantom, ids


def echo_records(catalog: Catalog) -> list[str]:
    with catalog.uow() as uow:
        found = [
            r
            for batch in uow.records.iter_all()
            for r in batch
            if (r.body.get("bids") or {}).get("suffix") == "MESE"
        ]
    found.sort(key=lambda r: r.body["imaging"]["te_ms"])
    return [r.id for r in found]


def wait_for(catalog: Catalog, identity: Identity, job_id: str, limit_s: float = 240) -> JobPublic:
    """Poll the job until it ends (a bound on waiting, not a timed assertion)."""
    deadline = time.monotonic() + limit_s
    while True:
        job = catalog.compute.get(identity, job_id)
        if job.state.terminal or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


@pytest.fixture(scope="session")
def slurm() -> None:
    """A running single-node Slurm. `.ci/run` starts one and sets IMAGORA_TEST_SLURM=1;
    otherwise, as root, deploy/slurm/start-single-node.sh is run here (idempotent).
    Skipped with the reason when Slurm is not installed; a failure in CI."""
    import os
    import subprocess

    if shutil.which("sbatch") is None or shutil.which("slurmctld") is None:
        unavailable("Slurm (slurm-wlm) is not installed: run deploy/slurm/start-single-node.sh")
    if os.environ.get("IMAGORA_TEST_SLURM") != "1":
        if os.geteuid() != 0:
            unavailable("Slurm is not started: run deploy/slurm/start-single-node.sh as root")
        script = Path(__file__).resolve().parents[2] / "deploy" / "slurm" / "start-single-node.sh"
        done = subprocess.run([str(script)], capture_output=True, text=True, timeout=180)
        if done.returncode != 0 or "IMAGORA_TEST_SLURM=1" not in done.stdout:
            unavailable(f"Slurm did not start: {done.stderr.strip() or done.stdout.strip()}")
    nodes = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    if nodes.returncode != 0 or not nodes.stdout.strip():
        unavailable(f"Slurm does not answer: {nodes.stderr.strip()}")
