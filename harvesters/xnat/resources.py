"""Scan resources (file counts, sizes, formats) of many XNAT sessions in one listing.

Why: asking each changed session for its record (`/data/experiments/{id}?format=json`)
costs one request per session, i.e. ~0.1 request per acquisition at 10 scans per session;
the experiment listing's `columns=` reaches the scans' resources through the schema path
`<scan type>/file/...` (`xnat:abstractResource`: `label`, `file_count`, `file_size`;
`xnat:resource`: `format`), e.g. `xnat:mrScanData/file/label` (the pattern DAX and other
XNAT clients use with `xnat:imagescandata/file/label`). XNAT then answers one row per
scan *and* resource (a left join: a scan without resources still has one row, with
empty file columns), keys lower-cased.

How: `resource_columns` names the columns to ask for; `split_rows` folds the joined rows
back into one row per scan plus the resources per scan id, the shape the per-session
record path (`record_resources`) produces, so the mapping does not know which path was
taken. `split_rows` answers None when the server ignored the columns (no file key in any
row), which tells the harvester to fall back to per-session records.
"""

from __future__ import annotations

from typing import Any

from harvesters.http import RemoteSourceError, SourceDownError
from harvesters.xnat.api import XnatApi

RESOURCE_FIELDS = ("label", "format", "file_count", "file_size")


def resource_columns(scan_xsi: str) -> list[str]:
    """The `columns=` entries that add a scan type's resources to an experiment listing."""
    return [f"{scan_xsi}/file/{name}" for name in RESOURCE_FIELDS]


def split_rows(
    rows: list[dict[str, str]], scan_xsi: str
) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]] | None:
    """Joined (scan x resource) rows -> (one row per scan, resources per scan id).

    None when no row carries the resource columns (a server that ignores them)."""
    prefix = scan_xsi.lower() + "/"
    files = prefix + "file/"
    keys = {name: files + name for name in RESOURCE_FIELDS}
    label_key, id_key = keys["label"], prefix + "id"
    if rows and not any(label_key in row for row in rows):
        return None
    scans: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    resources: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        eid, scan_id = str(row.get("ID")), str(row.get(id_key) or "")
        if (eid, scan_id) not in seen:
            seen.add((eid, scan_id))
            scans.append({k: v for k, v in row.items() if not k.startswith(files)})
        if scan_id and row.get(label_key):
            found = {name: row.get(key) or "" for name, key in keys.items()}
            resources.setdefault(f"{eid}/{scan_id}", []).append(found)
    return scans, resources


def record_resources(api: XnatApi, eid: str) -> dict[str, Any] | str:
    """One session's scan resources from its record (the fallback path): scan id ->
    resources, or an error message for that session (e.g. deleted since the listing)."""
    try:
        record = api.record(f"/data/experiments/{eid}")
    except SourceDownError:
        raise  # the source went away: stop the run
    except RemoteSourceError as exc:
        return exc.message
    found: dict[str, Any] = {}
    for child in record.get("children") or []:
        if child.get("field") != "scans/scan":
            continue
        for scan in child.get("items") or []:
            scan_id = str((scan.get("data_fields") or {}).get("ID", ""))
            found[scan_id] = [
                item.get("data_fields") or {}
                for sub in scan.get("children") or []
                if sub.get("field") == "file"
                for item in sub.get("items") or []
            ]
    return found
