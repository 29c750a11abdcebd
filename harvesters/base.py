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
    """Title of the collection record (`--title`); kept by later runs that omit it."""
    description: str | None = None
    """Description of the collection record (`--description`); kept likewise."""
    license: str | None = None
    """Licence of the collection record, an SPDX id (`--license`); kept likewise."""
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
        from harvesters.detect import kind_mismatch

        path = Path(location)
        if not path.exists():
            raise SourceUnusableError(f"{location}: no such file or directory")
        if path.is_dir():
            try:
                next(iter(path.iterdir()), None)
            except OSError as exc:
                raise SourceUnusableError(
                    f"{location}: cannot list directory ({exc.strerror})"
                ) from exc
        mismatch = kind_mismatch(path, self.name)
        if mismatch:  # e.g. a DICOM folder given to `bids`: refuse before writing anything
            raise SourceUnusableError(mismatch)
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
