"""The GPU path on a machine without CUDA: `--device cuda` falls back to the CPU with a
message saying why, in the pipeline (job succeeds on the CPU, the job says so) and in
the benchmark (no bandwidth figure, or exit 2 with --strict-device). CUDA is hidden with
CUDA_VISIBLE_DEVICES="", so the tests mean the same on a machine that has a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.domain.compute import JobRequest
from catalog.services.container import Catalog
from tests.compute_bridge.conftest import ALICE, wait_for

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--shape", "8,8,2", "--echoes", "8", "--scipy-voxels", "10", "--repeats", "1"]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "relaxometry_bench.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT / "benchmarks",
    )


def test_benchmark_device_cuda_falls_back_to_cpu_without_gpu_figures() -> None:
    done = _bench("--device", "cuda", "--iterations", "3", *SMALL)
    assert done.returncode == 0, done.stderr
    assert "relaxometry_bench: CUDA was asked for but " in done.stderr
    assert "; running on the CPU instead; no GPU figures are reported" in done.stderr
    assert "voxels=128 echoes=8 device=cpu threads=1" in done.stdout
    assert "memory-bandwidth bound" not in done.stdout
    assert "ratio (projected LM / curve_fit): " in done.stdout


def test_benchmark_strict_device_exits_2() -> None:
    done = _bench("--device", "cuda", "--strict-device", *SMALL)
    assert done.returncode == 2
    assert done.stderr.startswith("relaxometry_bench: CUDA was asked for but ")
    assert done.stderr.rstrip().endswith("(--strict-device)")
    assert done.stdout == ""


def test_job_asking_for_cuda_runs_on_the_cpu_and_says_why(
    catalog: Catalog, mese, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the worker inherits it
    _phantom, ids = mese
    job = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=ids, device="cuda")
    )
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "succeeded", (job.message, job.log_tail)
    assert job.device == "cpu"
    assert job.message.startswith("1 derived record(s) catalogued; CUDA was asked for but ")
    assert job.message.endswith("; running on the CPU instead")
    assert "imagora runner: CUDA was asked for but " in job.log_tail
    doc = json.loads(catalog.compute.provenance(ALICE, job.outputs[0]))
    assert doc["activity"][f"job:{job.id}"]["imagora:device"] == "cpu"  # what it ran on
