"""`imagora harvest`: options, exit statuses and the JSON report.

A small interface-implementing harvester (`lines`: one record per `.txt` file) keeps these
tests independent of the real formats, which have their own tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from cli_support import Invoke

from catalog.domain.enums import Level
from catalog.domain.records import RecordCreate, SourceInfo
from harvesters.base import FileFacts, HarvestedRecord, Harvester, HarvestOptions, ItemError
from harvesters.registry import harvesters


class LinesOptions(HarvestOptions):
    prefix: str = ""


class LinesHarvester(Harvester):
    """Each `*.txt` file is one acquisition titled by its first line; `BAD` files fail."""

    name: ClassVar[str] = "lines"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[HarvestOptions]] = LinesOptions

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        yield from sorted(location.glob("*.txt"))

    def read(self, path: Path) -> list[FileFacts]:
        text = path.read_text().strip()
        if text.startswith("BAD"):
            raise ValueError("not a lines file")
        return [FileFacts(path=path.name, kind="line", data={"title": text})]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        source = SourceInfo(type="lines")
        title = self.options.collection_title or location.name
        yield HarvestedRecord(
            "all", RecordCreate(level=Level.collection, title=title, source=source)
        )
        prefix = getattr(self.options, "prefix", "")
        for fact in facts:
            record = RecordCreate(
                level=Level.acquisition, title=prefix + fact.data["title"], source=source
            )
            yield HarvestedRecord(f"file:{fact.path}", record, parent_key="all")


@pytest.fixture(autouse=True)
def lines_harvester(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register `lines` for one test only (the registry is restored afterwards)."""
    monkeypatch.setattr(harvesters, "_targets", dict(harvesters._targets))
    monkeypatch.setattr(harvesters, "_loaded", dict(harvesters._loaded))
    harvesters.register("lines", LinesHarvester)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.txt").write_text("Axial T2\n")
    (folder / "b.txt").write_text("Sagittal T1\n")
    (folder / "c.txt").write_text("BAD content\n")
    return folder


def last_json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_json_report_is_the_last_line_and_bad_items_do_not_fail_the_run(
    invoke: Invoke, source: Path
) -> None:
    args = ("harvest", "lines", str(source), "--json", "--collection-title", "Lines")
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    report = last_json_line(result.stdout)
    assert report["source"] == f"lines:{source.resolve()}"
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert report["failed"] == 1
    assert report["errors"] == [{"item": "c.txt", "error": "not a lines file"}]
    again = last_json_line(invoke(*args).stdout)
    assert (again["created"], again["unchanged"], again["failed"]) == (0, 3, 1)


def test_harvested_records_are_searchable(invoke: Invoke, source: Path) -> None:
    invoke("harvest", "lines", str(source), "-o", "prefix=Rat ")
    page = json.loads(invoke("search", "sagittal", "--json").stdout)
    assert [hit["title"] for hit in page["hits"]] == ["Rat Sagittal T1"]


def test_human_report_names_counts_and_errors(invoke: Invoke, source: Path) -> None:
    result = invoke("harvest", "lines", str(source))
    assert result.exit_code == 0
    assert "3 created, 0 updated, 0 unchanged, 0 withdrawn, 1 failed" in result.stdout
    assert "c.txt: not a lines file" in result.stdout


def test_missing_location_exits_2_naming_it(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = invoke("harvest", "lines", str(missing), "--json")
    assert result.exit_code == 2
    assert str(missing) in result.stderr
    assert "no such file or directory" in result.stderr
    assert result.stdout == ""


def test_unknown_type_is_a_usage_error(invoke: Invoke, source: Path) -> None:
    result = invoke("harvest", "nifty", str(source))
    assert result.exit_code == 2
    assert "unknown harvester 'nifty'" in result.stderr
    assert "lines" in result.stderr


def test_options_the_harvester_does_not_take_are_refused(invoke: Invoke, source: Path) -> None:
    result = invoke("harvest", "lines", str(source), "--user", "me", "--project", "P1")
    assert result.exit_code == 2
    assert "the lines harvester does not take --project, --user" in result.stderr
    assert (
        "it takes: --collection-title, --description, --full, --license, --prefix, --species"
        in (result.stderr)
    )
    malformed = invoke("harvest", "lines", str(source), "-o", "prefix")
    assert malformed.exit_code == 2
    assert "--option needs NAME=VALUE" in malformed.stderr


def test_workers_caps_the_dicom_readers_and_is_checked(invoke: Invoke, tmp_path: Path) -> None:
    import shutil

    from pydicom.data import get_testdata_file

    folder = tmp_path / "dicom"
    folder.mkdir()
    for name in ("MR_small.dcm", "CT_small.dcm"):
        shutil.copy(get_testdata_file(name, download=False), folder / name)  # type: ignore[arg-type]
    result = invoke("harvest", "dicom", str(folder), "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    assert last_json_line(result.stdout)["files_read"] == 2
    again = last_json_line(
        invoke("harvest", "dicom", str(folder), "--workers", "4", "--json").stdout
    )
    first = last_json_line(result.stdout)
    assert (again["files_read"], again["updated"], again["created"]) == (0, 0, 0)
    assert again["unchanged"] == first["created"]  # a new --workers rebuilds nothing
    zero = invoke("harvest", "dicom", str(folder), "--workers", "0")
    assert zero.exit_code == 2
    assert "invalid --workers for the dicom harvester" in zero.stderr


def test_workers_is_refused_by_harvesters_without_it(invoke: Invoke, source: Path) -> None:
    result = invoke("harvest", "lines", str(source), "--workers", "2")
    assert result.exit_code == 2
    assert "the lines harvester does not take --workers" in result.stderr
