"""scans.tsv rows, keyed by the data file they describe: acquisition date and extra columns.

A `sub-<label>[_ses-<label>]_scans.tsv` lists files relative to its own folder, with an
optional `acq_time` (a BIDS datetime, often shifted to a year like 1880 to anonymise) and
any other per-file columns.  The date (not the time) becomes `imaging.acquisition_date`
and the other columns go to the acquisition's `source.raw["scans"]`.  A bad `acq_time`
loses only that value and is reported as a quality issue naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from harvesters.bids import normalize, validation


@dataclass(frozen=True)
class ScanRow:
    """One row of a scans file, its acq_time already parsed."""

    scans_file: str
    line: int
    acquired: date | None
    columns: dict[str, Any] = field(default_factory=dict)
    issue: validation.Issue | None = None


def scan_rows(rel: str, data: dict[str, Any]) -> Iterator[tuple[str, ScanRow]]:
    """(data file path relative to the dataset location, row) for each row of `rel`."""
    folder = rel.rpartition("/")[0]
    for row in data.get("rows", []):
        filename = str(row.get("filename") or "").removeprefix("./")
        if not filename:
            continue
        target = f"{folder}/{filename}" if folder else filename
        yield target, _scan_row(rel, row, filename)


def _scan_row(rel: str, row: dict[str, Any], filename: str) -> ScanRow:
    line = int(row.get("line") or 0)
    columns = dict(row.get("other") or {})
    value = row.get("acq_time")
    if value is None:
        return ScanRow(rel, line, None, columns)
    try:
        return ScanRow(rel, line, normalize.acquisition_date(str(value)), columns)
    except ValueError as exc:
        problem = validation.issue(
            "SCANS_ACQ_TIME_INVALID",
            "error",
            rel,
            f"line {line}: acq_time {value!r} of {filename} is {exc}; "
            "the acquisition keeps no acquisition date",
        )
        return ScanRow(rel, line, None, columns, problem)
