"""Preview thumbnails end to end: made by a real DICOM harvest, stored in the data dir,
shown on hits and landing pages, and never served for restricted or embargoed files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from lxml import html
from pydicom.data import get_testdata_file
from web_factories import make_settings

from catalog.domain.identity import SYSTEM
from catalog.domain.records import AccessUpdate
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.web.app import create_app

PNG = b"\x89PNG\r\n\x1a\n"


def write_series(folder: Path) -> None:
    """Three instances of one MR series (pydicom's MR_small.dcm with a bright square)."""
    folder.mkdir(parents=True)
    for index in range(3):
        ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
        image = np.zeros((64, 64), dtype=np.int16)
        image[16:48, 16:48] = 800 + index
        ds.PixelData = image.tobytes()
        ds.InstanceNumber = index + 1
        ds.SOPInstanceUID = f"{ds.SOPInstanceUID}.{index + 1}"
        ds.save_as(folder / f"IM{index}")


@pytest.fixture
def harvested(tmp_path: Path) -> Iterator[tuple[TestClient, Catalog, str]]:
    catalog = Catalog.open(make_settings(tmp_path / "data"))
    write_series(tmp_path / "scans" / "series1")
    report = catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "scans"))
    assert report.failed == 0, report.errors
    hits = catalog.records.search(SYSTEM, SearchRequest(level="acquisition")).hits
    assert len(hits) == 1
    with TestClient(create_app(catalog=catalog), raise_server_exceptions=False) as client:
        yield client, catalog, hits[0].id
    catalog.close()


def test_harvest_stores_a_thumbnail_in_the_data_dir(
    harvested: tuple[TestClient, Catalog, str], tmp_path: Path
) -> None:
    client, _catalog, scan = harvested
    stored = list((tmp_path / "data" / "previews").rglob("*.png"))
    assert [p.name for p in stored] == [f"{scan}.png"]
    response = client.get(f"/records/{scan}/preview.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG) and response.content == stored[0].read_bytes()


def test_thumbnail_is_shown_on_the_hit_and_the_landing_page(
    harvested: tuple[TestClient, Catalog, str],
) -> None:
    client, _catalog, scan = harvested
    src = f"/records/{scan}/preview.png"
    landing = html.fromstring(client.get(f"/records/{scan}").text)
    assert landing.xpath("//figure[@class='preview']/img/@src") == [src]
    flat = html.fromstring(client.get("/search?q=&group=none").text)
    assert flat.xpath("//li[@class='hit']//img/@src") == [src]
    grouped = html.fromstring(client.get("/search?q=").text)  # the dataset card's records
    assert grouped.xpath("//ul[@class='sub-hits']//img/@src") == [src]


@pytest.mark.parametrize(
    ("update", "words"),
    [
        (AccessUpdate(files="restricted"), "its files are restricted"),
        (AccessUpdate(files="embargoed", embargo_until="2999-01-01"), "its files are embargoed"),
    ],
)
def test_no_thumbnail_for_restricted_or_embargoed_files(
    harvested: tuple[TestClient, Catalog, str], update: AccessUpdate, words: str
) -> None:
    client, catalog, scan = harvested
    collection = catalog.records.get(SYSTEM, scan).parents[0].id
    catalog.records.set_access(SYSTEM, collection, update)  # the scan inherits it
    response = client.get(f"/records/{scan}/preview.png")
    assert response.status_code == 404
    assert words in html.fromstring(response.text).text_content()
    landing = html.fromstring(client.get(f"/records/{scan}").text)
    assert not landing.xpath("//figure[@class='preview']")
    for view in ("/search?q=", "/search?q=&group=none"):
        assert not html.fromstring(client.get(view).text).xpath(
            "//ol[contains(@class, 'hits')]//img"
        )


def test_no_thumbnail_of_an_invisible_record(harvested: tuple[TestClient, Catalog, str]) -> None:
    client, catalog, scan = harvested
    catalog.records.set_access(SYSTEM, scan, AccessUpdate(record="restricted"))
    response = client.get(f"/records/{scan}/preview.png")
    assert response.status_code == 404
    assert f"no record with id '{scan}'" in html.fromstring(response.text).text_content()


def test_unchanged_reharvest_keeps_and_a_changed_file_remakes_the_thumbnail(
    harvested: tuple[TestClient, Catalog, str], tmp_path: Path
) -> None:
    _client, catalog, _scan = harvested
    stored = next((tmp_path / "data" / "previews").rglob("*.png"))
    before, first = stored.stat().st_mtime_ns, stored.read_bytes()
    catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "scans"))
    assert stored.stat().st_mtime_ns == before  # unchanged files: not decoded again
    middle = tmp_path / "scans" / "series1" / "IM1"
    ds = pydicom.dcmread(middle)
    image = np.zeros((64, 64), dtype=np.int16)
    image[:, :32] = 900  # the left half bright instead of a centred square
    ds.PixelData = image.tobytes()
    ds.save_as(middle)
    catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "scans"))
    assert stored.read_bytes() not in (b"", first)
    ds.PixelData = np.full((64, 64), 5, dtype=np.int16).tobytes()  # now blank
    ds.save_as(middle)
    catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "scans"))
    assert not stored.exists()
