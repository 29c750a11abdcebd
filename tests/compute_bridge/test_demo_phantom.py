"""The demo's relaxometry phantom (`compute_bridge.sample`): a newcomer's first pipeline
input. Its files read back as the phantom with its echo times, and after `imagora demo`
the relaxometry pipeline, selected by a search, catalogues a T2 map within 1% of the
truth in every tissue."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import uvicorn
from click.testing import CliRunner

from catalog.cli.main import cli
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.web.app import create_app
from compute_bridge import phantoms, sample
from compute_bridge.volumes.dicom import load_dicom_series
from tests.browser import CHROMIUM_ARGS
from tests.compute_bridge.conftest import wait_for


def _truth() -> phantoms.Phantom:
    return phantoms.multi_echo(sample.SHAPE, echo_times_ms=sample.ECHO_TIMES_MS, seed=7)


def test_phantom_files_read_back_with_echo_times(tmp_path: Path) -> None:
    folder = sample.write_phantom_series(tmp_path)
    files = sorted(str(p) for p in folder.glob("*.dcm"))
    assert len(files) == 16
    volume = load_dicom_series(files)
    assert volume.data.shape == (*sample.SHAPE, 8)
    assert list(volume.samples.echo_times_ms) == sample.ECHO_TIMES_MS
    assert np.allclose(volume.data, _truth().images, atol=sample.SLOPE)


def test_phantom_files_are_the_same_every_time(tmp_path: Path) -> None:
    a = sample.write_phantom_series(tmp_path / "a")
    b = sample.write_phantom_series(tmp_path / "b")
    assert [p.read_bytes() for p in sorted(a.iterdir())] == [
        p.read_bytes() for p in sorted(b.iterdir())
    ]


@dataclass(frozen=True)
class PhantomJob:
    data_dir: Path
    job_id: str
    input_id: str
    output_id: str
    t2_ms: np.ndarray


@pytest.fixture(scope="module")
def phantom_job(tmp_path_factory: pytest.TempPathFactory) -> PhantomJob:
    """`imagora demo`, then the relaxometry pipeline on the phantom chosen by a search."""
    data_dir = tmp_path_factory.mktemp("phantom") / "data"
    runner = CliRunner()
    assert runner.invoke(cli, ["--data-dir", str(data_dir), "demo"]).exit_code == 0
    select = ["--query", "phantom", "--level", "acquisition"]
    run = runner.invoke(
        cli, ["--data-dir", str(data_dir), "compute", "run", "relaxometry", *select]
    )
    assert run.exit_code == 0, run.output
    job_id = run.output.strip().splitlines()[-1]
    catalog = Catalog.open(Settings.load(data_dir=data_dir))
    try:
        job = wait_for(catalog, SYSTEM, job_id)
        assert job.state.value == "succeeded", job
        status = runner.invoke(
            cli, ["--data-dir", str(data_dir), "compute", "status", job_id, "--json"]
        )
        payload = json.loads(status.output)
        (output_id,) = payload["outputs"]
        record = catalog.records.get(SYSTEM, output_id)
        assert record.title.startswith("T2 map of MSME relaxometry phantom")
        folder = catalog.compute.jobs_dir / job_id / "output"
        t2_ms = nib.load(folder / record.files[0].path).get_fdata() * 1000.0
        (input_id,) = payload["inputs"]
    finally:
        catalog.close()
    return PhantomJob(data_dir, job_id, input_id, output_id, t2_ms)


def test_demo_then_relaxometry_on_the_phantom(phantom_job: PhantomJob) -> None:
    truth = _truth()
    for label, name, *_ in phantoms.TISSUES:
        inside = truth.labels == label
        error = float(np.median(phantom_job.t2_ms[inside] / truth.t2_ms[inside] - 1.0))
        assert abs(error) < 0.01, (name, error)


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_derived_record_and_its_input_fit_the_screen(
    phantom_job: PhantomJob, chromium_path: str, width: int
) -> None:
    """The derived record's page (files with long names and checksums, the provenance
    graph, the re-run command) and the input's page never scroll sideways."""
    sync_api = pytest.importorskip("playwright.sync_api")
    catalog = Catalog.open(Settings.load(data_dir=phantom_job.data_dir))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(catalog=catalog), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the test server stopped"
            time.sleep(0.05)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": width, "height": 900})
            for record_id in (phantom_job.output_id, phantom_job.input_id):
                response = page.goto(f"http://127.0.0.1:{port}/records/{record_id}")
                assert response is not None and response.status == 200
                assert page.evaluate("document.documentElement.scrollWidth") <= width, record_id
                if record_id == phantom_job.output_id:
                    assert page.locator("svg.prov-graph").count() == 1
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
        catalog.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_derived_record_names_its_input_by_title(phantom_job: PhantomJob) -> None:
    """The Related panel links the input by its title, not its bare id."""
    from fastapi.testclient import TestClient

    catalog = Catalog.open(Settings.load(data_dir=phantom_job.data_dir))
    try:
        with TestClient(create_app(catalog=catalog)) as client:
            page = client.get(f"/records/{phantom_job.output_id}")
        assert page.status_code == 200
        title = "MSME relaxometry phantom (multi-echo T2)"
        link = f'<a href="/records/{phantom_job.input_id}">{title}</a>'
        assert link in page.text
    finally:
        catalog.close()
