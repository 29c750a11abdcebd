"""Issue-level acceptance of the local harvesters, end to end through HarvestService.

Real files (pydicom's bundled DICOM, a generated ParaVision study, a generated BIDS
dataset) go through the same path as `imagora harvest`: incremental state, hierarchy,
withdrawals, error entries, and a catalogue that survives bad input.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from catalog.domain.identity import ANONYMOUS, SYSTEM
from catalog.services.container import Catalog
from catalog.services.records import SearchRequest
from catalog.settings import Settings
from harvesters.base import HarvestOptions
from harvesters.bids.sample import write_sample_dataset
from harvesters.bruker.sample import write_sample_study

PATIENTS = ("77654033", "98892001", "98892003")


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    yield cat
    cat.close()


@pytest.fixture
def dicom_tree(tmp_path: Path) -> Path:
    """The three patient trees of pydicom's dicomdirtests plus MR_small and CT_small."""
    root = tmp_path / "dicom"
    source = Path(get_testdata_file("DICOMDIR", download=False)).parent  # type: ignore[arg-type]
    for patient in PATIENTS:
        shutil.copytree(source / patient, root / patient)
    for name in ("MR_small.dcm", "CT_small.dcm"):
        (root / "extra").mkdir(parents=True, exist_ok=True)
        shutil.copy(get_testdata_file(name, download=False), root / "extra" / name)  # type: ignore[arg-type]
    return root


def _series_uids(root: Path) -> dict[str, list[Path]]:
    series: dict[str, list[Path]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        series.setdefault(str(ds.SeriesInstanceUID), []).append(path)
    return series


def _levels(catalog: Catalog) -> dict[str, int]:
    facets = catalog.records.search(SYSTEM, SearchRequest(size=1)).facets["level"]
    return {f.value: f.count for f in facets}


def test_dicom_hierarchy_incremental_update_and_withdrawal(
    catalog: Catalog, dicom_tree: Path
) -> None:
    series = _series_uids(dicom_tree)
    first = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    assert first.failed == 0, first.errors
    levels = _levels(catalog)
    assert levels["acquisition"] == len(series)
    assert levels["collection"] == 1
    assert levels["subject"] >= 4 and levels["session"] >= 4

    second = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    assert (second.created, second.updated, second.withdrawn) == (0, 0, 0)
    assert second.unchanged == first.created

    # editing one file's series description updates exactly that acquisition
    uid, files = next((u, f) for u, f in series.items() if len(f) == 1)
    ds = pydicom.dcmread(files[0])
    ds.SeriesDescription = "EDITED SERIES"
    ds.save_as(files[0])
    third = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    assert (third.created, third.updated, third.withdrawn) == (0, 1, 0)
    hits = catalog.records.search(ANONYMOUS, SearchRequest(text="edited")).hits
    assert [h.title for h in hits] == ["EDITED SERIES"]

    # deleting a whole series withdraws its acquisition (a tombstone, not a delete)
    other_uid, other_files = next((u, f) for u, f in series.items() if u != uid)
    for path in other_files:
        path.unlink()
    fourth = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    assert fourth.withdrawn >= 1 and fourth.created == 0
    assert _levels(catalog)["acquisition"] == len(series) - 1
    with catalog.uow() as uow:
        rows = uow.records.origins_with_prefix(f"dicom:{dicom_tree.resolve()}#series:{other_uid}")
    assert [status for _, status, _ in rows.values()] == ["withdrawn"]


def test_dicom_facts_reach_the_search_facets(catalog: Catalog, dicom_tree: Path) -> None:
    catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    page = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"modality": ["MR"]}, level="acquisition", size=50)
    )
    assert page.total >= 3
    manufacturers = {f.value for f in page.facets["manufacturer"]}
    assert {"Canon", "Philips"} <= manufacturers  # Toshiba Medical is Canon: one vendor
    record_raw = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"manufacturer": ["Canon"]}, level="acquisition")
    )
    raw = catalog.records.get(ANONYMOUS, record_raw.hits[0].id).source.raw["manufacturer"]
    assert "toshiba" in raw.lower()  # the scanner's own spelling is kept
    mr_small = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"manufacturer": ["Toshiba"]}, level="acquisition")
    )
    record = catalog.records.get(ANONYMOUS, mr_small.hits[0].id)
    assert (record.imaging.tr_ms, record.imaging.te_ms) == (4000.0, 240.0)
    assert record.imaging.matrix[:2] == [64, 64]  # type: ignore[index]


def test_corrupted_corpus_one_error_per_bad_item(
    catalog: Catalog, tmp_path: Path, dicom_tree: Path
) -> None:
    good_series = len(_series_uids(dicom_tree))
    bad = dicom_tree / "bad"
    bad.mkdir()
    mr = Path(get_testdata_file("MR_small.dcm", download=False))  # type: ignore[arg-type]
    (bad / "truncated.dcm").write_bytes(mr.read_bytes()[:700])
    (bad / "empty.dcm").write_bytes(b"")
    (bad / "random.dcm").write_bytes(bytes(range(256)) * 8)
    report = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    assert report.failed == 3
    assert sorted(e.item for e in report.errors) == [
        "bad/empty.dcm",
        "bad/random.dcm",
        "bad/truncated.dcm",
    ]
    assert all(e.error for e in report.errors)
    assert _levels(catalog)["acquisition"] == good_series

    bruker_root = tmp_path / "bruker"
    study = write_sample_study(bruker_root)
    method = study / "2" / "method"
    text = method.read_text(encoding="latin-1")
    method.write_text(text[: len(text) // 2], encoding="latin-1")  # truncated JCAMP
    options = HarvestOptions(species="rat")
    bruker = catalog.harvest.run(SYSTEM, "bruker", str(bruker_root), options)
    assert bruker.failed == 1
    assert "2/method" in bruker.errors[0].item
    assert bruker.created == 6  # collection, subject, session and all 3 scans (from acqp)

    bids_root = write_sample_dataset(tmp_path / "bids")
    sidecar = next(bids_root.rglob("*_bold.json"))
    sidecar.write_text('{"RepetitionTime": 2.0,,}', encoding="utf-8")
    bids = catalog.harvest.run(SYSTEM, "bids", str(bids_root))
    assert bids.failed == 1
    assert bids.errors[0].item.endswith("_bold.json")
    assert "line 1" in bids.errors[0].error
    assert bids.created > 10


def test_bad_input_never_loses_catalogued_records(catalog: Catalog, tmp_path: Path) -> None:
    bids_root = write_sample_dataset(tmp_path / "bids")
    first = catalog.harvest.run(SYSTEM, "bids", str(bids_root))
    before = catalog.records.search(ANONYMOUS, SearchRequest()).total
    description = bids_root / "dataset_description.json"
    description.write_text("{not json", encoding="utf-8")
    again = catalog.harvest.run(SYSTEM, "bids", str(bids_root))
    assert again.failed == 1 and again.withdrawn == 0
    assert catalog.records.search(ANONYMOUS, SearchRequest()).total == before
    assert first.created == before


def test_bruker_species_from_option_and_field_strength(catalog: Catalog, tmp_path: Path) -> None:
    write_sample_study(tmp_path / "pv")
    catalog.harvest.run(SYSTEM, "bruker", str(tmp_path / "pv"), HarvestOptions(species="rat"))
    page = catalog.records.search(ANONYMOUS, SearchRequest(level="acquisition"))
    assert {f.value for f in page.facets["field_strength"]} == {"9.4"}
    assert {f.label for f in page.facets["species"]} == {"Rattus norvegicus"}
    assert catalog.records.search(ANONYMOUS, SearchRequest(text="rodent")).total >= 3


def test_harvest_report_json_shape(catalog: Catalog, tmp_path: Path) -> None:
    report = catalog.harvest.run(SYSTEM, "bids", str(write_sample_dataset(tmp_path / "b")))
    data = json.loads(report.model_dump_json())
    assert {"source", "created", "updated", "unchanged", "failed", "errors"} <= set(data)


def test_dicom_species_option_reaches_subjects_and_facets(
    catalog: Catalog, dicom_tree: Path
) -> None:
    catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree), HarvestOptions(species="human"))
    page = catalog.records.search(ANONYMOUS, SearchRequest(level="acquisition", size=1))
    assert {f.label for f in page.facets["species"]} == {"Homo sapiens"}
    bad = catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree), HarvestOptions(species="yeti"))
    assert [e.item for e in bad.errors] == ["options.species"]
    assert "unknown species 'yeti'" in bad.errors[0].error


def test_records_keep_file_checksums_and_harvester_version(
    catalog: Catalog, dicom_tree: Path
) -> None:
    catalog.harvest.run(SYSTEM, "dicom", str(dicom_tree))
    hit = catalog.records.search(
        ANONYMOUS, SearchRequest(filters={"manufacturer": ["Toshiba"]}, level="acquisition")
    ).hits[0]
    record = catalog.records.get(ANONYMOUS, hit.id)
    entry = record.files[0]
    digest = hashlib.sha256((dicom_tree / entry.path).read_bytes()).hexdigest()
    assert entry.checksum == f"sha256:{digest}"
    assert record.source.checksums[entry.path] == entry.checksum
    assert record.source.harvester_version and record.source.name == dicom_tree.name
    # the server's path is for curators and admins only
    assert record.source.location is None
    assert catalog.records.get(SYSTEM, hit.id).source.location == str(dicom_tree.resolve())


def test_paravision_folder_named_after_the_subject_leaks_nothing(
    catalog: Catalog, tmp_path: Path
) -> None:
    """ParaVision names study folders <date>_<time>_<SUBJECT_id>_..: ids, keys and file
    lists must carry the pseudonym instead."""
    study = write_sample_study(tmp_path / "pv")
    named = study.with_name("20240725_090212_RatA01_1_1")  # the sample's SUBJECT_id
    study.rename(named)
    assert "RatA01" in (named / "subject").read_text(encoding="latin-1")
    report = catalog.harvest.run(
        SYSTEM, "bruker", str(tmp_path / "pv"), HarvestOptions(species="rat")
    )
    assert report.failed == 0 and report.created == 6
    page = catalog.records.search(SYSTEM, SearchRequest(size=50))
    for hit in page.hits:
        dumped = catalog.records.get(SYSTEM, hit.id).model_dump_json()
        assert "RatA01" not in dumped and "rata01" not in dumped.lower()
    acquisitions = catalog.records.search(SYSTEM, SearchRequest(level="acquisition")).hits
    record = catalog.records.get(SYSTEM, acquisitions[0].id)
    assert "_sub-" in record.files[0].path  # the pseudonym took the id's place
    assert record.files[0].checksum and record.files[0].checksum.startswith("sha256:")


def test_dicom_folders_named_after_the_patient_are_pseudonymised(
    catalog: Catalog, tmp_path: Path
) -> None:
    mr = Path(get_testdata_file("MR_small.dcm", download=False))  # type: ignore[arg-type]
    ds = pydicom.dcmread(mr, stop_before_pixels=True)
    name, patient_id = str(ds.PatientName), str(ds.PatientID)
    folder = tmp_path / "export" / name / patient_id
    folder.mkdir(parents=True)
    shutil.copy(mr, folder / "IM0001.dcm")
    report = catalog.harvest.run(SYSTEM, "dicom", str(tmp_path / "export"))
    assert report.failed == 0
    hit = catalog.records.search(SYSTEM, SearchRequest(level="acquisition")).hits[0]
    record = catalog.records.get(SYSTEM, hit.id)
    dumped = record.model_dump_json()
    for part in [*name.split("^"), patient_id]:
        assert part not in dumped
    (entry,) = record.files
    assert entry.path.endswith("/IM0001.dcm") and entry.path.count("sub-") >= 2
    digest = hashlib.sha256((folder / "IM0001.dcm").read_bytes()).hexdigest()
    assert entry.checksum == f"sha256:{digest}"
    assert record.source.checksums == {entry.path: entry.checksum}
