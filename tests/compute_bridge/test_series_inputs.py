"""Relaxometry on DICOM series and Bruker ParaVision scans: real files written with
pydicom and JCAMP-DX + 2dseq, harvested by the DICOM / Bruker harvesters, run through
the compute service (local executor) or `imagora compute run`, and the maps scored
against the phantom truth. Broken inputs fail the job naming the file and attribute."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from catalog.cli.main import cli
from catalog.domain.compute import JobRequest
from catalog.domain.errors import ValidationError
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from compute_bridge import phantoms
from compute_bridge.base import StagedInput
from compute_bridge.volumes import load_volume
from tests.compute_bridge.conftest import ALICE, wait_for
from tests.compute_bridge.series_files import (
    write_bruker_scan,
    write_dicom_series,
    write_enhanced_vfa,
)

SHAPE = (64, 64, 3)  # as the 1% acceptance of test_fitting.py
ECHOES = [10.0 * (i + 1) for i in range(32)]
STUDY = "20240725_090212_rat07_1_1"


def _acquisitions(catalog: Catalog, source_type: str) -> list[str]:
    with catalog.uow() as uow:
        found = [
            r
            for batch in uow.records.iter_all()
            for r in batch
            if r.level == "acquisition" and r.body["source"]["type"] == source_type
        ]
    return [r.id for r in sorted(found, key=lambda r: r.body["source"]["external_id"])]


def _run(catalog: Catalog, records: list[str], **params: object):  # type: ignore[no-untyped-def]
    job = catalog.compute.submit(
        ALICE, JobRequest(pipeline="relaxometry", records=records, params=params)
    )
    return wait_for(catalog, ALICE, job.id)


def _map_ms(catalog: Catalog, job_id: str, record_id: str) -> np.ndarray:
    record = catalog.records.get(ALICE, record_id)
    folder = catalog.compute.jobs_dir / job_id / "output"
    return nib.load(folder / record.files[0].path).get_fdata() * 1000.0


def _median_errors(estimate_ms: np.ndarray, truth_ms: np.ndarray, labels: np.ndarray):  # type: ignore[no-untyped-def]
    return {
        name: float(np.median(estimate_ms[labels == label] / truth_ms[labels == label] - 1.0))
        for label, name, *_ in phantoms.TISSUES
    }


def _assert_within_one_percent(estimate_ms, truth_ms, labels) -> None:  # type: ignore[no-untyped-def]
    errors = _median_errors(estimate_ms, truth_ms, labels)
    print({k: f"{v:+.2%}" for k, v in errors.items()})
    assert all(abs(e) < 0.01 for e in errors.values()), errors


# ----- DICOM ---------------------------------------------------------------------------
def test_dicom_multi_echo_series_gives_t2_within_one_percent(
    catalog: Catalog, tmp_path: Path
) -> None:
    ph = phantoms.multi_echo(SHAPE, echo_times_ms=ECHOES)
    folder = write_dicom_series(tmp_path / "dicom" / "mese", ph.images, ECHOES, "EchoTime")
    assert catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "dicom")).failed == 0
    [series] = _acquisitions(catalog, "dicom")
    assert len(catalog.records.get(ALICE, series).files) == 50  # of 96: the rest via state
    job = _run(catalog, [series])
    assert job.state == "succeeded", (job.message, job.log_tail)
    [out] = job.outputs
    record = catalog.records.get(ALICE, out)
    assert record.title.startswith("T2 map of MSME T2 map")
    assert ("IsDerivedFrom", series) in {(r.relation, r.identifier) for r in record.related}
    _assert_within_one_percent(_map_ms(catalog, job.id, out), ph.t2_ms, ph.labels)
    doc = json.loads(catalog.compute.provenance(ALICE, out))
    [member] = [v for k, v in doc["entity"].items() if k.startswith(f"rec:{series}/files/")]
    whole = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.iterdir())))
    assert member["imagora:checksum"] == "sha256:" + whole.hexdigest()  # all 96 files


def test_dicom_inversion_recovery_one_series_per_ti(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.inversion_recovery(SHAPE)
    study = "1.2.826.0.1.3680043.8.498.4242"
    for number, ti in enumerate(ph.values, 1):
        write_dicom_series(
            tmp_path / "dicom" / f"ti{number:02d}",
            ph.images[..., number - 1 : number],
            [ti],
            "InversionTime",
            study=study,
            number=number,
            description=f"IR TI={ti:g}",
            te_ms=8.0,
        )
    assert catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "dicom")).failed == 0
    records = _acquisitions(catalog, "dicom")
    assert len(records) == len(ph.values)
    job = _run(catalog, records[::-1])  # stacked by TI, whatever the order given
    assert job.state == "succeeded", (job.message, job.log_tail)
    assert catalog.records.get(ALICE, job.outputs[0]).title.startswith("T1 map of ")
    _assert_within_one_percent(_map_ms(catalog, job.id, job.outputs[0]), ph.t1_ms, ph.labels)


def test_enhanced_dicom_variable_flip_angle_gives_t1(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.variable_flip_angle(SHAPE, tr_ms=15.0)
    write_enhanced_vfa(tmp_path / "dicom" / "vfa.dcm", ph.images, ph.values, tr_ms=15.0)
    assert catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "dicom")).failed == 0
    [series] = _acquisitions(catalog, "dicom")
    job = _run(catalog, [series])  # model and TR from the per-frame functional groups
    assert job.state == "succeeded", (job.message, job.log_tail)
    assert job.params["model"] == "auto" and "tr_ms" not in job.params
    _assert_within_one_percent(_map_ms(catalog, job.id, job.outputs[0]), ph.t1_ms, ph.labels)


def test_dicom_file_without_echo_time_fails_the_job_naming_it(
    catalog: Catalog, tmp_path: Path
) -> None:
    ph = phantoms.multi_echo((16, 16, 2), echo_times_ms=ECHOES[:6])
    folder = write_dicom_series(
        tmp_path / "dicom" / "mese", ph.images, ECHOES[:6], "EchoTime", drop=("EchoTime", 1, 3)
    )
    assert catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "dicom")).failed == 0
    [series] = _acquisitions(catalog, "dicom")
    for params in ({}, {"model": "t2"}):
        job = _run(catalog, [series], **params)
        assert job.state == "failed"
        assert "EchoTime (0018,0081) is missing" in job.message, job.message
        broken = job.message.split(":")[0]
        assert Path(broken).parent == folder and Path(broken).is_file()
        assert job.outputs == []
    assert not (catalog.compute.jobs_dir / job.id / "output").exists()
    with catalog.uow() as uow:
        assert not [r for b in uow.records.iter_all() for r in b if r.level == "derived"]


def test_dicom_series_with_a_missing_slice_is_refused_clearly(tmp_path: Path) -> None:
    ph = phantoms.multi_echo((8, 8, 3), echo_times_ms=ECHOES[:4])
    folder = write_dicom_series(tmp_path / "mese", ph.images, ECHOES[:4], "EchoTime")
    files = sorted(str(p) for p in folder.iterdir())
    item = StagedInput(record_id="r", title="t", path=files[1], format="dicom", files=files[1:])
    with pytest.raises(ValidationError) as caught:
        load_volume(item)
    assert "image(s) at slice position" in caught.value.message
    assert "a file is missing" in caught.value.message


# ----- Bruker --------------------------------------------------------------------------
def test_bruker_msme_scan_gives_t2_within_one_percent(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.multi_echo(SHAPE, echo_times_ms=ECHOES)
    write_bruker_scan(tmp_path / "bruker" / STUDY, 3, ph.images, ECHOES, "echo")
    assert catalog.harvest.run(SYSTEM, "bruker", str(tmp_path / "bruker")).failed == 0
    [scan] = _acquisitions(catalog, "bruker")
    job = _run(catalog, [scan])
    assert job.state == "succeeded", (job.message, job.log_tail)
    _assert_within_one_percent(_map_ms(catalog, job.id, job.outputs[0]), ph.t2_ms, ph.labels)


def test_bruker_inversion_recovery_through_the_cli(tmp_path: Path) -> None:
    ph = phantoms.inversion_recovery(SHAPE)
    write_bruker_scan(
        tmp_path / "bruker" / STUDY,
        4,
        ph.images,
        ph.values,
        "inversion",
        word_type="_32BIT_SGN_INT",
    )
    data = tmp_path / "data"
    runner = CliRunner()

    def imagora(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--data-dir", str(data), *args], catch_exceptions=False)

    assert imagora("harvest", "bruker", str(tmp_path / "bruker")).exit_code == 0
    found = json.loads(
        imagora("search", "RAREVTR", "--level", "acquisition", "--json", "--all").stdout
    )
    [scan] = [h["id"] for h in found["hits"]]
    result = imagora("compute", "run", "relaxometry", "--records", scan, "--wait")
    assert result.exit_code == 0, result.stderr
    job_id = result.stdout.strip()
    status = json.loads(imagora("compute", "status", job_id, "--json").stdout.splitlines()[-1])
    assert status["state"] == "succeeded"
    [out] = status["outputs"]
    shown = json.loads(imagora("show", out, "--format", "json").stdout)
    assert shown["title"].startswith("T1 map of Scan 4")
    t1 = nib.load(data / "compute" / "jobs" / job_id / "output" / shown["files"][0]["path"])
    _assert_within_one_percent(t1.get_fdata() * 1000.0, ph.t1_ms, ph.labels)


def test_bruker_scan_without_echo_times_fails_the_job(catalog: Catalog, tmp_path: Path) -> None:
    ph = phantoms.multi_echo((16, 16, 2), echo_times_ms=ECHOES[:6])
    write_bruker_scan(
        tmp_path / "bruker" / STUDY, 3, ph.images, ECHOES[:6], "echo", echo_times=False
    )
    assert catalog.harvest.run(SYSTEM, "bruker", str(tmp_path / "bruker")).failed == 0
    [scan] = _acquisitions(catalog, "bruker")
    job = _run(catalog, [scan])
    assert job.state == "failed"
    assert "3/pdata/1/visu_pars: none of VisuAcqEchoTime (visu_pars) / EffectiveTE" in job.message
    assert "one per FG_ECHO element" in job.message
    assert job.outputs == []


def test_bruker_scan_without_2dseq_is_refused_at_submission(
    catalog: Catalog, tmp_path: Path
) -> None:
    ph = phantoms.multi_echo((8, 8, 2), echo_times_ms=ECHOES[:4])
    folder = write_bruker_scan(tmp_path / "bruker" / STUDY, 3, ph.images, ECHOES[:4], "echo")
    (folder / "pdata" / "1" / "2dseq").unlink()
    catalog.harvest.run(SYSTEM, "bruker", str(tmp_path / "bruker"))
    [scan] = _acquisitions(catalog, "bruker")
    with pytest.raises(ValidationError) as caught:
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=[scan]))
    assert "has no reconstructed image (pdata/<n>/2dseq next to visu_pars)" in str(
        caught.value.message
    )
    collection = catalog.records.get(ALICE, scan).parents[0].id
    with pytest.raises(ValidationError) as caught:
        catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=[collection]))
    assert "is a collection, not an image series: select its acquisition records" in str(
        caught.value.message
    )


@pytest.mark.parametrize(
    ("word_type", "byte_order"),
    [
        ("_16BIT_SGN_INT", "littleEndian"),
        ("_32BIT_SGN_INT", "bigEndian"),
        ("_32BIT_FLOAT", "bigEndian"),
    ],
)
def test_bruker_word_types_byte_orders_and_slopes(
    tmp_path: Path, word_type: str, byte_order: str
) -> None:
    ph = phantoms.multi_echo((12, 10, 3), echo_times_ms=ECHOES[:5])
    folder = write_bruker_scan(
        tmp_path, 3, ph.images, ECHOES[:5], "echo", word_type=word_type, byte_order=byte_order
    )
    item = StagedInput(
        record_id="r", title="t", path=str(folder / "pdata/1/2dseq"), format="bruker"
    )
    volume = load_volume(item)
    assert volume.data.shape == (12, 10, 3, 5)
    # 16-bit frames keep 1 part in 30000 of each frame's peak
    assert np.abs(volume.data - ph.images).max() <= ph.images.max() / 30000.0
    assert volume.samples.echo_times_ms == ECHOES[:5]
    assert volume.samples.tr_ms == 3000.0


def test_truncated_2dseq_names_the_file_and_the_sizes(tmp_path: Path) -> None:
    ph = phantoms.multi_echo((8, 8, 2), echo_times_ms=ECHOES[:4])
    folder = write_bruker_scan(tmp_path, 3, ph.images, ECHOES[:4], "echo")
    seq = folder / "pdata" / "1" / "2dseq"
    seq.write_bytes(seq.read_bytes()[:-10])
    with pytest.raises(ValidationError) as caught:
        load_volume(StagedInput(record_id="r", title="t", path=str(seq), format="bruker"))
    assert caught.value.message.startswith(f"{seq}: 1014 bytes, but visu_pars describes 8 frame(s)")


def test_one_dicom_series_of_several_inversion_times_is_ordered_by_ti(tmp_path: Path) -> None:
    ph = phantoms.inversion_recovery((10, 8, 2), inversion_times_ms=[900.0, 100.0, 400.0])
    folder = write_dicom_series(tmp_path / "ir", ph.images, ph.values, "InversionTime")
    files = sorted(str(p) for p in folder.iterdir())
    volume = load_volume(
        StagedInput(record_id="r", title="t", path=files[0], format="dicom", files=files)
    )
    assert volume.samples.inversion_times_ms == [100.0, 400.0, 900.0]
    assert volume.samples.axis == "inversion_times_ms"
    order = [1, 2, 0]  # the phantom's volumes in TI order
    assert np.abs(volume.data - ph.images[..., order]).max() <= 0.05
    assert volume.data.shape == (10, 8, 2, 3)
    assert np.allclose(volume.affine[:3, :3], np.diag([-0.5, -0.5, 1.0]))
