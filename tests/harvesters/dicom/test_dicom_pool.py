"""Header reading in worker processes (`harvesters/dicom/pool.py`) and the fast discovery
(`discover.items`): both must give exactly what the plain single-process paths give."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dicom_helpers import SECRET, pydicom_file

from catalog.domain.results import ItemState
from catalog.store.database import json_copy, load_json
from harvesters.base import FileFacts, FileHarvester, ItemError, ItemRef
from harvesters.dicom.harvester import DicomHarvester, DicomOptions
from harvesters.dicom.pool import PoolReader, worker_count

PARENT = os.getpid()


class PidHarvester(DicomHarvester):
    """Notes which process read each file (to see the pool really used other ones)."""

    def read(self, path: Path) -> list[FileFacts]:
        facts = super().read(path)
        for fact in facts:
            fact.data["read_by"] = os.getpid()
        return facts


class CrashingHarvester(DicomHarvester):
    """A worker process dies (as if killed) when it meets `crash.dcm`."""

    def read(self, path: Path) -> list[FileFacts]:
        if path.name == "crash.dcm" and os.getpid() != PARENT:
            os._exit(3)
        return super().read(path)


def _corpus(root: Path) -> Path:
    """Real files from pydicom (several layouts and readers) and three broken ones."""
    source = pydicom_file("DICOMDIR").parent
    for patient in ("77654033", "98892001"):
        shutil.copytree(source / patient, root / patient)
    for name in ("MR_small.dcm", "CT_small.dcm", "rtplan.dcm"):
        (root / "extra").mkdir(parents=True, exist_ok=True)
        shutil.copy(pydicom_file(name), root / "extra" / name)
    whole = pydicom_file("MR_small.dcm").read_bytes()
    (root / "broken").mkdir()
    (root / "broken" / "truncated.dcm").write_bytes(whole[: len(whole) // 2])
    (root / "broken" / "garbage.dcm").write_bytes(b"this is not DICOM at all\n" * 20)
    (root / "broken" / "empty.dcm").write_bytes(b"")
    return root


def _jobs(harvester: DicomHarvester, root: Path) -> list[tuple[ItemRef, ItemState | None]]:
    refs = [ref for ref in harvester.discover_items(root) if isinstance(ref, ItemRef)]
    return [(ref, None) for ref in refs]


def _plain(fetched: list) -> list[tuple]:  # type: ignore[type-arg]
    """Comparable rows; facts as the store would hand them back (JSON values)."""
    return [(f.key, f.fingerprint, f.checksum, json_copy(f.facts), f.error) for f in fetched]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _corpus(tmp_path / "corpus")


def test_pool_reads_exactly_what_one_process_reads(corpus: Path) -> None:
    harvester = DicomHarvester(DicomOptions(secret=SECRET))
    jobs = _jobs(harvester, corpus)
    assert len(jobs) > 10
    alone = list(PoolReader(harvester, workers=1).fetch(corpus, jobs))
    pooled = list(PoolReader(harvester, workers=2, min_items=0, chunk=3).fetch(corpus, jobs))
    assert _plain(pooled) == _plain(alone)
    assert [f.key for f in pooled] == [ref.key for ref, _ in jobs]  # input order
    assert all(load_json(f.encoded) == f.facts for f in pooled if f.facts is not None)
    errors = {f.key: f.error for f in pooled if f.error}
    assert set(errors) == {"broken/empty.dcm", "broken/garbage.dcm", "broken/truncated.dcm"}
    assert "empty file (0 bytes)" in errors["broken/empty.dcm"]
    assert "truncated" in errors["broken/truncated.dcm"]
    assert "not a DICOM file" in errors["broken/garbage.dcm"]


def test_the_pool_runs_in_other_processes_and_small_batches_do_not(corpus: Path) -> None:
    harvester = PidHarvester(DicomOptions(secret=SECRET))
    jobs = [job for job in _jobs(harvester, corpus) if "broken" not in job[0].key]
    pooled = list(PoolReader(harvester, workers=2, min_items=0, chunk=2).fetch(corpus, jobs))
    readers = {fact["data"]["read_by"] for f in pooled for fact in f.facts or []}
    assert PARENT not in readers and readers
    small = list(PoolReader(harvester, workers=2, min_items=len(jobs) + 1).fetch(corpus, jobs))
    assert {fact["data"]["read_by"] for f in small for fact in f.facts or []} == {PARENT}


def test_a_worker_that_dies_leaves_the_rest_to_this_process(
    corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copy(pydicom_file("CT_small.dcm"), corpus / "extra" / "crash.dcm")
    harvester = CrashingHarvester(DicomOptions(secret=SECRET))
    jobs = _jobs(harvester, corpus)
    pooled = list(PoolReader(harvester, workers=2, min_items=0, chunk=2).fetch(corpus, jobs))
    alone = list(PoolReader(harvester, workers=1).fetch(corpus, jobs))
    assert _plain(pooled) == _plain(alone)
    assert any(f.key == "extra/crash.dcm" and f.facts for f in pooled)
    assert "a header-reading worker stopped" in caplog.text


def test_worker_count_is_capped_and_never_zero() -> None:
    assert worker_count(1) == 1
    assert 1 <= worker_count() <= (os.cpu_count() or 1)
    assert worker_count(10_000) == worker_count()


def test_discovery_gives_the_generic_keys_and_fingerprints(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    _corpus(root)
    shutil.copy(pydicom_file("MR_small.dcm"), root / "extra" / "IM0001")  # no extension
    (root / "extra" / "notes.txt").write_text("not DICOM")
    (root / "extra" / "README").write_text("a note without an extension")
    os.symlink(root / "extra" / "MR_small.dcm", root / "link-to-file.dcm")
    os.symlink(root, root / "extra" / "loop")
    os.symlink(root / "missing.dcm", root / "broken-link.dcm")
    harvester = DicomHarvester(DicomOptions(secret=SECRET))
    fast = list(harvester.discover_items(root))
    generic = list(FileHarvester.discover_items(harvester, root))
    assert fast == generic
    keys = [ref.key for ref in fast if isinstance(ref, ItemRef)]
    assert "extra/IM0001" in keys and "extra/notes.txt" not in keys
    assert "extra/README" not in keys
    assert [e.error for e in fast if isinstance(e, ItemError)] == [
        e.error for e in generic if isinstance(e, ItemError)
    ]
    assert any("symbolic link loop" in e.error for e in fast if isinstance(e, ItemError))
    single = root / "extra" / "CT_small.dcm"
    assert list(harvester.discover_items(single)) == list(
        FileHarvester.discover_items(harvester, single)
    )
