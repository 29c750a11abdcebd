"""Incremental harvesting rules, with a small real harvester of `.scan` text files.

Each `.scan` file holds `key=value` lines (title, modality, subject); the harvester builds
collection -> subject -> acquisition. It implements the Harvester interface for real, so
these tests exercise the service's bookkeeping without depending on DICOM or BIDS.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from catalog.domain.errors import SourceUnusableError
from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.domain.records import AccessUpdate, Imaging, RecordCreate, RecordUpdate, Term
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from harvesters.base import FileFacts, HarvestedRecord, Harvester, ItemError
from harvesters.registry import harvesters


class ScanFileHarvester(Harvester):
    name = "scanfile"
    version = "1.0"

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        yield from sorted(location.rglob("*.scan"))

    def read(self, path: Path) -> list[FileFacts]:
        text = path.read_text(encoding="utf-8")
        if text.startswith("BAD"):
            raise ValueError(f"{path.name}: line 1: expected key=value")
        data = dict(line.split("=", 1) for line in text.splitlines() if line)
        return [FileFacts(path=path.name, kind="scan", data=data)]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        yield HarvestedRecord("collection", RecordCreate(level="collection", title=location.name))
        items = sorted(facts, key=lambda f: f.path)
        for subject in sorted({f.data["subject"] for f in items}):
            yield HarvestedRecord(
                f"subject:{subject}", RecordCreate(level="subject", title=subject), "collection"
            )
        for fact in items:
            yield HarvestedRecord(
                f"scan:{fact.path}",
                RecordCreate(
                    level="acquisition",
                    title=fact.data["title"],
                    imaging=Imaging(modality=fact.data.get("modality")),
                    terms=[Term(iri="urn:t:auto", label="auto", scheme="test", rule="auto")],
                ),
                f"subject:{fact.data['subject']}",
            )


@pytest.fixture(autouse=True)
def _registered() -> None:
    harvesters.register("scanfile", ScanFileHarvester)


def _write(root: Path, name: str, title: str, subject: str = "s1", modality: str = "MR") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"title={title}\nsubject={subject}\nmodality={modality}\n", encoding="utf-8")
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    _write(root, "a.scan", "T1 MPRAGE")
    _write(root, "b.scan", "T2 TSE")
    _write(root, "sub2/c.scan", "Resting BOLD", subject="s2")
    return root


def test_first_then_unchanged_harvest(catalog: Catalog, source: Path) -> None:
    first = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert (first.created, first.updated, first.unchanged, first.failed) == (6, 0, 0, 0)
    assert first.files_read == 3
    second = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert (second.created, second.updated, second.unchanged, second.withdrawn) == (0, 0, 6, 0)
    assert second.files_read == 0 and second.files_cached == 3
    page = catalog.records.search(ANONYMOUS, SearchRequest(text="mprage"))
    assert [h.title for h in page.hits] == ["T1 MPRAGE"]


def test_changed_file_updates_exactly_one_record(catalog: Catalog, source: Path) -> None:
    catalog.harvest.run(SYSTEM, "scanfile", str(source))
    _write(source, "b.scan", "T2 TSE axial")
    report = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 5)
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="axial")).total == 1


def test_touched_but_identical_file_is_unchanged(catalog: Catalog, source: Path) -> None:
    catalog.harvest.run(SYSTEM, "scanfile", str(source))
    st = (source / "a.scan").stat()
    os.utime(source / "a.scan", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert (report.updated, report.unchanged, report.files_read) == (0, 6, 0)


def test_deleted_file_withdraws_its_record(catalog: Catalog, source: Path) -> None:
    catalog.harvest.run(SYSTEM, "scanfile", str(source))
    (source / "sub2" / "c.scan").unlink()
    report = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert report.withdrawn == 2  # the scan and its now-empty subject
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="bold")).total == 0
    # the tombstone is still there, and a restored file revives the same record
    with catalog.uow() as uow:
        withdrawn = [
            r for r in uow.records.origins_with_prefix("scanfile:").values() if r[1] == "withdrawn"
        ]
    assert len(withdrawn) == 2
    _write(source, "sub2/c.scan", "Resting BOLD", subject="s2")
    again = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert again.updated == 2 and again.created == 0


def test_bad_file_is_counted_and_never_loses_catalogued_data(
    catalog: Catalog, source: Path
) -> None:
    catalog.harvest.run(SYSTEM, "scanfile", str(source))
    (source / "a.scan").write_text("BAD content", encoding="utf-8")
    _write(source, "new.scan", "Fresh FLAIR")
    report = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert report.failed == 1
    assert report.errors[0].item == "a.scan"
    assert "line 1: expected key=value" in report.errors[0].error
    assert report.created == 1 and report.withdrawn == 0
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="mprage")).total == 1


def test_unusable_location_raises(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(SourceUnusableError, match="no such file or directory"):
        catalog.harvest.run(SYSTEM, "scanfile", str(tmp_path / "missing"))


def test_curator_decisions_survive_reharvest(catalog: Catalog, source: Path) -> None:
    catalog.harvest.run(SYSTEM, "scanfile", str(source))
    hit = catalog.records.search(SYSTEM, SearchRequest(text="mprage")).hits[0]
    catalog.records.update(
        SYSTEM,
        hit.id,
        RecordUpdate(
            terms=[
                Term(iri="urn:t:auto", label="auto", scheme="test", rule="auto", status="rejected"),
                Term(iri="urn:t:manual", label="manual", scheme="test"),
            ]
        ),
    )
    subject = catalog.records.get(SYSTEM, hit.id).parents[-1]
    catalog.records.set_access(SYSTEM, subject.id, AccessUpdate(record="restricted"))
    _write(source, "a.scan", "T1 MPRAGE sagittal")
    report = catalog.harvest.run(SYSTEM, "scanfile", str(source))
    assert report.updated == 1
    record = catalog.records.get(SYSTEM, hit.id)
    assert record.title == "T1 MPRAGE sagittal"
    statuses = {t.iri: t.status for t in record.terms}
    # the curator's decisions stay; the annotator may add its own proposals beside them
    assert statuses["urn:t:auto"] == "rejected"
    assert statuses["urn:t:manual"] == "proposed"
    assert record.access.record == "restricted"  # the curator's restriction stays
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="mprage")).total == 0
