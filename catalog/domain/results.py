"""Result records of batch runs (harvest, reindex, annotate, export, compute).

One typed result per item, rendered with progress bars for humans or as JSON, following
datalad's result records.
"""

from __future__ import annotations

from typing import Literal

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
    files_cached: int = 0
    conflicts: list[Conflict] = Field(default_factory=list)

    def error(self, item: str, message: str) -> None:
        self.failed += 1
        self.errors.append(ErrorItem(item=item, error=message))
