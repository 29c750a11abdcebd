"""The CKAN harvester against a second Imagora's own CKAN Action API, served by uvicorn
on loopback: packages, organisations, resources, incremental runs, withdrawals."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from catalog.domain.errors import SourceUnusableError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import (
    Creator,
    FileEntry,
    Imaging,
    RecordCreate,
    RecordUpdate,
    SourceInfo,
)
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings
from catalog.web.app import create_app


class Portal:
    """A second Imagora installation serving its CKAN API on 127.0.0.1."""

    def __init__(self, data_dir: Path) -> None:
        self.catalog = Catalog.open(Settings.load(data_dir=data_dir, secret_key="portal"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(catalog=self.catalog), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.ids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Portal:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            threading.Event().wait(0.05)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.catalog.close()


def deposit(catalog: Catalog, title: str, keywords: tuple[str, ...] = ("atlas",)) -> str:
    data = RecordCreate(
        level="collection",
        title=title,
        description=f"{title}: a deposited study",
        license="CC-BY-4.0",
        creators=[Creator(name="Curie, Marie")],
        keywords=list(keywords),
        imaging=Imaging(modality="MR", field_strength_t=9.4, sequence="RARE"),
        files=[
            FileEntry(
                path="https://data.example.org/brain.nii.gz",
                size=1234,
                checksum="sha256:" + "a" * 64,
            )
        ],
        source=SourceInfo(type="deposit"),
    )
    return catalog.records.create(SYSTEM, data).id


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with Portal(tmp_path / "portal") as running:
        running.ids = {
            "rat": deposit(running.catalog, "Rat stroke MRI", ("stroke", "rat")),
            "mouse": deposit(running.catalog, "Mouse DTI atlas"),
        }
        yield running


def harvest(catalog: Catalog, portal: Portal, **options: Any):  # type: ignore[no-untyped-def]
    opts = catalog.harvest.parse_options("ckan", {"backoff_s": 0.01, **options})
    return catalog.harvest.run(SYSTEM, "ckan", portal.url, opts)


def records(catalog: Catalog) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with catalog.uow() as uow:
        for batch in uow.records.iter_all():
            for r in batch:
                key = (r.origin or "").split("#", 1)[-1]
                found[key] = {"id": r.id, "title": r.title, "status": r.status, "body": r.body,
                              "parent": r.parent_id}  # fmt: skip
    return found


def test_harvest_another_imagora_through_its_ckan_api(catalog: Catalog, portal: Portal) -> None:
    report = harvest(catalog, portal)
    assert (report.created, report.failed) == (3, 0), report.errors  # 2 packages + 1 org
    found = records(catalog)
    org = found["organization:deposit"]
    assert org["title"] == "Deposit harvests"
    rat = next(v for v in found.values() if v["title"] == "Rat stroke MRI")
    body = rat["body"]
    assert rat["parent"] == org["id"]
    assert body["license"] == "CC-BY-4.0" and body["creators"][0]["name"] == "Curie, Marie"
    assert {"stroke", "rat"} <= set(body["keywords"])
    assert body["imaging"]["field_strength_t"] == 9.4 and body["imaging"]["modality"] == "MR"
    files = {f["path"]: f for f in body["files"]}
    nifti = files["https://data.example.org/brain.nii.gz"]
    assert (nifti["size"], nifti["checksum"]) == (1234, "sha256:" + "a" * 64)
    assert nifti["format"] == "NIfTI"
    assert any(f["format"] == "HTML" for f in files.values())  # the landing page resource
    assert body["source"]["type"] == "ckan" and report.requests == 2  # status_show + 1 page
    hits = catalog.records.search(ANONYMOUS, SearchRequest(text="stroke")).hits
    assert [h.title for h in hits] == ["Rat stroke MRI"]


def test_incremental_on_metadata_modified_and_deletions(catalog: Catalog, portal: Portal) -> None:
    harvest(catalog, portal)
    ids = {k: v["id"] for k, v in records(catalog).items()}
    again = harvest(catalog, portal)
    assert (again.created, again.updated, again.files_read, again.unchanged) == (0, 0, 0, 3)
    source = portal.catalog
    source.records.update(SYSTEM, portal.ids["rat"], RecordUpdate(title="Rat stroke MRI (v2)"))
    source.records.withdraw(SYSTEM, portal.ids["mouse"])
    deposit(source, "Macaque fMRI")
    report = harvest(catalog, portal)
    assert (report.created, report.updated, report.withdrawn, report.files_read) == (1, 1, 1, 2)
    now = records(catalog)
    titles = {v["title"]: v["status"] for v in now.values()}
    assert titles["Rat stroke MRI (v2)"] == "active" and titles["Mouse DTI atlas"] == "withdrawn"
    assert all(now[k]["id"] == v for k, v in ids.items())


def test_unreachable_portal(catalog: Catalog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    opts = catalog.harvest.parse_options("ckan", {"retries": 1, "backoff_s": 0.01})
    with pytest.raises(SourceUnusableError) as caught:
        catalog.harvest.run(SYSTEM, "ckan", f"http://127.0.0.1:{port}", opts)
    assert "cannot reach the source after 2 attempts" in caught.value.message


def test_not_a_ckan_site(catalog: Catalog, portal: Portal) -> None:
    opts = catalog.harvest.parse_options("ckan", {"retries": 0})
    with pytest.raises(SourceUnusableError) as caught:
        catalog.harvest.run(SYSTEM, "ckan", portal.url + "/records", opts)
    assert caught.value.message.startswith(f"{portal.url}/records: status_show failed")
