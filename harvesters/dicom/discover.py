"""Find candidate DICOM files under a folder, cheaply and without ever looping.

Decisions are made from names where possible (".dcm"/".ima", no extension, UID-like
numeric extensions, "DICOMDIR") and from a 132-byte peek otherwise, so a folder of
README/JSON/NIfTI side files costs almost nothing. A ".dcm" file is always yielded, even
if it turns out not to be DICOM: the user named it DICOM, so `read` must report it.
An extension-less file that neither has the "DICM" magic nor starts like a dataset is
skipped silently (scanner exports are full of such notes and logs).

Directories are walked with `os.scandir`, symlinks are followed, and each directory's
real path is remembered: a link back to a visited directory becomes an `ItemError`
instead of an endless walk. Unlistable directories and broken links are `ItemError`s too.

`items(root)` is what a harvest lists: each candidate's key (its path under the root)
and fingerprint (size and mtime) straight from the directory entry's `stat()`, as text,
without a `Path` object per file: an unchanged re-harvest of 10^5 files is this walk and
a dict lookup per file.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from harvesters.base import ItemError, ItemRef
from harvesters.walk import walk_entries, walk_files

DICOM_SUFFIXES = frozenset({".dcm", ".ima", ".dicom", ".dic"})
NON_DICOM_SUFFIXES = frozenset(
    {
        ".txt", ".json", ".md", ".csv", ".tsv", ".xml", ".html", ".htm", ".nii", ".gz", ".zip",
        ".tar", ".bz2", ".xz", ".py", ".sh", ".pdf", ".png", ".jpg", ".jpeg", ".gif", ".bmp",
        ".bval", ".bvec", ".log", ".ini", ".cfg", ".yaml", ".yml", ".mat", ".db", ".exe", ".bat",
    }
)  # fmt: skip


def walk(root: Path) -> Iterator[Path | ItemError]:
    """Candidate files under `root` in a stable (sorted, depth-first) order."""
    return walk_files(root, lambda entry: is_candidate(entry.path, entry.name))


def items(root: Path) -> Iterator[ItemRef | ItemError]:
    """Candidate files as `ItemRef(key, "size:mtime_ns")`, keys relative to `root` (the
    same keys and fingerprints as `FileHarvester.discover_items` gives for `walk`)."""
    top = str(root)
    prefix = top.rstrip(os.sep) + os.sep
    for found in walk_entries(root, _wanted):
        if isinstance(found, ItemError):
            yield found
            continue
        path, entry = found
        key = path[len(prefix) :] if path.startswith(prefix) else Path(path).as_posix()
        if path == top:
            key = "."  # a single file harvested by itself
        try:
            info = entry.stat() if entry is not None else os.stat(path)
        except OSError as exc:
            yield ItemError(key, f"cannot stat file: {exc.strerror or exc}")
            continue
        yield ItemRef(key, f"{info.st_size}:{info.st_mtime_ns}")


def _wanted(entry: os.DirEntry[str]) -> bool:
    return is_candidate(entry.path, entry.name)


def is_candidate(path: str, name: str) -> bool:
    """Whether `read` should see this file (see the module docstring for the rules)."""
    if name.upper() == "DICOMDIR":
        return True
    suffix = os.path.splitext(name)[1].lower()
    if suffix in DICOM_SUFFIXES:
        return True
    if suffix in NON_DICOM_SUFFIXES:
        return False
    return looks_like_dicom(path)


def looks_like_dicom(path: str) -> bool:
    """DICM magic at 128, or a first element in group 0002/0008; True if unreadable.

    An unreadable file is passed on so that `read` reports the permission problem.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return True
    if head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and struct.unpack_from("<H", head, 0)[0] in (0x0002, 0x0008)
