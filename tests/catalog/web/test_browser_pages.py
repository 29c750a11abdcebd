"""Landing pages, thumbnails, home page charts and the API docs in headless Chromium, at a
phone's 390 px and a laptop's 1280 px: nothing overflows sideways, the export menu opens,
thumbnails decode, and /docs runs with every request answered by Imagora itself.
With IMAGORA_SCREENSHOTS=1 the screenshots are written to docs/screenshots/."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from pydicom.data import get_testdata_file
from web_factories import make_settings, populate_showcase

from catalog.domain.identity import SYSTEM
from catalog.domain.records import Imaging, RecordCreate
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.web.app import create_app
from harvesters.bids.sample import write_sample_dataset
from tests.browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "docs" / "screenshots"
WIDTHS = (390, 1280)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _harvest_samples(catalog: Catalog, root: Path) -> dict[str, str]:
    """A BIDS dataset (for the summary grid) and a CT series (for thumbnails)."""
    catalog.harvest.run(SYSTEM, "bids", str(write_sample_dataset(root / "bids")))
    ct = root / "ct" / "series"
    ct.mkdir(parents=True)
    shutil.copy(get_testdata_file("CT_small.dcm"), ct / "CT0001")
    catalog.harvest.run(SYSTEM, "dicom", str(root / "ct"))
    found = {}
    for hit in catalog.records.search(SYSTEM, SearchRequest(level="collection", size=50)).hits:
        if hit.title.startswith("Imagora sample: multimodal"):
            found["bids"] = hit.id
    for hit in catalog.records.search(SYSTEM, SearchRequest(text="CT", level="acquisition")).hits:
        if catalog.previews.store.has(hit.id):
            found["ct"] = hit.id
    assert set(found) == {"bids", "ct"}, found
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    root = tmp_path_factory.mktemp("pages")
    catalog = Catalog.open(make_settings(root / "data").model_copy(update={"base_url": base}))
    populate_showcase(catalog)
    for year in (2021, 2023, 2023):  # dated scans for the "acquired per year" chart
        catalog.records.create(
            SYSTEM,
            RecordCreate(
                level="acquisition",
                title=f"Dated scan {year}",
                imaging=Imaging(modality="MR", acquisition_date=date(year, 6, 1)),
            ),
        )
    ids = _harvest_samples(catalog, root)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(catalog=catalog), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 20 s")
        time.sleep(0.05)
    yield base, ids
    server.should_exit = True
    thread.join(10)
    catalog.close()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, width: int, base: str, outside: list[str]):  # type: ignore[no-untyped-def]
    """A page that records (and refuses) every request to anywhere but the test server."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()

    def route(request_route, request) -> None:  # type: ignore[no-untyped-def]
        if request.url.startswith(base):
            request_route.continue_()
        else:
            outside.append(request.url)
            request_route.abort()

    page.route("**/*", route)
    return context, page


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("IMAGORA_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def _fits(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_collection_page_fits_and_its_export_menu_opens(browser, site, width: int) -> None:  # type: ignore[no-untyped-def]
    base, ids = site
    outside: list[str] = []
    context, page = _page(browser, width, base, outside)
    page.goto(f"{base}/records/{ids['bids']}")
    _fits(page, width)
    grid = page.locator("table.grid")
    assert grid.is_visible()
    assert grid.locator("tbody tr").count() == 3  # three subjects, one session each
    stats = [" ".join(t.split()) for t in page.locator("ul.stats li").all_text_contents()]
    assert stats[:3] == ["3 subjects", "3 sessions", "12 acquisitions"]
    menu = page.locator("details.export-menu")
    assert not menu.locator("a").first.is_visible()
    menu.locator("summary").click()
    labels = menu.locator("a").all_text_contents()
    assert labels == ["BibTeX", "CSL-JSON", "DataCite XML", "RIS"]
    assert menu.locator("a").first.is_visible()
    _fits(page, width)  # the open menu does not push the page sideways either
    assert outside == []
    _shot(page, f"collection-{width}.png")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_thumbnails_decode_on_the_landing_page_and_hits(browser, site, width: int) -> None:  # type: ignore[no-untyped-def]
    base, ids = site
    context, page = _page(browser, width, base, [])
    page.goto(f"{base}/records/{ids['ct']}")
    image = page.locator("figure.preview img")
    image.wait_for(state="visible")
    page.wait_for_function("document.querySelector('figure.preview img').complete")
    assert page.evaluate("document.querySelector('figure.preview img').naturalWidth") == 256
    _fits(page, width)
    page.goto(f"{base}/search?q=CT&group=none")
    thumb = page.locator(f"li.hit img[src='/records/{ids['ct']}/preview.png']")
    assert thumb.count() == 1
    _fits(page, width)
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_home_page_charts_fit(browser, site, width: int) -> None:  # type: ignore[no-untyped-def]
    base, _ids = site
    outside: list[str] = []
    context, page = _page(browser, width, base, outside)
    page.goto(f"{base}/")
    charts = page.locator("section.glance figure")
    assert charts.count() == 4  # modalities, field strengths, species, per year
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
    _fits(page, width)
    assert page.title() == "Search \u2013 Imagora"
    assert outside == []
    if width == max(WIDTHS):  # the phone view is the search page's, already pictured
        _shot(page, "home.png")
    page.locator("#chart-modality a").first.click()
    page.wait_for_url("**/search?modality=*")
    assert page.title().startswith("Modality: ")
    context.close()


def test_api_docs_render_without_leaving_the_server(browser, site) -> None:  # type: ignore[no-untyped-def]
    base, _ids = site
    outside: list[str] = []
    context, page = _page(browser, 1280, base, outside)
    page.goto(f"{base}/docs")
    page.locator(".swagger-ui .info .title").wait_for(state="visible")
    assert "Imagora" in (page.text_content(".swagger-ui .info .title") or "")
    page.locator(".opblock-summary-path[data-path='/api/records/{record_id}/summary']").wait_for()
    assert outside == []
    context.close()
