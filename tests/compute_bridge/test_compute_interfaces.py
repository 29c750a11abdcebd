"""The compute bridge's doors: CLI, HTTP API, job page, plugin listing; and its small
parts: Boutiques validation at registration, device leases (one GPU job per device)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from catalog.cli.main import cli
from catalog.domain.errors import ConfigurationError, ValidationError
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.web.app import create_app
from compute_bridge.descriptors import parse_descriptor
from compute_bridge.devices import acquire_device
from compute_bridge.registry import pipelines
from tests.compute_bridge.conftest import echo_records, write_mese_bids


def test_cli_run_wait_status_and_rerun(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_mese_bids(tmp_path / "bids")
    runner = CliRunner()

    def imagora(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--data-dir", str(data), *args], catch_exceptions=False)

    assert imagora("harvest", "bids", str(tmp_path / "bids")).exit_code == 0
    result = imagora(
        "compute", "run", "relaxometry", "--query", "MESE", "--param", "iterations=8", "--wait"
    )
    assert result.exit_code == 0, result.stderr
    job_id = result.stdout.strip()
    assert len(job_id) == 12
    assert f"job {job_id}: succeeded" in result.stderr
    status = imagora("compute", "status", job_id, "--json")
    body = json.loads(status.stdout.strip().splitlines()[-1])
    assert body["state"] == "succeeded"
    assert body["params"]["iterations"] == 8
    assert len(body["inputs"]) == 16 and len(body["outputs"]) == 1
    assert body["use"]["wall_s"] > 0 and body["device"] == "cpu"
    assert "--param iterations=8" in body["rerun_command"]
    bad = imagora("compute", "run", "relaxometry", "--query", "MESE", "--param", "model=t3")
    assert bad.exit_code == 1
    assert (
        "parameter 'model' must be one of auto, t2, t2star, t1_ir, t1_vfa; got 't3'" in bad.stderr
    )
    unknown = imagora("compute", "status", "nope")
    assert unknown.exit_code == 1 and "no job with id 'nope'" in unknown.stderr


def test_api_jobs_pipelines_provenance_and_job_page(tmp_path: Path) -> None:
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        write_mese_bids(tmp_path / "bids")
        from catalog.domain.identity import SYSTEM

        catalog.harvest.run(SYSTEM, "bids", str(tmp_path / "bids"))
        ids = echo_records(catalog)
        token = catalog.tokens.create(SYSTEM, "alice", "viewer")
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
            _exercise_api(client, auth, ids)
    finally:
        catalog.close()


def _exercise_api(client: TestClient, auth: dict[str, str], ids: list[str]) -> None:
    listed = client.get("/api/pipelines").json()
    relax = next(p for p in listed["pipelines"] if p["name"] == "relaxometry")
    assert relax["version"] == "1.0.0" and relax["descriptor_sha256"].startswith("sha256:")
    assert {p["id"] for p in relax["parameters"]} >= {"model", "noise", "iterations"}
    anonymous = client.post("/api/jobs", json={"pipeline": "relaxometry", "records": ids})
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "running a pipeline needs a bearer token"
    bad = client.post(
        "/api/jobs",
        json={"pipeline": "relaxometry", "records": ids, "params": {"noise": "x"}},
        headers=auth,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "params.noise"
    created = client.post(
        "/api/jobs", json={"pipeline": "relaxometry", "records": ids}, headers=auth
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert created.headers["location"] == f"/api/jobs/{job_id}"
    job = _poll(client, job_id, auth)
    assert job["state"] == "succeeded", job
    assert client.get(f"/api/jobs/{job_id}").status_code == 401
    output = job["outputs"][0]
    prov = client.get(f"/api/records/{output}/provenance")
    assert prov.status_code == 200 and prov.headers["content-type"].startswith("application/json")
    assert f"job:{job_id}" in prov.json()["activity"]
    turtle = client.get(f"/api/records/{output}/provenance", headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "prov:wasDerivedFrom" in turtle.text and "prov:SoftwareAgent" in turtle.text
    none = client.get(f"/api/records/{ids[0]}/provenance")
    assert none.status_code == 404 and "was not produced by a pipeline" in none.json()["message"]
    page = client.get(f"/jobs/{job_id}", headers=auth)
    assert page.status_code == 200
    assert "succeeded" in page.text and "imagora compute run relaxometry" in page.text
    assert "Peak memory" in page.text
    landing = client.get(f"/records/{output}")
    assert landing.status_code == 200
    assert f'src="/api/records/{output}/preview.png"' in landing.text
    assert '<svg class="prov-graph"' in landing.text and f"job {job_id}" in landing.text
    png = client.get(f"/api/records/{output}/preview.png")
    assert png.status_code == 200, png.text
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "prov-graph" not in client.get(f"/records/{ids[0]}").text
    again = client.post(f"/api/jobs/{job_id}/cancel", headers=auth)
    assert again.status_code == 409 and "already ended (succeeded)" in again.json()["message"]


def _poll(client: TestClient, job_id: str, auth: dict[str, str]) -> dict:  # type: ignore[type-arg]
    import time

    deadline = time.monotonic() + 240
    while True:
        job = client.get(f"/api/jobs/{job_id}", headers=auth).json()
        if job["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_plugins_lists_pipelines_and_executors() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"], catch_exceptions=False)
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert rows[("pipeline", "relaxometry")]["status"] == "available"
    assert rows[("executor", "local")]["detail"] == "compute_bridge.executors.local:LocalExecutor"
    assert rows[("executor", "slurm")]["status"] == "available"
    assert rows[("harvester", "compute")]["status"] == "available"


def test_descriptor_is_validated_with_boutiques() -> None:
    raw = dict(pipelines.descriptor("relaxometry").raw)
    del raw["tool-version"]
    with pytest.raises(
        ConfigurationError, match=r"x\.json: invalid Boutiques descriptor: .*tool-version"
    ):
        parse_descriptor(raw, "x.json")
    raw = dict(pipelines.descriptor("relaxometry").raw)
    raw["inputs"] = [*raw["inputs"], dict(raw["inputs"][2])]  # the same id twice
    with pytest.raises(ConfigurationError, match="invalid Boutiques descriptor"):
        parse_descriptor(raw, "x.json")
    raw = dict(pipelines.descriptor("relaxometry").raw)
    raw["custom"] = {}
    with pytest.raises(ConfigurationError, match=r"custom\.imagora\.entry-point is missing"):
        parse_descriptor(raw, "x.json")


def test_one_gpu_job_per_device_with_cpu_fallback(tmp_path: Path) -> None:
    two_gpus = lambda: 2  # noqa: E731 - the device count is the seam
    first = acquire_device("auto", tmp_path, two_gpus)
    second = acquire_device("auto", tmp_path, two_gpus)
    third = acquire_device("auto", tmp_path, two_gpus)
    assert (first.device, second.device, third.device) == ("cuda:0", "cuda:1", "cpu")
    with pytest.raises(ValidationError, match=r"no CUDA device became free within 0\.2 s"):
        acquire_device("cuda", tmp_path, two_gpus, wait_s=0.1, max_wait_s=0.2)
    first.release()
    assert acquire_device("cuda", tmp_path, two_gpus).device == "cuda:0"
    assert acquire_device("auto", tmp_path, lambda: 0).device == "cpu"
    assert acquire_device("cpu", tmp_path, two_gpus).device == "cpu"
    fallback = acquire_device("cuda", tmp_path, lambda: 0)
    assert fallback.device == "cpu"
    assert fallback.note.startswith("CUDA was asked for but ")
    assert fallback.note.endswith("; running on the CPU instead")
    assert acquire_device("auto", tmp_path, lambda: 0).note == ""
