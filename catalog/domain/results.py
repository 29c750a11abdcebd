"""Result records of batch runs (harvest, reindex, annotate, export, compute).

One typed result per item, rendered with progress bars for humans or as JSON, following
datalad's result records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ResultRecord(BaseModel):
    action: str
    target: str
    status: Literal["ok", "notneeded", "error", "impossible"]
    message: str = ""


class ErrorItem(BaseModel):
    item: str
    error: str


class Conflict(BaseModel):
    """A curated field the source changed since the last harvest; the curated value was
    kept, a curator decides whether to take the source's new value."""

    record: str
    field: str
    message: str = ""


class HarvestReport(BaseModel):
    """The contract's JSON report of `imagora harvest --json` (plus `withdrawn`)."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    failed: int = 0
    errors: list[ErrorItem] = Field(default_factory=list)
    files_read: int = 0
    """Items fetched (files read, remote items asked for) this run."""
    files_cached: int = 0
    """Items whose fingerprint (or checksum) said "unchanged": not fetched again."""
    duration_s: float = 0.0
    requests: int = 0
    """HTTP requests made to a remote source (retries included); 0 for local files."""
    conflicts: list[Conflict] = Field(default_factory=list)
    full: bool = False
    """A full re-read (`--full`): every item was fetched whatever its fingerprint."""

    def error(self, item: str, message: str) -> None:
        self.failed += 1
        self.errors.append(ErrorItem(item=item, error=message))


class HarvestRun(BaseModel):
    """One kept harvest run: its source, when, and its report (also for failed runs)."""

    id: int
    source: str
    started: datetime
    finished: datetime | None = None
    report: HarvestReport


class HarvestRunPage(BaseModel):
    total: int
    page: int
    size: int
    runs: list[HarvestRun]


@dataclass
class ItemState:
    """What a harvest stored about one source item (file, remote session, package) after
    the previous run: the fingerprint that says "unchanged", a stronger checksum when
    the harvester has one, the facts it produced and the error it hit, if any."""

    key: str
    fingerprint: str
    checksum: str
    facts: list[dict[str, Any]]
    error: str | None = None
    encoded: str | None = field(default=None, compare=False, repr=False)
    """`facts` as JSON text when it came so (from a worker process): stored as it is."""
