"""The command line as researchers and curators use it: a source of the wrong kind is
refused before anything is written, collection metadata given on the command line
sticks, `show` reads like a summary, `harvest --help` teaches the types, and library
warnings go to the log file instead of the terminal."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pydicom
import pytest
from cli_support import Invoke
from pydicom.data import get_testdata_file

from catalog.domain.enums import Level
from catalog.domain.records import RecordCreate, SourceInfo
from harvesters.base import FileFacts, HarvestedRecord, Harvester, ItemError
from harvesters.bids.sample import write_sample_dataset
from harvesters.bruker.sample import write_sample_study
from harvesters.registry import harvesters


@pytest.fixture
def dicom_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pacs" / "series1"
    folder.mkdir(parents=True)
    shutil.copy(get_testdata_file("MR_small.dcm"), folder / "IM0001")
    return tmp_path / "pacs"


def json_of(invoke: Invoke, *args: str) -> dict:
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def show_json(invoke: Invoke, record_id: str) -> dict:
    result = invoke("show", record_id, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def nothing_catalogued(invoke: Invoke) -> bool:
    return json_of(invoke, "search", "", "--all", "--json")["total"] == 0


def test_a_dicom_folder_given_to_bids_is_refused(
    invoke: Invoke, dicom_dir: Path, data_dir: Path
) -> None:
    result = invoke("harvest", "bids", str(dicom_dir))
    assert result.exit_code == 2
    assert f"{dicom_dir} is not a BIDS dataset" in result.stderr
    assert "found DICOM files (e.g. series1/IM0001)" in result.stderr
    assert f"Use `imagora harvest dicom {dicom_dir}` instead" in result.stderr
    assert "Traceback" not in result.stderr
    assert nothing_catalogued(invoke)


def test_a_bids_dataset_given_to_bruker_or_dicom_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    dataset = write_sample_dataset(tmp_path / "ds")
    for kind, expected in (("bruker", "Bruker ParaVision data"), ("dicom", "DICOM files")):
        result = invoke("harvest", kind, str(dataset))
        assert result.exit_code == 2, result.stdout
        assert f"{dataset} is not {expected}" in result.stderr
        assert "found a BIDS dataset" in result.stderr
    assert nothing_catalogued(invoke)


def test_a_bruker_study_given_to_dicom_names_what_it_found(invoke: Invoke, tmp_path: Path) -> None:
    study = write_sample_study(tmp_path / "pv")
    result = invoke("harvest", "dicom", str(tmp_path / "pv"))
    assert result.exit_code == 2
    assert "found Bruker ParaVision data (acqp / method / subject files)" in result.stderr
    assert f"e.g. {study.name}/" in result.stderr
    assert nothing_catalogued(invoke)


def test_the_right_kind_is_harvested(invoke: Invoke, dicom_dir: Path) -> None:
    report = json_of(invoke, "harvest", "dicom", str(dicom_dir), "--json")
    assert report["created"] >= 2 and report["failed"] == 0


def _collection(invoke: Invoke) -> dict:
    found = json_of(invoke, "search", "", "--level", "collection", "--json")
    assert found["total"] == 1
    return show_json(invoke, found["hits"][0]["id"])


def test_title_description_and_license_stick_across_reharvests(
    invoke: Invoke, dicom_dir: Path
) -> None:
    first = json_of(
        invoke,
        "harvest", "dicom", str(dicom_dir), "--json",
        "--title", "Knee MRI pilot",
        "--description", "Pilot scans for the knee protocol.",
        "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert first["failed"] == 0
    collection = _collection(invoke)
    assert (collection["title"], collection["license"]) == ("Knee MRI pilot", "CC-BY-4.0")
    assert collection["description"] == "Pilot scans for the knee protocol."
    again = json_of(invoke, "harvest", "dicom", str(dicom_dir), "--json")
    assert again["updated"] == 0 and again["unchanged"] == first["created"]
    assert _collection(invoke)["title"] == "Knee MRI pilot"
    assert _collection(invoke)["license"] == "CC-BY-4.0"
    renamed = json_of(invoke, "harvest", "dicom", str(dicom_dir), "--json", "--title", "Knee")
    assert renamed["updated"] == 1
    after = _collection(invoke)
    assert after["title"] == "Knee" and after["license"] == "CC-BY-4.0"


def test_show_prints_a_readable_summary_by_default(invoke: Invoke, dicom_dir: Path) -> None:
    json_of(invoke, "harvest", "dicom", str(dicom_dir), "--json", "--license", "CC0-1.0")
    collection = _collection(invoke)["id"]
    text = invoke("show", collection)
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1].split() == ["Id:", collection]
    assert "Level:           collection" in lines
    assert "Licence:         CC0-1.0" in lines
    contains = next(line for line in lines if line.startswith("Contains:"))
    assert contains.split(":", 1)[1].split() == [
        "1", "subjects,", "1", "sessions,", "1", "acquisitions,", "1", "files",
    ]  # fmt: skip
    assert any(line.startswith("Modalities:") and "MR (1)" in line for line in lines)
    assert any(line.startswith("Cite as:") for line in lines)
    assert not text.stdout.lstrip().startswith("{")
    scan = json_of(invoke, "search", "", "--level", "acquisition", "--json")["hits"][0]["id"]
    scan_lines = invoke("show", scan).stdout.splitlines()
    assert "Modality:        MR" in scan_lines
    assert show_json(invoke, scan)["id"] == scan


def test_harvest_help_lists_the_types_with_examples(invoke: Invoke) -> None:
    result = invoke("harvest", "--help")
    assert result.exit_code == 0
    types = result.stdout.split("Types:", 1)[1]
    for kind in ("bids", "bruker", "dicom"):
        assert f"\n  {kind} " in types
        assert f"imagora harvest {kind} " in " ".join(types.split())
    assert "--title" in result.stdout and "--license" in result.stdout


class NoisyHarvester(Harvester):
    """A double of a library that warns while reading (as pydicom does about odd files)."""

    name: ClassVar[str] = "noisy"

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        yield from sorted(location.glob("*.txt"))

    def read(self, path: Path) -> list[FileFacts]:
        warnings.warn(f"odd value in {path.name}", UserWarning, stacklevel=1)
        return [FileFacts(path=path.name, kind="line", data={})]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        record = RecordCreate(level=Level.collection, title="noisy", source=SourceInfo(type="x"))
        yield HarvestedRecord("all", record)


@pytest.fixture
def noisy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harvesters, "_targets", dict(harvesters._targets))
    monkeypatch.setattr(harvesters, "_loaded", dict(harvesters._loaded))
    harvesters.register("noisy", NoisyHarvester)


def test_library_warnings_go_to_the_log_not_the_terminal(
    invoke: Invoke, tmp_path: Path, data_dir: Path, noisy: None
) -> None:
    source = tmp_path / "txt"
    source.mkdir()
    (source / "a.txt").write_text("a")
    result = invoke("harvest", "noisy", str(source))
    assert result.exit_code == 0, result.stderr
    assert "odd value" not in result.stderr + result.stdout
    log = (data_dir / "logs" / "imagora.log").read_text()
    assert "UserWarning: odd value in a.txt" in log


def test_pydicom_warnings_about_pixel_data_go_to_the_log(
    invoke: Invoke, tmp_path: Path, data_dir: Path
) -> None:
    folder = tmp_path / "padded"
    folder.mkdir()
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.PixelData = np.zeros((64, 64), dtype=np.int16).tobytes() + b"\0" * 512
    ds.save_as(folder / "IM0001")
    result = invoke("harvest", "dicom", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "padding" not in result.stderr + result.stdout
    assert "excess padding" in (data_dir / "logs" / "imagora.log").read_text()
