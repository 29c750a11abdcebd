"""Staging a remote record's files onto this machine, for a compute job.

Why here: a harvester knows how its source hands out an item's files (XNAT: a scan
resource as a zip; Shanoir-NG: a dataset as a zip), so each remote harvester implements
`ItemHarvester.stage(request, dest)` and the compute service stays source-agnostic.

What every stager shares lives here: the facts of the record to stage (`StageRequest`),
the limits (`StageLimits`), and `extract_zip`, which refuses archives that would escape
the destination (`../`, absolute paths, links) or unpack into more than the limit (zip
bombs: the sizes the archive announces are checked first, then the bytes actually
written), each error naming the record.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from catalog.domain.errors import SourceUnusableError


class ArchiveRefusedError(SourceUnusableError):
    """A downloaded archive that is unsafe or too big to unpack."""

    code = "archive_refused"


@dataclass(frozen=True)
class StageLimits:
    """How much one record may bring onto this machine."""

    max_bytes: int = 4 * 1024**3
    """The largest download and the largest unpacked total, each."""
    max_files: int = 20_000


@dataclass(frozen=True)
class StageRequest:
    """The catalogued facts a harvester needs to fetch a record's files."""

    record_id: str
    title: str
    location: str
    external_id: str
    files: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"record '{self.record_id}' ({self.title})"


def extract_zip(archive: Path, dest: Path, limits: StageLimits, where: str) -> list[Path]:
    """Unpack `archive` under `dest`; the regular files written, sorted."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            _check_members(members, limits, where)
            return _unpack(zipped, members, dest.resolve(), limits, where)
    except zipfile.BadZipFile:
        raise ArchiveRefusedError(f"{where}: the source's download is not a zip archive") from None


def _check_members(members: list[zipfile.ZipInfo], limits: StageLimits, where: str) -> None:
    if len(members) > limits.max_files:
        raise ArchiveRefusedError(
            f"{where}: the archive holds {len(members)} files, over the limit of {limits.max_files}"
        )
    announced = sum(m.file_size for m in members)
    if announced > limits.max_bytes:
        raise ArchiveRefusedError(
            f"{where}: the archive unpacks to {announced} bytes, over the "
            f"{limits.max_bytes}-byte limit"
        )
    for member in members:
        name = PurePosixPath(member.filename.replace("\\", "/"))
        mode = member.external_attr >> 16
        if name.is_absolute() or ".." in name.parts or stat.S_ISLNK(mode):
            raise ArchiveRefusedError(
                f"{where}: the archive entry '{member.filename}' would land outside the job's "
                "folder; refused"
            )


def _unpack(
    zipped: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    dest: Path,
    limits: StageLimits,
    where: str,
) -> list[Path]:
    written: list[Path] = []
    budget = limits.max_bytes
    for member in members:
        target = (dest / member.filename.replace("\\", "/")).resolve()
        if not target.is_relative_to(dest):
            raise ArchiveRefusedError(f"{where}: the archive entry '{member.filename}' escapes")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipped.open(member) as source, target.open("wb") as out:
            budget -= _copy_limited(source, out, budget)
        if budget < 0:
            raise ArchiveRefusedError(
                f"{where}: the archive unpacks to more than {limits.max_bytes} bytes "
                "(more than it announced); refused"
            )
        written.append(target)
    return sorted(written)


def _copy_limited(source: Any, out: Any, budget: int) -> int:
    """Copy at most budget + 1 bytes (one more tells the caller it went over)."""
    copied = 0
    while copied <= budget:
        chunk = source.read(min(1 << 20, budget + 1 - copied))
        if not chunk:
            break
        out.write(chunk)
        copied += len(chunk)
    return copied


def clear(folder: Path) -> None:
    """Remove a partial staging folder (a failed download leaves nothing behind)."""
    shutil.rmtree(folder, ignore_errors=True)
