"""Curators' edits over HTTP: both values shown to curators, none of it to the public,
and a re-harvest that keeps the edit."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from privacy_corpus import write_dicom
from pydicom.uid import generate_uid
from web_factories import make_settings

from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.web.app import create_app


def test_curated_title_survives_reharvest_and_only_curators_see_both(tmp_path: Path) -> None:
    root = tmp_path / "site"
    header = {"PatientName": "ANON^A", "PatientID": "A1", "StudyDescription": "Brain"}
    write_dicom(root / "1.dcm", generate_uid(), generate_uid(), 1, "T1 MPRAGE", **header)
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    try:
        catalog.harvest.run(SYSTEM, "dicom", str(root))
        curator = {"Authorization": "Bearer " + catalog.tokens.create(SYSTEM, "cy", "curator")}
        with TestClient(create_app(catalog=catalog)) as client:
            hits = client.get("/api/records", params={"level": "acquisition"}).json()["hits"]
            rid = hits[0]["id"]
            patched = client.patch(
                f"/api/records/{rid}", json={"title": "Redacted"}, headers=curator
            )
            assert patched.status_code == 200
            assert patched.json()["curation"] == {
                "curated": {"title": "Redacted"},
                "harvested": {"title": "T1 MPRAGE"},
            }
            report = catalog.harvest.run(SYSTEM, "dicom", str(root))
            assert (report.updated, report.conflicts) == (0, [])
            public = client.get(f"/api/records/{rid}").json()
            assert public["title"] == "Redacted"
            assert public["curation"] is None
            assert public["source"]["location"] is None
            assert public["source"]["type"] == "dicom" and public["source"]["name"] == "site"
            seen = client.get(f"/api/records/{rid}", headers=curator).json()
            assert seen["source"]["location"] == str(root.resolve())
            assert seen["curation"]["harvested"]["title"] == "T1 MPRAGE"
            page = client.get(f"/records/{rid}", headers=curator).text
            assert "Curated fields" in page and '>"T1 MPRAGE"<' in page
            assert "Curated fields" not in client.get(f"/records/{rid}").text
    finally:
        catalog.close()
