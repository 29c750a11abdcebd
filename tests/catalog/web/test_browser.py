"""Drives headless Chromium against a live server: search, facets, landing page, keyboard,
phone-sized viewport. With IMAGORA_SCREENSHOTS=1 the screenshots are (re)written to
docs/screenshots/, so the committed images show the pages as they are:
`IMAGORA_SCREENSHOTS=1 make test PYTEST_ARGS="-m browser"`."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from web_factories import Ids, make_settings, populate_showcase

from catalog.domain.identity import SYSTEM
from catalog.domain.records import Imaging, RecordCreate
from catalog.services.container import Catalog
from catalog.web.app import create_app
from tests.browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "docs" / "screenshots"


#: Annotated MPRAGE (under T1-weighted) from its series description; its title never says so.
MPRAGE_SCAN = RecordCreate(
    id="human-mprage",
    level="acquisition",
    title="Sagittal 3D structural, 1 mm isotropic",
    license="CC-BY-4.0",
    imaging=Imaging(
        modality="MR",
        manufacturer="Siemens",
        field_strength_t=3.0,
        series_description="t1_mprage_sag_p2_iso",
    ),
)


def _screenshots_wanted() -> bool:
    return os.environ.get("IMAGORA_SCREENSHOTS") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Ids]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path_factory.mktemp("browser") / "data")
    catalog = Catalog.open(settings.model_copy(update={"base_url": base}))
    ids = populate_showcase(catalog)
    catalog.records.create(SYSTEM, MPRAGE_SCAN)
    config = uvicorn.Config(
        create_app(catalog=catalog), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
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


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if _screenshots_wanted():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def test_search_facet_and_landing_page(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    base, ids = live_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/")
    page.fill("#q", "rat")
    page.press("#q", "Enter")
    page.wait_for_url("**/search?q=rat*")
    heading = page.text_content("#results-heading") or ""
    assert heading.startswith("1 dataset") and " records" in heading, heading
    assert "Rat" in (page.locator("li.dataset h2 a").first.text_content() or "")
    _shot(page, "search.png")

    page.click("p.view-switch a:text('all matching records')")
    page.wait_for_url("**group=none*")
    page.click("details:has(summary:text('Modality')) a:has-text('PT')")
    page.wait_for_url("**modality=PT*")
    titles = page.locator("li.hit h2 a").all_text_contents()
    assert "FDG PET dynamic" in titles  # with the datasets that hold it (roll-ups)
    assert "Modality: PT" in (page.text_content(".active-filters") or "")

    page.click(".chip-remove")
    page.wait_for_load_state()
    page.click("li.hit h2 a:text('T2 RARE anatomical')")
    page.wait_for_url(f"**/records/{ids.t2}")
    assert page.text_content("h1#record-title") == "T2 RARE anatomical"
    field = page.locator("table.facts-table tr:has(th:text('Field strength')) td")
    assert field.text_content() == "9.4 T"
    parent = page.locator("nav[aria-label='Hierarchy'] a").last
    assert parent.get_attribute("href") == f"/records/{ids.session}"
    assert "Session 1" in (parent.text_content() or "")
    _shot(page, "record.png")
    parent.click()
    page.wait_for_url(f"**/records/{ids.session}")
    assert "Contains 4 records" in (page.text_content("#children-heading") or "")
    page.close()


def test_keyboard_reaches_skip_link_and_search_box(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    base, _ = live_server
    page = browser.new_page()
    page.goto(f"{base}/search?q=mouse")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    else:
        pytest.fail("Tab never reached the search box")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("End")  # tabbing into a text box selects its text
    page.keyboard.type(" 7 T")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=mouse+7+T*")
    page.close()


def test_phone_viewport_stacks_facets_under_results(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    base, _ = live_server
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/search?q=MRI")
    results = page.locator("section.results").bounding_box()
    facets = page.locator("aside#facets").bounding_box()
    assert results is not None and facets is not None
    assert facets["y"] > results["y"] + results["height"] - 1
    assert facets["width"] > 300  # full width, not a squeezed sidebar
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("a.jump").is_visible()
    _shot(page, "search-mobile.png")
    context.close()


def test_concept_autocomplete_and_explained_hits(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    base, _ = live_server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{base}/search")
    box = page.locator("#q")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    box.click()
    page.keyboard.type("T1")
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    labels = page.locator("#q-suggestions .suggestion-label").all_text_contents()
    assert labels[0] == "T1-weighted", labels
    page.keyboard.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    assert "T1-weighted" in (page.locator(f"#{active}").text_content() or "")
    _shot_viewport(page, "ontology-autocomplete.png")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=T1-weighted*")
    page.goto(page.url + "&group=none")
    recognised = page.text_content("#recognised") or ""
    assert "Searching T1-weighted" in " ".join(recognised.split())
    assert "narrower terms" in recognised and "MPRAGE" in recognised
    hit = page.locator("li.hit:has(h2 a:text('Sagittal 3D structural, 1 mm isotropic'))")
    assert "T1-weighted" not in (hit.locator("h2").text_content() or "")
    why = " ".join((hit.locator("ul.why").text_content() or "").split())
    assert "Matched T1-weighted through MPRAGE" in why
    assert "read from series description \u201ct1_mprage_sag_p2_iso\u201d" in why
    tree = page.locator("details.tree:has(summary:text('Contrast'))")
    assert tree.locator("a.tree-node:has-text('T1-weighted')").count() == 1
    _shot(page, "ontology-search.png")
    page.close()


def _shot_viewport(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if _screenshots_wanted():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name))


def test_did_you_mean_is_visible_under_an_empty_result(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    """The corrections of an empty search show inside the empty-result box, in the flow
    of the page (the autocomplete list's floating style once hid them)."""
    base, _ = live_server
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{base}/search?q=anatomicl")
    first = page.locator("div.empty ul.did-you-mean a").first
    first.wait_for(state="visible")
    assert first.text_content() == "anatomical"
    box = page.locator("div.empty").bounding_box()
    link = first.bounding_box()
    assert box is not None and link is not None
    assert box["y"] <= link["y"] and link["y"] + link["height"] <= box["y"] + box["height"]
    _shot_viewport(page, "search-did-you-mean.png")
    first.click()
    page.wait_for_url("**/search?q=anatomical*")
    page.close()
