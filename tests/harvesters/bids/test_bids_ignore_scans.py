""".bidsignore (matcher table, discover, derivatives, bad file) and scans.tsv (dates, columns)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from bids_helpers import DATA, harvest, harvester, image, minimal_dataset, write_json, write_tsv

from catalog.domain.enums import Level
from catalog.domain.identity import SYSTEM
from catalog.services.container import Catalog
from catalog.settings import Settings
from harvesters.bids.ignore import IgnoreRules, is_ignored, parse_rules
from harvesters.bids.normalize import acquisition_date
from harvesters.bids.reader import read_facts

T1W = "file:sub-01/anat/sub-01_T1w"


def issues(records, code: str | None = None) -> list[dict[str, str]]:
    found = records["collection"].record.quality["issues"]
    return [i for i in found if code is None or i["code"] == code]


# -- the matcher -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        ("*_physio.tsv.gz", "sub-01/func/sub-01_physio.tsv.gz", True),  # no slash: any depth
        ("*_physio.tsv.gz", "sub-01/func/sub-01_bold.nii.gz", False),
        ("*.txt", "notes.txt", True),
        ("sub-*/anat/x*", "sub-01/anat/x1", True),  # slash inside: anchored, * in one segment
        ("sub-*/anat/x*", "sub-01/ses-1/anat/x1", False),
        ("sub-*/anat/x*", "deep/sub-01/anat/x1", False),
        ("/extra", "extra/deep/file.nii", True),  # leading slash: anchored at the root
        ("/extra", "sub-01/extra/file.nii", False),
        ("extra", "sub-01/extra/file.nii", True),  # a folder name at any depth
        ("extra/", "extra/a/b.txt", True),  # trailing slash: the folder and its content
        ("extra/", "sub-01/extra", False),  # ... but never a file of that name
        ("extra/", "sub-01/extra/x.json", True),
        ("a/**/b.json", "a/b.json", True),  # /**/ is zero or more folders
        ("a/**/b.json", "a/x/y/b.json", True),
        ("**/qc.json", "sub-01/anat/qc.json", True),
        ("a/**", "a/x/y.nii", True),
        ("a**b", "a/b", False),  # ** inside a segment is an ordinary *
        ("a**b", "axxb", True),
        ("sub-0?_T1w.nii", "sub-01_T1w.nii", True),
        ("sub-0?_T1w.nii", "sub-010_T1w.nii", False),
        ("[!a]b", "cb", True),
        ("[!a]b", "ab", False),
        ("[]x]y", "]y", True),
        ("a[b", "a[b", True),  # an unclosed class is a literal bracket
        ("[z-a]", "z", False),  # an invalid class matches nothing
        ("*.txt\n!keep.txt", "keep.txt", False),  # !pattern re-includes
        ("*.txt\n!keep.txt", "sub-01/other.txt", True),
        ("!keep.txt\n*.txt", "keep.txt", True),  # the last match wins
        ("dir/\n!dir/keep.txt", "dir/keep.txt", True),  # not below an ignored folder
        ("dir/**\n!dir/keep.txt", "dir/keep.txt", False),  # dir/** leaves dir itself alone
        ("# *.txt\n\n   \nx.json", "a.txt", False),  # comments and blank lines skipped
        ("\\#hash.txt", "#hash.txt", True),
        ("notes.txt   ", "notes.txt", True),  # trailing spaces dropped
    ],
)
def test_bidsignore_matcher_table(patterns: str, path: str, ignored: bool) -> None:
    assert is_ignored(patterns, path) is ignored


def test_rules_parse_and_derivative_rules_apply_inside_only_and_win() -> None:
    assert len(parse_rules("# c\n\n*.txt\n!x.txt\n/\n")) == 2
    rules = IgnoreRules(parse_rules("!*_mask.nii.gz\nqc/", "derivatives/seg"))
    rules.add(parse_rules("*_mask.nii.gz"))  # the raw root's rules, added later, apply first
    assert rules.ignores("sub-1/anat/sub-1_mask.nii.gz")
    assert not rules.ignores("derivatives/seg/sub-1/anat/sub-1_mask.nii.gz")
    assert rules.ignores("derivatives/seg/qc/a/report.html")
    assert not rules.ignores("qc/a/report.html")
    assert rules.ignores("derivatives/seg/qc", is_dir=True)


# -- .bidsignore in a harvest --------------------------------------------------------------------


def _ignore_tree(root: Path) -> Path:
    minimal_dataset(root, Authors=["A"])
    image(root / "sub-01/anat/sub-01_T1w.nii.gz")
    image(root / "sub-01/anat/sub-01_T2w.nii.gz")
    image(root / "sub-02/anat/sub-02_T2w.nii.gz")
    (root / "extra/deep").mkdir(parents=True)
    (root / "extra/deep/broken.json").write_text("{not json", encoding="utf-8")
    (root / "extra/deep/run.log").write_text("ok", encoding="utf-8")
    (root / "sub-01/anat/lab_notes.txt").write_text("scanner hiccup", encoding="utf-8")
    return root


def test_bidsignore_files_are_not_read_grouped_or_validated(tmp_path: Path) -> None:
    root = _ignore_tree(tmp_path)
    # Without a .bidsignore the same tree has a failed item and NOT_INCLUDED issues.
    records, errors = harvest(root)
    assert [e.item for e in errors] == [str(root / "extra/deep/broken.json")]
    assert "file:sub-01/anat/sub-01_T2w" in records
    assert {i["location"] for i in issues(records, "NOT_INCLUDED")} == {
        "extra/deep/run.log",
        "sub-01/anat/lab_notes.txt",
    }
    (root / ".bidsignore").write_text(
        "# lab extras\nextra/\n\n*_notes.txt\nsub-*/anat/*_T2w.nii.gz\n"
        "!sub-02/anat/sub-02_T2w.nii.gz\n",
        encoding="utf-8",
    )
    found = list(harvester().discover(root))
    assert all("extra" not in str(p) and "notes" not in str(p) for p in found)
    records, errors = harvest(root)
    assert errors == []
    assert issues(records, "NOT_INCLUDED") == []
    assert "file:sub-01/anat/sub-01_T2w" not in records
    assert "file:sub-02/anat/sub-02_T2w" in records  # re-included by !pattern
    assert records[T1W].record.files[0].path == "sub-01/anat/sub-01_T1w.nii.gz"


def test_ignored_folder_is_not_entered(tmp_path: Path, monkeypatch) -> None:
    root = _ignore_tree(tmp_path)
    (root / ".bidsignore").write_text("/extra/\n", encoding="utf-8")
    import harvesters.walk

    listed: list[str] = []
    real_scandir = harvesters.walk.os.scandir

    def scandir(path):
        listed.append(Path(path).relative_to(root).as_posix())
        return real_scandir(path)

    monkeypatch.setattr("harvesters.walk.os.scandir", scandir)
    list(harvester().discover(root))
    assert "extra" not in listed and "extra/deep" not in listed
    assert "sub-01/anat" in listed


def _derivative(root: Path) -> Path:
    deriv = root / "derivatives" / "seg"
    write_json(
        deriv / "dataset_description.json",
        {"Name": "Segmentations", "BIDSVersion": "1.10.0", "DatasetType": "derivative"},
    )
    image(deriv / "sub-01/anat/sub-01_desc-brain_mask.nii.gz")
    image(deriv / "sub-01/anat/sub-01_label-GM_probseg.nii.gz")
    (deriv / "qc").mkdir()
    (deriv / "qc/summary.json").write_text("[unclosed", encoding="utf-8")
    return deriv


def test_derivative_bidsignore_applies_to_its_own_dataset(tmp_path: Path) -> None:
    root = minimal_dataset(tmp_path)
    image(root / "sub-01/anat/sub-01_T1w.nii.gz")
    deriv = _derivative(root)
    probseg = "file:derivatives/seg/sub-01/anat/sub-01_label-GM_probseg"
    records, errors = harvest(root)
    assert [e.item for e in errors] == [str(deriv / "qc/summary.json")]
    assert probseg in records
    (deriv / ".bidsignore").write_text("qc/\n*_probseg.nii.gz\nsub-01_T1w.nii.gz\n", "utf-8")
    records, errors = harvest(root)
    assert errors == []
    assert probseg not in records
    assert "file:derivatives/seg/sub-01/anat/sub-01_desc-brain_mask" in records
    assert T1W in records  # the derivative's rules never reach the raw dataset


def test_root_bidsignore_can_leave_out_a_whole_derivative(tmp_path: Path) -> None:
    root = minimal_dataset(tmp_path)
    image(root / "sub-01/anat/sub-01_T1w.nii.gz")
    _derivative(root)
    (root / ".bidsignore").write_text("derivatives/seg/\n", encoding="utf-8")
    records, errors = harvest(root)
    assert errors == []
    assert sorted(records) == sorted(["collection", "session:01/_", "subject:01", T1W])


def test_malformed_bidsignore_is_an_item_error_and_ignores_nothing(tmp_path: Path) -> None:
    root = _ignore_tree(tmp_path)
    (root / ".bidsignore").write_bytes(b"extra/\n*_T2w.nii.gz\n\xff\xfe\n")
    deriv = _derivative(root)
    (deriv / ".bidsignore").write_bytes(b"qc/\n\xc3(\n")
    records, errors = harvest(root)
    by_item = {e.item: e.error for e in errors}
    assert by_item[str(root / ".bidsignore")] == (
        "not UTF-8 text (byte 20): invalid start byte; nothing in it is ignored"
    )
    assert by_item[str(deriv / ".bidsignore")].startswith("not UTF-8 text (byte 4)")
    # Nothing from either file applies: the broken JSON files are read (and fail) as before.
    assert str(root / "extra/deep/broken.json") in by_item
    assert str(deriv / "qc/summary.json") in by_item
    assert len(errors) == 4
    assert "file:sub-01/anat/sub-01_T2w" in records


def test_harvest_service_withdraws_a_newly_ignored_acquisition(tmp_path: Path) -> None:
    root = _ignore_tree(tmp_path / "ds")
    catalog = Catalog.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        first = catalog.harvest.run(SYSTEM, "bids", str(root))
        assert first.failed == 1 and first.errors[0].item.endswith("broken.json")
        (root / ".bidsignore").write_text("extra/\nsub-02/\n", encoding="utf-8")
        second = catalog.harvest.run(SYSTEM, "bids", str(root))
    finally:
        catalog.close()
    assert (second.failed, second.errors) == (0, [])
    # sub-02, its session and its T2w acquisition go; the collection's issues change.
    assert (second.created, second.withdrawn) == (0, 3)


# -- scans.tsv ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1880-01-10T05:17:54", date(1880, 1, 10)),
        ("2021-06-01T23:59:59.123456", date(2021, 6, 1)),
        ("2021-06-01T08:00:00Z", date(2021, 6, 1)),
        ("2021-06-01T08:00:00-05:00", date(2021, 6, 1)),
    ],
)
def test_acq_time_dates(value: str, expected: date) -> None:
    assert acquisition_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2021-06-01 08:00:00", "not a BIDS datetime (YYYY-MM-DDThh:mm:ss[.000000][Z|±hh:mm])"),
        ("2021-06-01", "not a BIDS datetime"),
        ("2021-02-30T08:00:00", "not a real date (day is out of range for month)"),
        ("2021-06-01T24:00:00", "out of range (time 24:00:00)"),
    ],
)
def test_bad_acq_time_messages(value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        acquisition_date(value)
    assert str(caught.value).startswith(message)


def test_scans_reader_keeps_rows_lines_and_drops_identifying_columns(tmp_path: Path) -> None:
    path = tmp_path / "sub-01_ses-1_scans.tsv"
    write_tsv(
        path,
        [["filename", "acq_time", "operator", "PatientName"],
         ["anat/sub-01_ses-1_T1w.nii.gz", "n/a", "AB", "DOE^JOHN"],
         ["", "", "", ""],
         ["func/sub-01_ses-1_task-rest_bold.nii.gz", "1900-01-01T00:00:00", "n/a", "X"]],
    )  # fmt: skip
    [fact] = read_facts(path)
    assert fact.kind == "scans"
    assert fact.data["rows"] == [
        {"line": 2, "filename": "anat/sub-01_ses-1_T1w.nii.gz", "acq_time": None,
         "other": {"operator": "AB"}},
        {"line": 4, "filename": "func/sub-01_ses-1_task-rest_bold.nii.gz",
         "acq_time": "1900-01-01T00:00:00", "other": {"operator": None}},
    ]  # fmt: skip
    bad = tmp_path / "sub-01_scans.tsv"
    write_tsv(bad, [["file", "acq_time"], ["anat/x.nii", "n/a"]])
    with pytest.raises(ValueError, match=r"sub-01_scans\.tsv: line 1: no filename column"):
        read_facts(bad)


def _scans_tree(root: Path) -> Path:
    minimal_dataset(root, Authors=["A"])
    for name in ("T1w", "T2w", "FLAIR"):
        image(root / f"sub-01/ses-1/anat/sub-01_ses-1_{name}.nii.gz")
    write_tsv(
        root / "sub-01/ses-1/sub-01_ses-1_scans.tsv",
        [["filename", "acq_time", "operator", "coil"],
         ["anat/sub-01_ses-1_T1w.nii.gz", "1880-01-10T05:17:54", "AB", "32ch"],
         ["anat/sub-01_ses-1_T2w.nii.gz", "2020-13-01T10:00:00", "CD", "n/a"],
         ["anat/sub-01_ses-1_missing_T1w.nii.gz", "1880-01-10T06:00:00", "AB", "32ch"]],
    )  # fmt: skip
    image(root / "sub-02/anat/sub-02_T1w.nii")
    write_tsv(
        root / "sub-02/sub-02_scans.tsv",
        [["filename", "acq_time"], ["anat/sub-02_T1w.nii", "2019-04-02T08:30:00.5+01:00"]],
    )
    return root


def test_scans_tsv_dates_acquisitions_and_keeps_other_columns(tmp_path: Path) -> None:
    records, errors = harvest(_scans_tree(tmp_path))
    assert errors == []
    t1 = records["file:sub-01/ses-1/anat/sub-01_ses-1_T1w"].record
    assert t1.imaging.acquisition_date == date(1880, 1, 10)
    assert t1.source.raw["scans"] == {"operator": "AB", "coil": "32ch"}
    assert t1.quality == {}
    sub2 = records["file:sub-02/anat/sub-02_T1w"].record  # subject-level scans.tsv
    assert sub2.imaging.acquisition_date == date(2019, 4, 2)
    assert sub2.source.raw["scans"] == {}
    flair = records["file:sub-01/ses-1/anat/sub-01_ses-1_FLAIR"].record  # not listed
    assert flair.imaging.acquisition_date is None
    assert "scans" not in flair.source.raw
    # The scans files are neither records nor unknown files.
    assert not [key for key in records if "scans" in key]
    assert issues(records, "NOT_INCLUDED") == []


def test_bad_acq_time_is_a_quality_issue_naming_file_and_line(tmp_path: Path) -> None:
    records, errors = harvest(_scans_tree(tmp_path))
    assert errors == []
    expected = {
        "code": "SCANS_ACQ_TIME_INVALID",
        "severity": "error",
        "location": "sub-01/ses-1/sub-01_ses-1_scans.tsv",
        "message": "line 3: acq_time '2020-13-01T10:00:00' of anat/sub-01_ses-1_T2w.nii.gz is "
        "not a real date (month must be in 1..12); the acquisition keeps no acquisition date",
    }
    assert issues(records, "SCANS_ACQ_TIME_INVALID") == [expected]
    t2 = records["file:sub-01/ses-1/anat/sub-01_ses-1_T2w"].record
    assert t2.imaging.acquisition_date is None
    assert t2.source.raw["scans"] == {"operator": "CD", "coil": None}
    assert expected in t2.quality["issues"]


def test_derivative_scans_tsv_is_not_a_derived_record(tmp_path: Path) -> None:
    root = minimal_dataset(tmp_path)
    image(root / "sub-01/anat/sub-01_T1w.nii.gz")
    deriv = _derivative(root)
    (deriv / "qc/summary.json").unlink()
    write_tsv(
        deriv / "sub-01/sub-01_scans.tsv",
        [["filename", "acq_time"], ["anat/sub-01_desc-brain_mask.nii.gz", "1901-02-03T04:05:06"],
         ["anat/sub-01_label-GM_probseg.nii.gz", "yesterday"]],
    )  # fmt: skip
    records, errors = harvest(root)
    assert errors == []
    derived = [k for k, r in records.items() if r.record.level == Level.derived]
    assert sorted(derived) == [
        "file:derivatives/seg/sub-01/anat/sub-01_desc-brain_mask",
        "file:derivatives/seg/sub-01/anat/sub-01_label-GM_probseg",
    ]
    mask = records["file:derivatives/seg/sub-01/anat/sub-01_desc-brain_mask"].record
    assert mask.imaging.acquisition_date == date(1901, 2, 3)
    [bad] = issues(records, "SCANS_ACQ_TIME_INVALID")
    assert bad["location"] == "derivatives/seg/sub-01/sub-01_scans.tsv"
    assert bad["message"].startswith("line 3: acq_time 'yesterday' of anat/sub-01_label-GM")


def test_vendored_scans_files_date_and_describe_acquisitions() -> None:
    records, errors = harvest(DATA / "synthetic")
    assert errors == []
    t1 = records["file:sub-01/ses-01/anat/sub-01_ses-01_T1w"].record
    assert t1.imaging.acquisition_date == date(1880, 1, 10)
    records, _ = harvest(DATA / "7t_trt")
    bold = records["file:sub-04/ses-1/func/sub-04_ses-1_task-rest_acq-fullbrain_run-1_bold"]
    assert bold.record.imaging.acquisition_date is None  # 7t_trt has no acq_time column
    assert bold.record.source.raw["scans"]["vigilance"] == "50"


def test_bidsignore_with_a_relative_location(tmp_path: Path, monkeypatch) -> None:
    root = _ignore_tree(tmp_path)
    (root / ".bidsignore").write_text("extra/\n*_T2w.nii.gz\n", encoding="utf-8")
    monkeypatch.chdir(root)
    found = sorted(p.as_posix() for p in harvester().discover(Path(".")))
    assert found == [
        "dataset_description.json",
        "sub-01/anat/lab_notes.txt",
        "sub-01/anat/sub-01_T1w.nii.gz",
    ]
