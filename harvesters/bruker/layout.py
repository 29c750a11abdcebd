"""Where a fact sits in a ParaVision tree: study (has `subject`), scan (EXPNO), pdata (PROCNO).

Facts are addressed by a *virtual path* relative to the harvest location's parent, with
archive members spelled `archive.zip!/study/3/method`, so plain folders and archives group
the same way. A numbered scan folder whose parent has no `subject` file is a bare scan; such
scans are grouped into sessions by `VisuStudyUid` when visu_pars names one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harvesters.base import FileFacts

#: File names that are ParaVision parameter files, by kind.
SCAN_FILES = frozenset({"acqp", "method"})
PDATA_FILES = frozenset({"visu_pars", "reco"})
SPECIES_FILES = frozenset({"participants.tsv", "species.tsv"})
ARCHIVE_SUFFIXES = frozenset({".zip", ".pvdatasets"})


def file_kind(path: PurePosixPath) -> str | None:
    """The kind of a file from its name and place, or None when it is not ours."""
    name = path.name
    if name == "subject" or name in SCAN_FILES:
        return name
    if name in PDATA_FILES and len(path.parts) >= 3 and path.parent.parent.name == "pdata":
        return name
    if name.lower() in SPECIES_FILES:
        return "species_map"
    return None


def is_archive(path: Path | PurePosixPath) -> bool:
    return path.suffix.lower() in ARCHIVE_SUFFIXES


def virtual_path(fact_path: str, base: Path) -> PurePosixPath:
    """`fact_path` relative to `base`, keeping `!/` archive member separators."""
    outer, sep, member = fact_path.partition("!/")
    relative = Path(os.path.relpath(outer, base)).as_posix()
    return PurePosixPath(f"{relative}!/{member}" if sep else relative)


@dataclass
class Scan:
    """One EXPNO folder's facts; `visu_pars`/`reco` come from the lowest PROCNO."""

    dir: PurePosixPath
    facts: dict[str, FileFacts] = field(default_factory=dict)
    files: list[tuple[str, int | None]] = field(default_factory=list)
    orders: dict[str, int] = field(default_factory=dict)

    @property
    def number(self) -> str:
        return self.dir.name

    def data(self, kind: str) -> dict:
        fact = self.facts.get(kind)
        return fact.data if fact else {}

    def put(self, fact: FileFacts, vpath: PurePosixPath, order: int) -> None:
        """Add a file; for visu_pars/reco the lowest PROCNO's facts win."""
        self.files.append((str(vpath), fact.data.get("size")))
        if order < self.orders.get(fact.kind, 1 << 31):
            self.facts[fact.kind] = fact
            self.orders[fact.kind] = order

    @property
    def usable(self) -> bool:
        return any(kind in self.facts for kind in ("acqp", "method", "visu_pars"))


@dataclass
class Layout:
    """All facts of one location, grouped into studies and scans."""

    subjects: dict[PurePosixPath, FileFacts] = field(default_factory=dict)
    scans: dict[PurePosixPath, Scan] = field(default_factory=dict)
    species_maps: list[FileFacts] = field(default_factory=list)

    def add(self, vpath: PurePosixPath, fact: FileFacts) -> None:
        if fact.kind == "subject":
            self.subjects[vpath.parent] = fact
        elif fact.kind == "species_map":
            self.species_maps.append(fact)
        elif fact.kind in SCAN_FILES:
            self._scan(vpath.parent).put(fact, vpath, 0)
        elif fact.kind in PDATA_FILES:
            procno = vpath.parent.name
            order = int(procno) if procno.isdigit() else 1 << 30
            self._scan(vpath.parents[2]).put(fact, vpath, order)

    def _scan(self, directory: PurePosixPath) -> Scan:
        return self.scans.setdefault(directory, Scan(directory))

    def session_label(self, scan: Scan, location: Path) -> str:
        """The study a scan belongs to: its parent study dir, or its VisuStudyUid."""
        parent = scan.dir.parent
        if parent in self.subjects:
            return str(parent)
        uid = scan.data("visu_pars").get("study_uid")
        if uid:
            return str(uid)
        return location.parent.name if str(parent) == "." else str(parent)
