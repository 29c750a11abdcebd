"""`imagora demo`: samples written once, harvested, idempotent, Bruker files embargoed."""

from __future__ import annotations

import importlib.util
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_support import Invoke

from catalog.services.container import Catalog
from catalog.services.demo import Sample, run_demo, sample_writer
from catalog.settings import Settings
from harvesters.registry import harvesters

NEEDED = (
    "harvesters.dicom.harvester",
    "harvesters.bids.harvester",
    "harvesters.bids.sample",
    "harvesters.bruker.harvester",
    "harvesters.bruker.sample",
)
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]


def demo_json(invoke: Invoke) -> dict:
    result = invoke("demo", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.skipif(bool(MISSING), reason=f"harvester modules not written yet: {MISSING}")
def test_demo_twice_second_run_all_unchanged(invoke: Invoke, data_dir: Path) -> None:
    first = demo_json(invoke)
    assert first["notes"] == []
    kinds = [report["source"].split(":", 1)[0] for report in first["harvests"]]
    assert kinds == ["dicom", "bids", "bruker", "dicom"]  # the last is the relaxometry phantom
    for report in first["harvests"]:
        assert report["created"] > 0, report
        assert report["failed"] == 0, report["errors"]
    before = mtimes(data_dir / "samples")
    assert any(name.endswith("MR_small.dcm") for name in before)
    assert not any(name.endswith("DICOMDIR") for name in before)

    second = demo_json(invoke)
    for old, new in zip(first["harvests"], second["harvests"], strict=True):
        assert (new["created"], new["updated"], new["withdrawn"], new["failed"]) == (0, 0, 0, 0)
        assert new["unchanged"] == old["created"]
    assert mtimes(data_dir / "samples") == before


@pytest.mark.skipif(bool(MISSING), reason=f"harvester modules not written yet: {MISSING}")
def test_demo_catalogue_is_public_with_an_embargoed_bruker_study(invoke: Invoke) -> None:
    result = invoke("demo")
    assert result.exit_code == 0, result.stderr
    assert "dicom:" in result.stdout and "bruker:" in result.stdout
    page = json.loads(invoke("search", "--level", "collection", "--json").stdout)
    by_source = {hit["source"]: hit for hit in page["hits"] if hit["source"] != "dicom"}
    dicom_titles = {hit["title"] for hit in page["hits"] if hit["source"] == "dicom"}
    assert dicom_titles == {
        "pydicom sample studies",
        "Imagora sample: relaxometry phantom (multi-echo T2, 9.4 T)",
    }
    assert by_source["bruker"]["access"] == "embargoed"
    record = json.loads(invoke("show", by_source["bruker"]["id"], "--format", "json").stdout)
    until = date.fromisoformat(record["access"]["embargo_until"])
    assert until == date.today() + timedelta(days=365)
    assert record["access"]["record"] == "public"
    species = json.loads(invoke("search", "", "--filter", "source=bruker", "--json").stdout)
    assert any("rat" in v["label"].lower() for v in species["facets"]["species"])


def test_unavailable_samples_become_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(dest: Path) -> None:
        raise AssertionError("must not be written: its harvester is missing")

    monkeypatch.setattr(harvesters, "_targets", dict(harvesters._targets))
    harvesters.register("ghost", "imagora_ghost_absent.harvester:GhostHarvester")
    samples = [
        Sample("ghost", "ghost", refuse),
        Sample("nowriter", "bids", sample_writer("imagora_absent_samples", "write_it")),
    ]
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        result = run_demo(catalog, samples=samples)
    finally:
        catalog.close()
    assert result.harvests == []
    ghost, nowriter = result.notes
    assert ghost.startswith("skipped the ghost sample: the harvester 'ghost' is unavailable")
    assert "'imagora_ghost_absent'" in ghost
    assert nowriter.startswith(
        "skipped the nowriter sample: the sample writer imagora_absent_samples.write_it"
    )
    samples_dir = tmp_path / "data" / "samples"
    assert sorted(p.name for p in samples_dir.iterdir()) == []  # no partial folders left
