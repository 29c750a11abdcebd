"""Which files a publication carries, where they are on disk, and their names in the package.

Records list their files by *public* path (folder names that embed a subject's name are
pseudonymised at harvest), so the disk path is found through the harvest state: the
file whose checksum the record lists, in the source the record came from. DICOM
acquisitions list at most 50 files; the rest of the series is found through the cached
facts (same SeriesInstanceUID). Package names are BIDS-shaped: a BIDS source keeps its
own relative paths; DICOM and Bruker data go under `sourcedata/<sub>/<ses>/<acq>/`,
DICOM files renamed by position (original names can carry patient names).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from catalog.domain.errors import ValidationError
from catalog.domain.results import ItemState
from catalog.store.repository import StoredRecord, UnitOfWork
from exporters.deid.gate import SourceFile

_SLUG = re.compile(r"[^A-Za-z0-9]+")


@dataclass
class PackagePlan:
    """The files of one publication, plus what was left out and why."""

    files: list[SourceFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Whether some branch was left out (restricted or withdrawn records).
    partial: bool = False


@dataclass
class _Walk:
    """Where the walk is: subject label and session label of the current branch."""

    subject: str = "sub-unknown"
    session: str | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]


class FileLocator:
    """Resolves listed files to disk paths through the harvest state (one read per source)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._states: dict[str, dict[str, ItemState]] = {}

    def states(self, record: StoredRecord) -> tuple[Path | None, dict[str, ItemState]]:
        source = record.body.get("source") or {}
        location = source.get("location")
        if not location:
            return None, {}
        key = f"{source.get('type')}:{location}"
        if key not in self._states:
            items = self.uow.harvest.items(key)
            # keys of a file source are paths; '@...' keys are the harvest's bookkeeping
            self._states[key] = {k: v for k, v in items.items() if not k.startswith("@")}
        return Path(location), self._states[key]

    def paths(self, record: StoredRecord) -> list[tuple[str, Path]]:
        """(listed path, disk path) of every file of the record."""
        _refuse_remote(record)
        root, states = self.states(record)
        if root is None:
            return []
        by_checksum = {s.checksum: rel for rel, s in states.items()}
        out = []
        for entry in record.body.get("files") or []:
            listed = str(entry.get("path"))
            rel = by_checksum.get(str(entry.get("checksum") or "")) or listed
            out.append((listed, root / rel))
        return out + self._rest_of_series(record, root, states, {p for _, p in out})

    @staticmethod
    def _rest_of_series(
        record: StoredRecord, root: Path, states: dict[str, ItemState], have: set[Path]
    ) -> list[tuple[str, Path]]:
        source = record.body.get("source") or {}
        if source.get("type") != "dicom" or record.level != "acquisition":
            return []
        series = source.get("external_id")
        extra = []
        for rel, state in sorted(states.items()):
            if root / rel in have:
                continue
            if any(_series_of(f) == series for f in state.facts):
                extra.append((rel, root / rel))
        return extra


def _refuse_remote(record: StoredRecord) -> None:
    """Files of remote sources (XNAT, Shanoir, CKAN) are not kept here: say so clearly."""
    source = record.body.get("source") or {}
    location = str(source.get("location") or "")
    if record.body.get("files") and "://" in location:
        raise ValidationError(
            f"record {record.id} lists files held by the remote source {source.get('type')} "
            f"({location}); Imagora does not keep copies, so they cannot be deposited. "
            "Publish its metadata with --to datacite, or harvest the files locally first",
            field="files",
        )


def _series_of(fact: dict[str, Any]) -> str | None:
    return (fact.get("data") or {}).get("series_uid") if fact.get("kind") == "dicom" else None


def plan_package(uow: UnitOfWork, root: StoredRecord) -> PackagePlan:
    """Every file of the record and its descendants (restricted branches left out).

    A whole BIDS dataset (a collection harvested from BIDS) with nothing restricted in it
    is packaged as the dataset itself: every harvested file under its root, so sidecars,
    `participants.tsv` and the README travel too (records list only the data files).
    Nested `derivatives/` datasets are collections of their own and stay out.
    """
    plan = PackagePlan()
    locator = FileLocator(uow)
    _visit(uow, locator, root, _Walk(), plan)
    prefix = _bids_dataset_prefix(root)
    if prefix is not None and not plan.partial:
        plan.files = _whole_bids_dataset(locator, root, prefix)
    elif prefix is not None:
        plan.notes.append(
            "part of the BIDS dataset is restricted: only the data files of the public "
            "records were packaged (no shared sidecars or participants.tsv)"
        )
    return plan


def _bids_dataset_prefix(record: StoredRecord) -> str | None:
    """The dataset's folder inside the harvested location ('' for the top one)."""
    source = record.body.get("source") or {}
    external = str(source.get("external_id") or "")
    if source.get("type") != "bids" or record.level not in ("collection", "derived"):
        return None
    if not external.endswith("dataset_description.json"):
        return None
    folder = str(PurePosixPath(external).parent)
    return "" if folder == "." else folder + "/"


def _whole_bids_dataset(locator: FileLocator, root: StoredRecord, prefix: str) -> list[SourceFile]:
    location, states = locator.states(root)
    if location is None:
        return []
    files = []
    for rel in sorted(states):
        if not rel.startswith(prefix):
            continue
        inner = rel[len(prefix) :]
        if inner.startswith("derivatives/"):
            continue
        subject = next((part for part in inner.split("/") if part.startswith("sub-")), "anonymous")
        files.append(SourceFile(location / rel, inner, subject))
    return files


def _visit(
    uow: UnitOfWork, locator: FileLocator, record: StoredRecord, walk: _Walk, plan: PackagePlan
) -> None:
    if record.visibility == "restricted" or (record.access or {}).get("files") == "restricted":
        plan.notes.append(f"record {record.id} is restricted: its files were left out")
        plan.partial = True
        return
    if record.status == "withdrawn":
        plan.partial = True
        return
    walk = _descend(record, walk)
    _add_files(locator, record, walk, plan)
    for child_id in sorted(uow.records.children_ids(record.id)):
        child = uow.records.get(child_id)
        if child is not None:
            _visit(uow, locator, child, walk, plan)


def _descend(record: StoredRecord, walk: _Walk) -> _Walk:
    subject = (record.body.get("subject") or {}).get("pseudonym")
    if record.level == "subject" and subject:
        label = subject if subject.startswith("sub-") else f"sub-{_slug(subject)}"
        return _Walk(subject=label, counters={})
    if record.level == "session":
        return _Walk(walk.subject, f"ses-{walk.next('ses:' + walk.subject):02d}", {})
    if subject and walk.subject == "sub-unknown":
        label = subject if subject.startswith("sub-") else f"sub-{_slug(subject)}"
        return _Walk(subject=label, session=walk.session, counters=walk.counters)
    return walk


def _add_files(locator: FileLocator, record: StoredRecord, walk: _Walk, plan: PackagePlan) -> None:
    pairs = locator.paths(record)
    if not pairs:
        return
    source_type = (record.body.get("source") or {}).get("type")
    if source_type == "bids":
        plan.files += [SourceFile(disk, listed, walk.subject) for listed, disk in pairs]
        return
    folder = _acquisition_folder(record, walk)
    common = os.path.commonpath([PurePosixPath(listed).parent.as_posix() for listed, _ in pairs])
    for position, (listed, disk) in enumerate(pairs, 1):
        plan.files.append(
            SourceFile(disk, _package_name(folder, listed, common, position, disk), walk.subject)
        )


def _acquisition_folder(record: StoredRecord, walk: _Walk) -> str:
    parts = ["sourcedata", walk.subject] + ([walk.session] if walk.session else [])
    bids = record.body.get("bids") or {}
    kind = bids.get("suffix") or (record.body.get("imaging") or {}).get("modality") or record.level
    number = walk.next("acq")
    return "/".join([*parts, f"acq-{number:02d}{_slug(str(kind))}"])


def _package_name(folder: str, listed: str, common: str, position: int, disk: Path) -> str:
    from exporters.deid.gate import is_dicom

    if is_dicom(disk):
        return f"{folder}/{position:04d}.dcm"
    path = PurePosixPath(listed)
    inner = path.relative_to(common) if common not in ("", ".") else path
    return f"{folder}/{inner.as_posix()}"


def _slug(text: str) -> str:
    return _SLUG.sub("", text)[:40] or "x"
