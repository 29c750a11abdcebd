"""Incremental DICOM harvests through HarvestService: the worker-pool path writes the same
catalogue as the single-process one; a changed file is read again; a file touched with
the same content is re-stamped, never re-read nor rewritten; the `workers` option is
tuning, not mapping."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from sqlalchemy import select, text

from catalog.domain.errors import ValidationError
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.store.models import HarvestItemRow
from harvesters.dicom.harvester import DicomHarvester, DicomOptions
from harvesters.registry import harvesters

SECRET = "incremental-test-secret"


class EagerPoolHarvester(DicomHarvester):
    """The DICOM harvester with the pool used for any batch (the default waits for 256
    changed files), so a small corpus takes the worker-process path."""

    pool_min_items = 0


@pytest.fixture
def pooled() -> Iterator[None]:
    harvesters.register("dicom", EagerPoolHarvester)
    try:
        yield
    finally:
        harvesters.register("dicom", DicomHarvester)


def _testdata(name: str) -> Path:
    return Path(get_testdata_file(name, download=False))  # type: ignore[arg-type]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "dicom"
    source = _testdata("DICOMDIR").parent
    for patient in ("77654033", "98892001"):
        shutil.copytree(source / patient, root / patient)
    (root / "extra").mkdir()
    for name in ("MR_small.dcm", "CT_small.dcm"):
        shutil.copy(_testdata(name), root / "extra" / name)
    whole = _testdata("MR_small.dcm").read_bytes()
    (root / "extra" / "truncated.dcm").write_bytes(whole[: len(whole) // 2])
    (root / "extra" / "garbage.dcm").write_bytes(b"not DICOM\n" * 50)
    return root


def _open(data_dir: Path, database_url: str | None = None) -> Catalog:
    extra = {"database_url": database_url} if database_url else {}
    return Catalog.open(Settings.load(data_dir=data_dir, secret_key=SECRET, **extra))


def _hashes(catalog: Catalog, root: Path) -> dict[str, tuple[str, str]]:
    with catalog.uow() as uow:
        found = uow.records.origins_with_prefix(f"dicom:{root.resolve()}#")
    return {origin: (status, digest) for origin, (_id, status, digest) in found.items()}


def _rows(catalog: Catalog, root: Path) -> dict[str, tuple[str, str, Any, str | None]]:
    with catalog.uow() as uow:
        rows = uow.session.execute(
            select(
                HarvestItemRow.key,
                HarvestItemRow.fingerprint,
                HarvestItemRow.checksum,
                HarvestItemRow.facts,
                HarvestItemRow.error,
            ).where(HarvestItemRow.source == f"dicom:{root.resolve()}")
        )
        return {  # the items, not the "@harvester" version row
            key: (fp, checksum, facts, error)
            for key, fp, checksum, facts, error in rows
            if not key.startswith("@")
        }


def _harvest(catalog: Catalog, root: Path, workers: int | None = None):  # type: ignore[no-untyped-def]
    return catalog.harvest.run(SYSTEM, "dicom", str(root), DicomOptions(workers=workers))


def test_pooled_harvest_writes_the_same_catalogue(tree: Path, tmp_path: Path) -> None:
    alone = _open(tmp_path / "alone")
    try:
        single = _harvest(alone, tree, workers=1)
        single_hashes, single_rows = _hashes(alone, tree), _rows(alone, tree)
    finally:
        alone.close()
    harvesters.register("dicom", EagerPoolHarvester)
    pool = _open(tmp_path / "pool")
    try:
        report = _harvest(pool, tree, workers=2)
        assert _hashes(pool, tree) == single_hashes
        assert _rows(pool, tree) == single_rows
    finally:
        pool.close()
        harvesters.register("dicom", DicomHarvester)
    assert report.created == single.created > 5
    assert report.files_read == single.files_read
    assert report.failed == single.failed == 2  # the corrupt files are counted ...
    assert sorted((e.item, e.error) for e in report.errors) == sorted(
        (e.item, e.error) for e in single.errors
    )
    failed = {e.item for e in report.errors}
    assert failed == {"extra/truncated.dcm", "extra/garbage.dcm"}  # ... and named


@pytest.fixture
def catalog(db_url: str, tmp_path: Path) -> Iterator[Catalog]:
    cat = _open(tmp_path / "data", db_url)
    try:
        yield cat
    finally:
        cat.close()


def _rowid(catalog: Catalog, key: str) -> int | None:
    if catalog.engine.dialect.name != "sqlite":
        return None
    with catalog.uow() as uow:
        return uow.session.execute(
            text("SELECT rowid FROM harvest_items WHERE key = :key"), {"key": key}
        ).scalar_one()


def test_changed_file_is_read_again_touched_file_is_not(
    catalog: Catalog, tree: Path, pooled: None
) -> None:
    first = _harvest(catalog, tree, workers=2)
    assert first.files_read == len(_rows(catalog, tree)) - 2
    changed, touched = tree / "extra" / "MR_small.dcm", tree / "extra" / "CT_small.dcm"
    ds = pydicom.dcmread(changed)
    ds.SeriesDescription = "renamed between runs"
    ds.save_as(changed)
    before = _rows(catalog, tree)
    rowid = _rowid(catalog, "extra/CT_small.dcm")
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    again = _harvest(catalog, tree, workers=2)

    assert again.files_read == 1  # only the changed file
    assert again.updated >= 1 and again.created == 0 and again.withdrawn == 0
    after = _rows(catalog, tree)
    assert after["extra/MR_small.dcm"][2] != before["extra/MR_small.dcm"][2]
    assert "renamed between runs" in str(after["extra/MR_small.dcm"][2])
    fingerprint, checksum, facts, error = after["extra/CT_small.dcm"]
    assert fingerprint != before["extra/CT_small.dcm"][0]  # re-stamped ...
    assert (checksum, facts, error) == before["extra/CT_small.dcm"][1:]  # ... facts kept
    if rowid is not None:
        assert _rowid(catalog, "extra/CT_small.dcm") == rowid  # updated in place
    assert {
        k: v for k, v in after.items() if k not in ("extra/MR_small.dcm", "extra/CT_small.dcm")
    } == {k: v for k, v in before.items() if k not in ("extra/MR_small.dcm", "extra/CT_small.dcm")}

    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
    touched_only = _harvest(catalog, tree, workers=2)
    assert touched_only.files_read == 0 and touched_only.updated == 0
    assert touched_only.files_cached == len(after) - 2  # all but the 2 corrupt files
    assert touched_only.unchanged == again.unchanged + again.updated


def test_workers_is_tuning_not_mapping(catalog: Catalog, tree: Path) -> None:
    first = _harvest(catalog, tree, workers=1)
    again = _harvest(catalog, tree, workers=3)
    assert again.files_read == 0 and again.updated == 0 and again.created == 0
    assert again.unchanged == first.created
    with pytest.raises(ValidationError) as refused:
        catalog.harvest.parse_options("dicom", {"workers": 0}, spell=lambda n: f"--{n}")
    assert "invalid --workers for the dicom harvester" in refused.value.message
