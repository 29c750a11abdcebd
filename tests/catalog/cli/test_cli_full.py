"""`imagora harvest TYPE LOCATION --full` and `-o full=true` on a registered source.

A DICOM file rewritten in place with its size and mtime restored keeps its fingerprint,
so an incremental run cannot see the change; a full re-read does. A full re-read of an
unchanged source leaves every record as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest
from cli_support import Invoke
from pydicom.data import get_testdata_file


@pytest.fixture
def dicom_dir(tmp_path: Path) -> Path:
    root = tmp_path / "scans"
    root.mkdir()
    target = root / "mr.dcm"
    shutil.copy(get_testdata_file("MR_small.dcm", download=False), target)  # type: ignore[arg-type]
    ds = pydicom.dcmread(target)
    ds.SeriesDescription = "ALPHA_T2"
    ds.save_as(target)
    return root


def report_of(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def rewrite_keeping_size_and_mtime(path: Path, old: bytes, new: bytes) -> None:
    """What a fingerprint of size and mtime cannot see: same length, mtime put back."""
    assert len(old) == len(new)
    stat = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def series_titles(invoke: Invoke) -> list[str]:
    found = report_of(invoke, "search", "", "--level", "acquisition", "--all", "--json")
    return [hit["title"] for hit in found["hits"]]


def test_full_reads_a_change_that_kept_size_and_mtime(invoke: Invoke, dicom_dir: Path) -> None:
    first = report_of(invoke, "harvest", "dicom", str(dicom_dir), "--json")
    assert (first["created"], first["failed"], first["full"]) == (4, 0, False), first
    ids = report_of(invoke, "search", "", "--all", "--json")["hits"]
    assert any("ALPHA_T2" in t for t in series_titles(invoke))
    rewrite_keeping_size_and_mtime(dicom_dir / "mr.dcm", b"ALPHA_T2", b"OMEGA_T2")

    missed = report_of(invoke, "harvest", "dicom", str(dicom_dir), "--json")
    assert (missed["files_read"], missed["updated"], missed["full"]) == (0, 0, False), missed
    assert any("ALPHA_T2" in t for t in series_titles(invoke))

    full = report_of(invoke, "harvest", "dicom", str(dicom_dir), "--full", "--json")
    assert full["full"] is True
    assert (full["files_read"], full["created"], full["withdrawn"]) == (1, 0, 0), full
    assert full["updated"] >= 1
    titles = series_titles(invoke)
    assert any("OMEGA_T2" in t for t in titles) and not any("ALPHA_T2" in t for t in titles)
    now = report_of(invoke, "search", "", "--all", "--json")["hits"]
    assert sorted(h["id"] for h in now) == sorted(h["id"] for h in ids)  # ids stable


def test_full_re_read_of_an_unchanged_source_changes_nothing(
    invoke: Invoke, dicom_dir: Path
) -> None:
    first = report_of(invoke, "harvest", "dicom", str(dicom_dir), "--json")
    before = {h["id"]: h for h in report_of(invoke, "search", "", "--all", "--json")["hits"]}
    full = report_of(invoke, "harvest", "dicom", str(dicom_dir), "--full", "--json")
    assert full["full"] is True
    # the file was hashed again (its checksum matched): content unchanged, nothing rebuilt
    assert (full["files_read"], full["files_cached"]) == (0, 1), full
    assert (full["created"], full["updated"], full["unchanged"]) == (0, 0, first["created"])
    after = {h["id"]: h for h in report_of(invoke, "search", "", "--all", "--json")["hits"]}
    assert after == before
    text = invoke("harvest", "dicom", str(dicom_dir), "--full").stdout
    assert "(full re-read)" in text and "0 updated" in text


def test_a_source_registered_with_full_re_reads_every_run(invoke: Invoke, dicom_dir: Path) -> None:
    added = invoke("sources", "add", "scanner", "dicom", str(dicom_dir), "-o", "full=true")
    assert added.exit_code == 0, added.stderr
    listed = report_of(invoke, "sources", "list", "--json")
    assert listed[0]["options"] == {"full": True}
    first = report_of(invoke, "sources", "run", "scanner", "--json")[0]["report"]
    assert first["full"] is True and first["created"] == 4
    rewrite_keeping_size_and_mtime(dicom_dir / "mr.dcm", b"ALPHA_T2", b"OMEGA_T2")
    again = report_of(invoke, "sources", "run", "scanner", "--json")[0]["report"]
    assert again["full"] is True and again["files_read"] == 1 and again["updated"] >= 1
    assert any("OMEGA_T2" in t for t in series_titles(invoke))


def test_sources_run_full_re_reads_once(invoke: Invoke, dicom_dir: Path) -> None:
    assert invoke("sources", "add", "scanner", "dicom", str(dicom_dir)).exit_code == 0
    first = report_of(invoke, "sources", "run", "scanner", "--json")[0]["report"]
    assert first["full"] is False and first["created"] == 4
    rewrite_keeping_size_and_mtime(dicom_dir / "mr.dcm", b"ALPHA_T2", b"OMEGA_T2")
    missed = report_of(invoke, "sources", "run", "scanner", "--json")[0]["report"]
    assert (missed["files_read"], missed["updated"]) == (0, 0)
    full = report_of(invoke, "sources", "run", "scanner", "--full", "--json")[0]["report"]
    assert full["full"] is True and full["files_read"] == 1 and full["updated"] >= 1
    assert report_of(invoke, "sources", "list", "--json")[0]["options"] == {}  # once only
    refused = invoke("sources", "run", "--due", "--full")
    assert refused.exit_code == 2 and "give its NAME, not --due" in refused.stderr


def test_full_is_a_flag_not_a_value(invoke: Invoke, dicom_dir: Path) -> None:
    refused = invoke("harvest", "dicom", str(dicom_dir), "-o", "full=maybe")
    assert refused.exit_code == 2
    assert "invalid --full for the dicom harvester" in refused.stderr
