"""Recovery (issue 9): a damaged search index is detected, logged and rebuilt from the
store; a second harvest of a source that is being harvested exits 2 with a message."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import Invoke, Seeded
from pydicom.data import get_testdata_file

from catalog.domain.identity import ANONYMOUS
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.services.source_lock import SourceLocks, source_key

DAMAGE = ("meta", "store")


def _damage(data_dir: Path, how: str) -> None:
    index = data_dir / "index"
    if how == "meta":
        (index / "meta.json").write_text("garbage{", encoding="utf-8")
        return
    stores = list(index.glob("*.store"))
    assert stores
    for store in stores:
        data = store.read_bytes()
        store.write_bytes(data[: len(data) // 2])  # truncated


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_index_is_rebuilt_at_start_up(
    how: str,
    seeded: Seeded,
    data_dir: Path,
    open_catalog: Callable[[], Catalog],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _damage(data_dir, how)
    with caplog.at_level(logging.ERROR):
        catalog = open_catalog()
    assert any(
        "is damaged" in r.getMessage() and "rebuilding it from the store" in r.getMessage()
        for r in caplog.records
    )
    found = catalog.records.search(ANONYMOUS, SearchRequest(text="hippocampus"))
    assert {h.id for h in found.hits} == {seeded.collection_id, seeded.scan_id}


@pytest.mark.parametrize("how", DAMAGE)
def test_index_rebuild_command_works_on_a_damaged_index(
    how: str, seeded: Seeded, data_dir: Path, invoke: Invoke
) -> None:
    _damage(data_dir, how)
    result = invoke("index", "rebuild")
    assert result.exit_code == 0, result.output
    assert "indexed 2 records" in result.stdout
    found = invoke("search", "hippocampus", "--json")
    assert json.loads(found.stdout.strip().splitlines()[-1])["total"] == 2


def test_second_harvest_of_a_running_source_exits_2(data_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(str(get_testdata_file("CT_small.dcm")), tree / "ct.dcm")
    # The first harvest: another process holding the source's lock, as a running one does.
    locks = SourceLocks(data_dir / "harvest-locks")
    command = [sys.executable, "-m", "catalog.cli.main", "--data-dir", str(data_dir)]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    with locks.hold(source_key("dicom", str(tree))):
        second = subprocess.run(
            [*command, "harvest", "dicom", str(tree), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert second.returncode == 2, second.stderr
    assert "a harvest of this source is running" in second.stderr
    assert "Traceback" not in second.stderr
    again = subprocess.run(
        [*command, "harvest", "dicom", str(tree), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["created"] >= 1
