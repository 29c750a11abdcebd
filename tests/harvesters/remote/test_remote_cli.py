"""`imagora harvest xnat ...`, `imagora sources add` with remote types, the kept run
reports (`/api/harvests`, `/harvests`), and a harvest SIGKILLed half-way then re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from loopback import Loopback
from xnat_fake import FakeXnat, bulk

from catalog.cli.main import cli
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.web.app import create_app

ROOT = Path(__file__).resolve().parents[3]


def imagora(data_dir: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)


def _records(data_dir: Path) -> list[tuple[str, str, str, str]]:
    catalog = Catalog.open(Settings.load(data_dir=data_dir))
    try:
        with catalog.uow() as uow:
            return sorted(
                (r.id, r.origin or "", r.status, r.content_hash)
                for batch in uow.records.iter_all()
                for r in batch
            )
    finally:
        catalog.close()


def test_cli_harvest_xnat_json_report(tmp_path: Path, xnat: Loopback) -> None:
    result = imagora(
        tmp_path / "d", "harvest", "xnat", xnat.url, "--user", "admin", "--password", "s3cret!",
        "--project", "NEURO7T", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["source"] == f"xnat:{xnat.url}/data/projects/NEURO7T"
    assert (report["created"], report["failed"], report["files_read"]) == (1 + 2 + 3 + 6, 0, 6)
    assert report["requests"] > 0 and "s3cret!" not in result.output


def test_cli_rejected_credentials_exit_2(tmp_path: Path, xnat: Loopback) -> None:
    result = imagora(
        tmp_path / "d", "harvest", "xnat", xnat.url, "--user", "admin", "--password", "nope-123"
    )
    assert result.exit_code == 2
    assert "rejected the credentials (HTTP 401)" in result.stderr
    assert "nope-123" not in result.output + result.stderr
    assert _records(tmp_path / "d") == []


def test_cli_study_is_not_an_xnat_option(tmp_path: Path, xnat: Loopback) -> None:
    result = imagora(tmp_path / "d", "harvest", "xnat", xnat.url, "--study", "S1")
    assert result.exit_code == 2
    assert "the xnat harvester does not take --study" in result.stderr
    assert "--project" in result.stderr


def test_sources_keep_credentials_out_of_the_catalogue(tmp_path: Path, xnat: Loopback) -> None:
    data = tmp_path / "d"
    refused = imagora(data, "sources", "add", "site", "xnat", xnat.url, "--password", "s3cret!")
    assert refused.exit_code == 1
    assert "does not store --password" in refused.stderr and "secrets_file" in refused.stderr
    secrets = tmp_path / "xnat.toml"
    secrets.write_text('user = "admin"\npassword = "s3cret!"\n')
    added = imagora(
        data, "sources", "add", "site", "xnat", xnat.url, "-o", f"secrets_file={secrets}"
    )
    assert added.exit_code == 0, added.stderr
    ran = imagora(data, "sources", "run", "site", "--json")
    assert ran.exit_code == 0, ran.stderr
    [run] = json.loads(ran.stdout.strip().splitlines()[-1])
    assert run["report"]["created"] == 18
    db = (data / "catalog.db").read_bytes()
    assert b"s3cret!" not in db and str(secrets).encode() in db


def test_runs_are_kept_for_admins(tmp_path: Path, xnat: Loopback) -> None:
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "d"))
    try:
        opts = catalog.harvest.parse_options("xnat", {"user": "admin", "password": "s3cret!"})
        catalog.harvest.run(SYSTEM, "xnat", xnat.url, opts)
        bad = catalog.harvest.parse_options("xnat", {"user": "admin", "password": "wrong!"})
        with pytest.raises(Exception, match="rejected the credentials"):
            catalog.harvest.run(SYSTEM, "xnat", xnat.url, bad)
        admin = catalog.tokens.create(SYSTEM, "root", "admin")
        viewer = catalog.tokens.create(SYSTEM, "alice", "viewer")
        with TestClient(create_app(catalog=catalog)) as client:
            assert client.get("/api/harvests").status_code == 401 or 403
            denied = client.get("/api/harvests", headers={"Authorization": f"Bearer {viewer}"})
            assert denied.status_code == 403
            assert "needs the admin role" in denied.json()["message"]
            auth = {"Authorization": f"Bearer {admin}"}
            body = client.get("/api/harvests", headers=auth).json()
            page = client.get("/harvests", headers=auth)
    finally:
        catalog.close()
    assert body["total"] == 2
    failed, done = body["runs"]
    assert done["source"] == f"xnat:{xnat.url}" and done["report"]["created"] == 18
    assert done["report"]["duration_s"] > 0 and done["report"]["requests"] == 10
    assert failed["report"]["failed"] == 1
    assert "rejected the credentials" in failed["report"]["errors"][0]["error"]
    assert "wrong!" not in json.dumps(body)
    assert page.status_code == 200 and f"xnat:{xnat.url}" in page.text
    assert "rejected the credentials" in page.text


def test_sigkilled_harvest_resumes_to_the_uninterrupted_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kill `imagora harvest` (SIGKILL) while it fetches, after a checkpoint; the re-run
    must produce exactly what an uninterrupted run produces, without refetching."""
    data = bulk(800, scans_per_session=2, sessions_per_subject=4)  # 100 subjects, 400 sessions
    monkeypatch.setenv("IMAGORA_SECRET_KEY", "same-key")  # same pseudonyms in every run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with Loopback(FakeXnat(data)) as server:
        args = ["harvest", "xnat", server.url, "--user", "admin", "--password", "s3cret!"]
        # the 4th experiment listing (discovery, then one per 100 sessions) hangs: by
        # then 101 + 200 items were fetched, and one checkpoint of 256 committed
        hung = server.app.hang("/data/projects/BULK/experiments", 4)
        killed = tmp_path / "killed"
        process = subprocess.Popen(
            [sys.executable, "-m", "catalog.cli.main", "--data-dir", str(killed), *args],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert hung.wait(120), "the harvest never reached the hanging request"
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(30)
        assert process.returncode == -signal.SIGKILL
        assert _records(killed) == []  # records are written at the end only
        server.app.hang_at = None
        resumed = imagora(killed, *args, "--json")
        clean = imagora(tmp_path / "clean", *args, "--json")
    assert resumed.exit_code == 0 and clean.exit_code == 0, resumed.output + clean.output
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report["files_cached"] == 256  # the checkpointed items were not fetched again
    assert report["created"] == 1 + 100 + 400 + 800
    assert _records(killed) == _records(tmp_path / "clean")


def test_credentials_from_the_settings_file(
    tmp_path: Path, xnat: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = xnat.url.rsplit(":", 1)[1]
    creds = tmp_path / "harvest-credentials.toml"
    creds.write_text(f'["127.0.0.1:{port}"]\nuser = "admin"\npassword = "s3cret!"\n')
    monkeypatch.setenv("IMAGORA_HARVEST_CREDENTIALS", str(creds))
    result = imagora(tmp_path / "d", "harvest", "xnat", xnat.url, "--project", "RATPET", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["created"] == 6
    creds.write_text('["elsewhere.example.org"]\nuser = "admin"\npassword = "s3cret!"\n')
    anonymous = imagora(tmp_path / "d", "harvest", "xnat", xnat.url, "--project", "RATPET")
    assert anonymous.exit_code == 2 and "HTTP 401" in anonymous.stderr


def test_cli_harvest_text_report(tmp_path: Path, xnat: Loopback) -> None:
    args = ["harvest", "xnat", xnat.url, "--user", "admin", "--password", "s3cret!"]
    result = imagora(tmp_path / "d", *args, "--project", "RATPET")
    assert result.exit_code == 0, result.stderr
    assert f"xnat:{xnat.url}/data/projects/RATPET: 6 created, 0 updated" in result.stdout
    # project + subject + 2 sessions; login, project, subjects, experiments, 2 scan
    # listings with their resources (MR, PET)
    assert "4 items read, 0 unchanged items skipped, 6 requests" in result.stdout
