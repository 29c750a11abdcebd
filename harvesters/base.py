"""The harvester interface and the per-item result types every harvester yields.

A file-based harvester works in three steps so that re-harvests stay incremental:

1. `discover(location)` lists candidate files (cheap: no content read), reporting
   unreadable directories or symlink loops as `ItemError`s instead of raising;
2. `read(path)` extracts `FileFacts` from one file (the expensive step); the harvest
   service caches facts per (path, size, mtime, checksum) and calls `read` only for new
   or changed files;
3. `assemble(facts)` turns all facts of a location (cached + fresh) into the record
   hierarchy (collection -> subject -> session -> acquisition) as `HarvestedRecord`s,
   keyed by a stable source key so the service can tell created / updated / unchanged /
   withdrawn.

Remote harvesters (XNAT, Shanoir, CKAN) override `harvest` directly.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from catalog.domain.records import RecordCreate


class HarvestOptions(BaseModel):
    """Options common to every harvester; plugins subclass it for their own settings."""

    model_config = ConfigDict(extra="forbid")

    species: str | None = None
    """Species to record for subjects when the source does not say (e.g. Bruker)."""
    collection_title: str | None = None
    secret: bytes = b""
    """Per-installation key for subject pseudonyms (HMAC); filled in by the service."""


@dataclass
class FileFacts:
    """What one file contributed; `data` must be JSON-serialisable (it is cached)."""

    path: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class HarvestedRecord:
    """One record produced by a harvest, before ids are assigned.

    `key` is stable across harvests of the same source (e.g. "series:<SeriesInstanceUID>"),
    `parent_key` names the parent's key (None for the collection).
    """

    key: str
    record: RecordCreate
    parent_key: str | None = None


@dataclass
class ItemError:
    """A bad item: named, explained, counted, and never fatal to the run."""

    item: str
    error: str


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Harvester(ABC):
    """A source type. Subclasses set `name`, `version` and usually `Options`."""

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0"
    Options: ClassVar[type[HarvestOptions]] = HarvestOptions

    def __init__(self, options: HarvestOptions | None = None) -> None:
        self.options = options or self.Options()

    def check_location(self, location: str) -> Path:
        """Raise `SourceUnusableError` when the location cannot be harvested at all."""
        from catalog.domain.errors import SourceUnusableError

        path = Path(location)
        if not _valid_text(location):
            shown = os.fsencode(location).decode("utf-8", "backslashreplace")
            raise SourceUnusableError(f"{shown}: the path is not valid UTF-8; rename it")
        if not path.exists():
            raise SourceUnusableError(f"{location}: no such file or directory")
        if not (path.is_dir() or path.is_file()):
            from harvesters.walk import special_kind

            kind = special_kind(path.stat().st_mode)
            raise SourceUnusableError(
                f"{location}: not a regular file or folder ({kind}); nothing to harvest"
            )
        if path.is_dir():
            try:
                next(iter(path.iterdir()), None)
            except OSError as exc:
                raise SourceUnusableError(
                    f"{location}: cannot list directory ({exc.strerror})"
                ) from exc
        return path

    @abstractmethod
    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        """Candidate files under `location`, without reading their content."""

    @abstractmethod
    def read(self, path: Path) -> list[FileFacts]:
        """Facts from one file; raise `ValueError`/`OSError` with a clear message if bad."""

    @abstractmethod
    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        """Build the record hierarchy from every file's facts (parents before children)."""
