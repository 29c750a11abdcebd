"""`POST /api/records/{id}/publish` and `GET /api/records/{id}/publications`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS / "exporters" / "publishers"), str(TESTS / "exporters" / "deid")]
from dicom_factory import write_series  # noqa: E402
from loopback import serving  # noqa: E402
from zenodo_server import ZenodoServer  # noqa: E402

from catalog.domain.identity import SYSTEM  # noqa: E402
from catalog.domain.records import Creator, RecordUpdate  # noqa: E402
from catalog.services.container import Catalog  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.web.app import create_app  # noqa: E402


class Env:
    def __init__(self, client: TestClient, catalog: Catalog, zenodo: ZenodoServer, root: str):
        self.client, self.catalog, self.zenodo, self.root = client, catalog, zenodo, root
        self.curator = catalog.tokens.create(SYSTEM, "carol", "curator")
        self.viewer = catalog.tokens.create(SYSTEM, "alice", "viewer")

    def publish(self, token: str | None, record_id: str | None = None, to: str = "zenodo"):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(
            f"/api/records/{record_id or self.root}/publish", json={"to": to}, headers=headers
        )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    write_series(tmp_path / "pacs" / "DOE^JOHN" / "t2", 2)
    with serving(ZenodoServer()) as zenodo:
        settings = Settings.load(
            data_dir=tmp_path / "data", zenodo_url=zenodo.base_url, zenodo_token="zenodo-test-token"
        )
        catalog = Catalog.open(settings)
        catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "pacs"))
        with catalog.uow() as uow:
            [root] = [r for b in uow.records.iter_all() for r in b if r.level == "collection"]
        catalog.records.update(
            SYSTEM,
            root.id,
            RecordUpdate(license="CC0-1.0", creators=[Creator(name="Imaging Platform Team")]),
        )
        with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
            yield Env(client, catalog, zenodo, root.id)  # type: ignore[arg-type]
        catalog.close()


def test_curators_publish_and_the_doi_is_listed(env: Env) -> None:
    response = env.publish(env.curator)
    assert response.status_code == 201, response.text
    body = response.json()
    [dep] = env.zenodo.depositions.values()
    assert body["created"] is True and body["publication"]["doi"] == dep.doi
    assert body["gate"]["dicom_cleaned"] == 2
    again = env.publish(env.curator)
    assert again.status_code == 200 and again.json()["created"] is False
    listed = env.client.get(f"/api/records/{env.root}/publications").json()
    assert [(p["version"], p["doi"], p["state"]) for p in listed] == [(1, dep.doi, "published")]
    assert env.client.get(f"/api/records/{env.root}").json()["published_versions"] == [1]


def test_who_may_publish(env: Env) -> None:
    anonymous = env.publish(None)
    assert anonymous.status_code == 401
    viewer = env.publish(env.viewer)
    assert viewer.status_code == 403
    assert "needs the curator or admin role" in viewer.json()["message"]
    assert env.zenodo.log == []


def test_bad_requests_name_the_problem(env: Env) -> None:
    unknown_target = env.client.post(
        f"/api/records/{env.root}/publish",
        json={"to": "figshare"},
        headers={"Authorization": f"Bearer {env.curator}"},
    )
    assert unknown_target.status_code == 422
    assert unknown_target.json() == {
        "error": "invalid_input",
        "message": "unknown publisher 'figshare'; known publishers: datacite, zenodo",
        "field": "to",
    }
    bad_name = env.client.post(
        f"/api/records/{env.root}/publish",
        json={"to": "Zen odo"},
        headers={"Authorization": f"Bearer {env.curator}"},
    )
    assert bad_name.status_code == 422 and "body.to" in bad_name.json()["message"]
    missing = env.publish(env.curator, record_id="no-such-record")
    assert missing.status_code == 404


def test_restricted_is_409_and_gate_refusal_is_422_with_problems(env: Env, tmp_path) -> None:
    env.catalog.records.update(
        SYSTEM, env.root, RecordUpdate.model_validate({"access": {"record": "restricted"}})
    )
    restricted = env.publish(env.curator)
    assert restricted.status_code == 409
    assert "cannot be published openly" in restricted.json()["message"]
    env.catalog.records.update(
        SYSTEM, env.root, RecordUpdate.model_validate({"access": {"record": "public"}})
    )
    write_series(tmp_path / "pacs" / "DOE^JOHN" / "sc", 1, burned_in="YES")
    env.catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "pacs"))
    refused = env.publish(env.curator)
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "deidentification_refused"
    [problem] = body["problems"]
    assert problem["file"].endswith("0001.dcm") and "burned-in" in problem["reason"]


def test_service_errors_are_502_with_the_field_errors(env: Env) -> None:
    env.zenodo.inject(
        "POST",
        r".*/actions/publish",
        "status",
        status=400,
        body={
            "status": 400,
            "message": "Validation error.",
            "errors": [{"field": "metadata.title", "message": "Field may not be null."}],
        },
    )
    response = env.publish(env.curator)
    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "publish_failed"
    assert body["problems"] == [{"field": "metadata.title", "message": "Field may not be null."}]


def test_files_of_remote_sources_are_refused_clearly(env: Env) -> None:
    from catalog.domain.records import RecordCreate

    remote = env.catalog.records.create(
        SYSTEM,
        RecordCreate.model_validate(
            {
                "level": "collection",
                "title": "XNAT project",
                "license": "CC-BY-4.0",
                "creators": [{"name": "Doe, Jane"}],
                "files": [{"path": "scans/1/DICOM/1.dcm"}],
                "source": {"type": "xnat", "location": "https://xnat.example.org/data/projects/P1"},
            }
        ),
    )
    response = env.publish(env.curator, record_id=remote.id)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "files"
    assert "held by the remote source xnat (https://xnat.example.org" in body["message"]
    assert env.zenodo.log == []
