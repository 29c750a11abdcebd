"""One BIDS file to `FileFacts`: the per-file step whose result the harvest service caches.

Facts depend on the file alone (never on its neighbours) so that a changed file only
invalidates its own cache entry; inheritance and hierarchy are resolved later in
`assemble`.  Privacy is enforced here, before anything is cached: identifying
participants.tsv columns are dropped and sidecars lose DICOM PS3.15 identifying keys.

Kinds: `dataset_description`, `participants` (+ `_sidecar`), `readme`, `scans`
(`sub-<label>[_ses-<label>]_scans.tsv`: acquisition times and per-file columns), `sidecar`
(any other JSON), `image` (NIfTI, header only) and `file` (anything else: size only).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harvesters.base import FileFacts
from harvesters.bids.nifti import read_header
from harvesters.bids.paths import NIFTI_EXTENSIONS, split_extension
from harvesters.privacy import REDACTED, Scrubber, path_aliases, scrub_header

PARTICIPANT_COLUMNS: tuple[str, ...] = (
    "participant_id", "species", "strain", "sex", "age", "handedness", "group",
)  # fmt: skip
"""The only participants.tsv columns kept: names, birth dates, free text never are."""

README_CHARS = 4000

MAX_JSON_DEPTH = 32
"""Deepest nesting a JSON sidecar may have (real ones nest 2 or 3 levels)."""

SCANS_NAME = re.compile(r"sub-[0-9a-zA-Z]+(?:_ses-[0-9a-zA-Z]+)?_scans\.tsv")
"""A subject's or session's scans file (its folder is checked when it is assembled)."""


def read_facts(path: Path) -> list[FileFacts]:
    """Facts of one file; `ValueError` (naming file, line, column) for malformed content."""
    name = path.name
    _, extension = split_extension(name)
    if name == "dataset_description.json":
        return [FileFacts(str(path), "dataset_description", _json_object(path))]
    if name == "participants.tsv":
        return [FileFacts(str(path), "participants", _participants(path))]
    if name == "participants.json":
        described = _json_object(path)
        kept = {k: v for k, v in described.items() if k in PARTICIPANT_COLUMNS}
        return [FileFacts(str(path), "participants_sidecar", kept)]
    if SCANS_NAME.fullmatch(name):
        return [FileFacts(str(path), "scans", _scans(path))]
    if name.split(".")[0].upper() == "README":
        return [FileFacts(str(path), "readme", {"text": _text(path)[:README_CHARS]})]
    if extension == ".json":
        return [FileFacts(str(path), "sidecar", _sidecar(path))]
    size = path.stat().st_size
    if extension in NIFTI_EXTENSIONS:
        header = read_header(path) if size else None
        return [FileFacts(str(path), "image", {"size": size, "header": header})]
    return [FileFacts(str(path), "file", {"size": size})]


def _sidecar(path: Path) -> dict[str, Any]:
    """A sidecar minus PS3.15 identifying keys; a converter that copied the patient's
    name or id (dcm2niix's PatientName, PatientID, AccessionNumber) also gets its free text
    (SeriesDescription "MRN55555 follow-up") and its folder names scrubbed of them."""
    metadata = _json_object(path)
    scrubber = Scrubber.from_header(metadata, REDACTED)
    data: dict[str, Any] = {"metadata": _scrubbed(scrub_header(metadata), scrubber)}
    aliases = path_aliases(str(path), scrubber)
    if aliases:
        data["path_aliases"] = aliases
    return data


def _scrubbed(value: Any, scrubber: Scrubber) -> Any:
    if not scrubber:
        return value
    if isinstance(value, str):
        return scrubber.scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrubber) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, scrubber) for v in value]
    return value


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}): {exc.reason}") from exc


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError:  # the C scanner's answer to e.g. 100,000 nested '['
        raise ValueError(f"{path}: JSON nested too deeply to read") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(value).__name__}")
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"{path}: JSON nested {depth} levels deep; a sidecar may nest {MAX_JSON_DEPTH}"
        )
    return value


def json_depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar is 0), computed without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _rows(path: Path) -> Iterator[list[str]]:
    """The TSV rows of `path`; a malformed file (e.g. a field over the csv module's
    128 KB limit) is a `ValueError` naming the file and line, not a crash of the run."""
    reader = csv.reader(io.StringIO(_text(path)), delimiter="\t")
    try:
        yield from reader
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num}: {exc}") from None


def _participants(path: Path) -> dict[str, Any]:
    """Kept columns and rows of participants.tsv ("n/a" becomes None)."""
    reader = _rows(path)
    header = [column.strip() for column in next(reader, [])]
    if "participant_id" not in header:
        raise ValueError(f"{path}: line 1: no participant_id column (found {header[:6]})")
    kept = [(index, column) for index, column in enumerate(header) if column in PARTICIPANT_COLUMNS]
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {column: _cell(row, index) for index, column in kept}
        rows.append(cells)
    return {
        "columns": [column for _, column in kept],
        "dropped_columns": sorted(set(header) - set(PARTICIPANT_COLUMNS)),
        "rows": rows,
    }


def _scans(path: Path) -> dict[str, Any]:
    """Rows of a scans.tsv: file line, `filename`, raw `acq_time`, other columns.

    The acq_time is kept as written (it is parsed, and a bad one reported, when the
    acquisitions are assembled); identifying DICOM keywords used as columns are dropped.
    """
    reader = _rows(path)
    header = [column.strip() for column in next(reader, [])]
    if "filename" not in header:
        raise ValueError(f"{path}: line 1: no filename column (found {header[:6]})")
    rows = []
    for line, row in enumerate(reader, start=2):
        cells = {column: _cell(row, index) for index, column in enumerate(header) if column}
        filename = cells.pop("filename", None)
        if filename is None:
            continue
        acq_time = cells.pop("acq_time", None)
        other = scrub_header(cells)
        rows.append({"line": line, "filename": filename, "acq_time": acq_time, "other": other})
    return {"rows": rows}


def _cell(row: list[str], index: int) -> str | None:
    value = row[index].strip() if index < len(row) else ""
    return None if value in ("", "n/a") else value
