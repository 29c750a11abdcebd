"""The demo's relaxometry phantom (`compute_bridge.sample`): a newcomer's first pipeline
input. Its files read back as the phantom with its echo times, and after `imagora demo`
the relaxometry pipeline, selected by a search, catalogues a T2 map within 1% of the
truth in every tissue."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from click.testing import CliRunner

from catalog.cli.main import cli
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from compute_bridge import phantoms, sample
from compute_bridge.volumes.dicom import load_dicom_series
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


def test_demo_then_relaxometry_on_the_phantom(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
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
        outputs = json.loads(status.output)["outputs"]
        assert len(outputs) == 1
        record = catalog.records.get(SYSTEM, outputs[0])
        assert record.title.startswith("T2 map of MSME relaxometry phantom")
        folder = catalog.compute.jobs_dir / job_id / "output"
        t2_ms = nib.load(folder / record.files[0].path).get_fdata() * 1000.0
    finally:
        catalog.close()
    truth = _truth()
    for label, name, *_ in phantoms.TISSUES:
        inside = truth.labels == label
        error = float(np.median(t2_ms[inside] / truth.t2_ms[inside] - 1.0))
        assert abs(error) < 0.01, (name, error)
