"""The harvester interface and the per-item result types every harvester yields.

One design for local files and remote servers: a harvester works on *items*, each named
by a stable key and a fingerprint, so re-harvests stay incremental without the service
knowing what an item is (no `os.stat`, no `Path` in the service):

1. `open(location)` checks the location (and logs in to a remote source), raising
   `SourceUnusableError` when it cannot be harvested at all;
2. `discover_items(location)` yields `ItemRef(key, fingerprint)` cheaply: a local file's
   fingerprint is its size and mtime, a remote item's its `last_modified` / ETag /
   version stamp (or a hash of its listing row). Bad items are `ItemError`s, never raised;
   a listing that cannot be completed raises, because a partial listing would look like
   deletions;
3. `fetch(location, changed)` reads the items whose fingerprint differs from the stored
   state (the expensive step: file reads, per-session requests) and yields `Fetched`
   facts; it may confirm a change with a stronger checksum (local files: SHA-256) and
   answer "content unchanged";
4. `assemble(location, facts)` turns all facts of a location (stored + fresh) into the
   record hierarchy (collection -> subject -> session -> acquisition) as
   `HarvestedRecord`s, keyed by a stable source key so the service can tell created /
   updated / unchanged / withdrawn;
5. `close()` ends remote sessions.

`FileHarvester` (also exported as `Harvester`) implements steps 1-3 for local files on
top of two simpler methods, `discover(path)` and `read(path)`.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from catalog.domain.errors import PluginUnavailableError
from catalog.domain.records import RecordCreate
from catalog.domain.results import ItemState

if TYPE_CHECKING:
    from harvesters.staging import StageLimits, StageRequest


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
    full: bool = False
    """Re-read every item whatever its stored fingerprint (`--full`, `-o full=true`): for
    sources whose fingerprints miss some changes (Shanoir-NG has no update dates, so an
    acquisition protocol changed alone keeps every listing row as it was)."""

    tuning: ClassVar[frozenset[str]] = frozenset()
    """Options that change how fast a harvest runs, never what it produces (e.g. worker
    counts): left out of the stamp that decides whether records must be rebuilt."""
    per_run: ClassVar[frozenset[str]] = frozenset({"full"})
    """Options that change which items one run reads, never how facts become records:
    left out of that stamp too (a full re-read must not rebuild what it finds unchanged)."""


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


@dataclass(frozen=True)
class ItemRef:
    """One harvestable item as discovery sees it: a stable key and a cheap fingerprint.

    `data` is what the listing already said about the item (remote listings often carry
    everything needed), handed back to `fetch` so it need not ask again.
    """

    key: str
    fingerprint: str
    data: dict[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass
class Fetched:
    """The outcome of fetching one changed item.

    `facts` None with no error means "content unchanged" (the checksum matched the stored
    one): the service keeps the stored facts under the new fingerprint.
    """

    key: str
    fingerprint: str
    checksum: str = ""
    facts: list[dict[str, Any]] | None = None
    error: str | None = None
    encoded: str | None = None
    """`facts` as JSON text, when the harvester has it (a worker process hands facts
    back so): `facts` is then its decoding, already the stored form, and the service
    stores the text as it is instead of encoding the facts again."""


L = TypeVar("L")


class ItemHarvester(ABC, Generic[L]):
    """A source type working on items. Subclasses set `name`, `version`, `Options`."""

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0"
    Options: ClassVar[type[HarvestOptions]] = HarvestOptions
    summary: ClassVar[str] = ""
    """What LOCATION is, in one line (`imagora harvest --help`, `imagora plugins`)."""
    example: ClassVar[str] = ""
    """A whole command line harvesting a typical source of this type, options included."""
    internal: ClassVar[bool] = False
    """Run by Imagora itself (the compute bridge's job outputs), not by hand: left out of
    `imagora harvest --help`, still listed by `imagora plugins`."""

    def __init__(self, options: HarvestOptions | None = None) -> None:
        self.options = options or self.Options()

    @abstractmethod
    def open(self, location: str) -> L:
        """The usable location (a resolved path, a base URL); raise `SourceUnusableError`
        when the location cannot be harvested at all (missing, unreachable, refused)."""

    @abstractmethod
    def source_id(self, location: L) -> str:
        """The stable source name record origins are keyed by, e.g. `dicom:/data/x`."""

    @abstractmethod
    def discover_items(self, location: L) -> Iterator[ItemRef | ItemError]:
        """Every item of the source with its fingerprint, without reading content."""

    @abstractmethod
    def fetch(
        self, location: L, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        """Facts of the changed items (with their stored state, if any), one per item."""

    @abstractmethod
    def assemble(
        self, location: L, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        """Build the record hierarchy from every item's facts (parents before children)."""

    def close(self) -> None:
        """End what `open` started (a remote session); the default has nothing to end."""

    def requests_made(self) -> int:
        """HTTP requests made so far (remote harvesters), for the run's report."""
        return 0

    #: whether `stage` can fetch this source's files (remote sources that implement it)
    stages_files: ClassVar[bool] = False

    def stage(self, request: StageRequest, dest: Path, limits: StageLimits) -> list[Path]:
        """Download the record's files under `dest` (for a compute job); the files.

        Only remote harvesters implement it (local sources are read where they are)."""
        raise PluginUnavailableError(
            f"{request.where}: the {self.name} harvester cannot fetch a record's files"
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


READ_WORKERS = 4
READ_ERRORS = (ValueError, OSError, KeyError, IndexError, TypeError, EOFError)


class FileHarvester(ItemHarvester[Path]):
    """A harvester of local files: items are files keyed by their path under the root,
    fingerprinted by size and mtime; a changed fingerprint is confirmed with SHA-256 so a
    touched but identical file is not read again."""

    def check_location(self, location: str) -> Path:
        """Raise `SourceUnusableError` when the location cannot be harvested at all."""
        from catalog.domain.errors import SourceUnusableError
        from harvesters.detect import kind_mismatch

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
        mismatch = kind_mismatch(path, self.name)
        if mismatch:  # e.g. a DICOM folder given to `bids`: refuse before writing anything
            raise SourceUnusableError(mismatch)
        return path

    def open(self, location: str) -> Path:
        return self.check_location(location).resolve()

    def source_id(self, location: Path) -> str:
        return f"{self.name}:{location}"

    def discover_items(self, location: Path) -> Iterator[ItemRef | ItemError]:
        for found in self.discover(location):
            if isinstance(found, ItemError):
                yield found
                continue
            rel = _relative(found, location)
            try:
                stat = found.stat()
            except OSError as exc:
                yield ItemError(rel, f"cannot stat file: {exc.strerror or exc}")
                continue
            yield ItemRef(rel, f"{stat.st_size}:{stat.st_mtime_ns}")

    def fetch(
        self, location: Path, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        """Checksums and reads on a small thread pool (reads are I/O-bound), in order."""
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            jobs = [pool.submit(self.fetch_one, location, ref, old) for ref, old in changed]
            for job in jobs:
                yield job.result()

    def fetch_one(self, location: Path, ref: ItemRef, old: ItemState | None) -> Fetched:
        """One changed file: its SHA-256 (a touched but identical file is "content
        unchanged"), then `read`; every failure is an error entry, never raised."""
        path = location / ref.key
        try:
            checksum = sha256_file(path)
        except OSError as exc:
            return Fetched(
                ref.key, ref.fingerprint, error=f"cannot read file: {exc.strerror or exc}"
            )
        if old and not old.error and old.checksum == checksum:
            return Fetched(ref.key, ref.fingerprint, checksum)
        try:
            facts = self.read(path)
        except READ_ERRORS as exc:
            return Fetched(
                ref.key, ref.fingerprint, checksum, error=str(exc) or exc.__class__.__name__
            )
        except Exception as exc:  # one file a reader cannot cope with never stops the run
            reason = f"{exc.__class__.__name__}: {exc}"[:500]
            return Fetched(
                ref.key,
                ref.fingerprint,
                checksum,
                error=f"the {self.name} harvester cannot read it ({reason})",
            )
        # shallow: the facts were just built for us (dataclasses.asdict deep-copies them)
        found = [{"path": f.path, "kind": f.kind, "data": f.data} for f in facts]
        return Fetched(ref.key, ref.fingerprint, checksum, found)

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


Harvester = FileHarvester
"""The file harvester base under its historical name (dicom, bids, bruker use it)."""


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
