"""Preview thumbnails: made at harvest time, stored in the data dir, served by access.

`PreviewStore` owns `<data dir>/previews/<id[:2]>/<id>.png` (written atomically).
`PreviewBuilder` is what the harvest service calls after a run: for each acquisition it
resolves the listed files under the harvested root and (re)writes the thumbnail when it
is missing or older than the representative files; a file that cannot be decoded is
logged and skipped, never failing the harvest. `PreviewService.png` serves one to a
caller: 404 when the record is invisible, when its files are restricted or under an
active embargo (a thumbnail shows the data), or when there is none.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from catalog.domain.errors import NotFoundError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordPublic
from exporters.facts import files_access
from harvesters.preview.build import preview_png

log = logging.getLogger(__name__)

#: Levels that get a thumbnail of their own (their files are images).
PREVIEW_LEVELS = frozenset({"acquisition", "derived"})
#: Listed paths may start with folders above the harvested root (e.g. its own name).
MAX_LEADING_PARTS = 4
#: Thumbnails made at once (as many as the harvest's file readers).
WORKERS = 4


class PreviewStore:
    """Thumbnail files under one folder, two-character fan-out by record id."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, record_id: str) -> Path:
        safe = "".join(c for c in record_id if c.isalnum() or c in "._-") or "_"
        return self.root / safe[:2] / f"{safe}.png"

    def has(self, record_id: str) -> bool:
        return self.path(record_id).is_file()

    def read(self, record_id: str) -> bytes | None:
        try:
            return self.path(record_id).read_bytes()
        except OSError:
            return None

    def write(self, record_id: str, png: bytes) -> None:
        target = self.path(record_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(png)
        partial.replace(target)  # readers never see half a file

    def remove(self, record_id: str) -> None:
        self.path(record_id).unlink(missing_ok=True)

    def mtime_ns(self, record_id: str) -> int | None:
        try:
            return self.path(record_id).stat().st_mtime_ns
        except OSError:
            return None


@dataclass
class PreviewJob:
    """One acquisition's files, as listed relative to the harvested root."""

    record_id: str
    paths: list[str]


def resolve(root: Path, listed: str) -> Path | None:
    """The file a listed path names under `root` (leading parts may name folders above
    it); None when it is not there. Never leaves `root`."""
    parts = [p for p in listed.split("/") if p not in ("", ".", "..")]
    for start in range(min(len(parts), MAX_LEADING_PARTS)):
        candidate = root.joinpath(*parts[start:])
        if candidate.is_file():
            return candidate
    return None


class PreviewBuilder:
    def __init__(self, store: PreviewStore, render: Callable[[list[Path]], bytes | None]) -> None:
        self.store = store
        self.render = render

    def build(self, root: Path, jobs: Iterable[PreviewJob]) -> int:
        """(Re)write stale thumbnails, a few at a time (decoding and numpy release the
        GIL); returns how many were written."""
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return sum(pool.map(lambda job: self._build_one(root, job), jobs))

    def _build_one(self, root: Path, job: PreviewJob) -> int:
        files = [f for f in (resolve(root, p) for p in job.paths) if f is not None]
        if not files or not self._stale(job.record_id, files):
            return 0
        try:
            png = self.render(files)
        except (ValueError, OSError) as exc:
            log.warning("no preview for record %s: %s", job.record_id, exc)
            return 0
        if png is None:
            self.store.remove(job.record_id)  # the image is gone or now blank
            return 0
        self.store.write(job.record_id, png)
        return 1

    def _stale(self, record_id: str, files: list[Path]) -> bool:
        made = self.store.mtime_ns(record_id)
        if made is None:
            return True
        try:
            return any(f.stat().st_mtime_ns > made for f in files)
        except OSError:
            return True


def default_builder(data_dir: Path) -> PreviewBuilder:
    return PreviewBuilder(PreviewStore(data_dir / "previews"), preview_png)


def shows_preview(record: RecordPublic) -> bool:
    """A thumbnail shows the data: only records whose files are open."""
    return files_access(record) == "open"


class PreviewService:
    """Serves thumbnails with the record's visibility and file access applied."""

    def __init__(self, store: PreviewStore, get: Callable[[Identity, str], RecordPublic]) -> None:
        self.store = store
        self.get = get

    def png(self, identity: Identity, record_id: str) -> bytes:
        record = self.get(identity, record_id)  # 404 when the caller may not see it
        if not shows_preview(record):
            raise NotFoundError(
                f"record '{record_id}' has no public preview: its files are {files_access(record)}"
            )
        data = self.store.read(record_id)
        if data is None:
            raise NotFoundError(f"record '{record_id}' has no preview image")
        return data

    def available(self, record_id: str, files_access_value: str | None) -> bool:
        """For result lists: a thumbnail exists and the hit's files are open."""
        return files_access_value in (None, "open") and self.store.has(record_id)
