"""Hostile files and trees (issue 9), end to end through HarvestService as `imagora harvest`
runs it: each bad item is one error entry, the rest of the run is catalogued, nothing
outside the harvested folder is read, and a file reached twice is listed once."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from catalog.domain.errors import SourceUnusableError
from catalog.domain.identity import SYSTEM
from catalog.domain.results import HarvestReport
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings
from exporters import bibtex, datacite, dcat
from exporters.base import ExportContext
from harvesters.bids.sample import write_sample_dataset

BAD_NAME = b"scan-\xff\xfe.dcm"  # not UTF-8


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    yield cat
    cat.close()


def _dicom(path: Path, name: str = "CT_small.dcm") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(str(get_testdata_file(name)), path)
    return path


def _errors(report: HarvestReport) -> dict[str, str]:
    return {e.item: e.error for e in report.errors}


def _listed_files(catalog: Catalog) -> list[str]:
    with catalog.uow() as uow:
        ids = uow.records.origins_with_prefix("")
        records = [uow.records.get(record_id) for record_id, _, _ in ids.values()]
    return sorted(f["path"] for r in records if r for f in r.body.get("files") or [])


def test_dicom_file_name_not_utf8_is_one_error_entry(catalog: Catalog, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _dicom(tree / "good" / "ct.dcm")
    shutil.copy(tree / "good" / "ct.dcm", os.fsencode(tree / "good") + b"/" + BAD_NAME)
    report = catalog.harvest.run(SYSTEM, "dicom", str(tree))
    assert _errors(report) == {
        f"{tree}/good/scan-\\xff\\xfe.dcm": "the name is not valid UTF-8; rename it to harvest it"
    }
    assert report.created >= 2  # the good file was catalogued
    assert report.files_read == 1


def test_bids_hostile_files_each_one_error_entry(catalog: Catalog, tmp_path: Path) -> None:
    root = write_sample_dataset(tmp_path / "bids")
    participants = root / "participants.tsv"
    participants.write_text(
        participants.read_text() + "sub-99\t" + "x" * 200_000 + "\n", encoding="utf-8"
    )
    sidecar = root / "task-deep_bold.json"
    sidecar.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    shallow_but_deep = root / "task-deeper_bold.json"
    shallow_but_deep.write_text(json.dumps({"a": json.loads("[" * 200 + "]" * 200)}))
    bad_name = os.fsencode(root) + b"/sub-\xff_T1w.json"
    Path(os.fsdecode(bad_name)).write_text("{}")
    report = catalog.harvest.run(SYSTEM, "bids", str(root))
    errors = _errors(report)
    assert errors == {
        "participants.tsv": f"{root}/participants.tsv: line 5: "
        "field larger than field limit (131072)",
        "task-deep_bold.json": f"{sidecar}: JSON nested too deeply to read",
        "task-deeper_bold.json": f"{shallow_but_deep}: JSON nested 200 levels deep; "
        "a sidecar may nest 32",
        f"{root}/sub-\\xff_T1w.json": "the name is not valid UTF-8; rename it to harvest it",
    }
    assert report.created > 5  # everything else was catalogued


def test_zero_byte_nifti_is_an_error_in_the_record(catalog: Catalog, tmp_path: Path) -> None:
    root = write_sample_dataset(tmp_path / "bids")
    image = root / "sub-01" / "ses-01" / "anat" / "sub-01_ses-01_T1w.nii.gz"
    image.write_bytes(b"")
    catalog.harvest.run(SYSTEM, "bids", str(root))
    with catalog.uow() as uow:
        bodies = [
            uow.records.get(record_id).body
            for record_id, _, _ in uow.records.origins_with_prefix("").values()
        ]
    issues = [i for b in bodies for i in (b.get("quality") or {}).get("issues", [])]
    empty = [i for i in issues if i["code"] == "EMPTY_FILE"]
    rel = image.relative_to(root).as_posix()
    expected = {
        "code": "EMPTY_FILE",
        "severity": "error",
        "location": rel,
        "message": f"{rel}: the image file is empty (0 bytes)",
    }
    assert empty == [expected, expected]  # on the acquisition and in the dataset's report


def test_links_out_of_the_tree_are_refused_and_files_listed_once(
    catalog: Catalog, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    _dicom(outside / "secret.dcm", "MR_small.dcm")
    tree = tmp_path / "tree"
    inside = _dicom(tree / "a" / "ct.dcm")
    (tree / "etc").symlink_to(outside, target_is_directory=True)
    (tree / "leak.dcm").symlink_to(outside / "secret.dcm")
    (tree / "again.dcm").symlink_to(inside)  # the same file reached twice
    (tree / "b").symlink_to(tree / "a", target_is_directory=True)  # and a folder twice
    report = catalog.harvest.run(SYSTEM, "dicom", str(tree))
    real = os.path.realpath(tmp_path)
    assert _errors(report) == {
        f"{tree}/etc": f"symbolic link to {real}/outside, outside the harvested folder "
        f"{real}/tree; not followed",
        f"{tree}/leak.dcm": f"symbolic link to {real}/outside/secret.dcm, outside the "
        f"harvested folder {real}/tree; not followed",
    }
    assert report.files_read == 1
    assert [p for p in _listed_files(catalog) if p.endswith(".dcm")] == ["a/ct.dcm"]


def test_special_files_are_not_broken_links(catalog: Catalog, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _dicom(tree / "ct.dcm")
    os.mkfifo(tree / "pipe.dcm")  # reading it would block the run forever
    (tree / "gone.dcm").symlink_to(tmp_path / "missing.dcm")
    report = catalog.harvest.run(SYSTEM, "dicom", str(tree))
    assert _errors(report) == {
        f"{tree}/pipe.dcm": "not a regular file (a FIFO); not read",
        f"{tree}/gone.dcm": "broken symbolic link: its target does not exist",
    }
    with pytest.raises(SourceUnusableError) as info:
        catalog.harvest.run(SYSTEM, "dicom", "/dev/zero")
    assert info.value.message == (
        "/dev/zero: not a regular file or folder (a character device); nothing to harvest"
    )


def test_control_characters_in_harvested_text_are_stripped(
    catalog: Catalog, tmp_path: Path
) -> None:
    root = write_sample_dataset(tmp_path / "bids")
    description = json.loads((root / "dataset_description.json").read_text())
    description["Name"] = "Rat\x00 study\x1b[0m\x07 \x0bone"
    (root / "dataset_description.json").write_text(json.dumps(description))
    catalog.harvest.run(SYSTEM, "bids", str(root))
    found = catalog.records.search(SYSTEM, SearchRequest(level="collection"))
    titles = {hit.title: hit.id for hit in found.hits}  # the raw dataset and a derivative
    assert "Rat study[0m one" in titles, titles
    record = catalog.records.get(SYSTEM, titles["Rat study[0m one"])
    context = ExportContext(base_url="http://127.0.0.1:8000")
    for render in (datacite.to_xml, bibtex.entry, _turtle):
        text = render(record, context)
        text = text.decode() if isinstance(text, bytes) else text
        assert "Rat study[0m one" in text
        assert not any(char in text for char in "\x00\x1b\x07\x0b"), render


def _turtle(record: object, context: ExportContext) -> str:
    return dcat.to_turtle(dcat.record_graph(record, context))  # type: ignore[arg-type]


def test_bidsignore_link_out_of_the_tree_is_not_read(catalog: Catalog, tmp_path: Path) -> None:
    root = write_sample_dataset(tmp_path / "bids")
    outside = tmp_path / "rules"
    outside.write_text("sub-01/\n")
    (root / ".bidsignore").symlink_to(outside)
    report = catalog.harvest.run(SYSTEM, "bids", str(root))
    real = os.path.realpath(tmp_path)
    assert _errors(report)[f"{root}/.bidsignore"] == (
        f"symbolic link to {real}/rules, outside the harvested folder {real}/bids; not followed"
    )
    assert any("sub-01" in path for path in _listed_files(catalog))  # its rules were not used
