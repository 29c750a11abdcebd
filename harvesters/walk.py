"""One safe directory walk for every file-based harvester.

Sorted and depth-first (so harvests are deterministic), it follows symbolic links to
folders once, reports a link back to one of its own ancestors as a loop instead of walking
forever, skips a second link to a folder already walked (no double harvest), and turns
unreadable folders, unstat-able entries and broken links into `ItemError`s so that one
bad corner never stops a run.

Nothing outside the tree: every path is resolved, and a link (to a file or a folder) that
leads outside the harvested root is refused with an `ItemError` that says so (a harvest
once read 848 files under /etc through one link). A file reached twice (a link to a file
inside the tree) is listed once. Names that are not valid UTF-8, and special files
(devices, FIFOs, sockets: reading one could block or never end), are error entries too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from harvesters.base import ItemError

#: (folder path, is it the walk's root?) -> skip that folder's content
SkipDir = Callable[[Path, bool], bool]


def _never(_path: Path, _is_root: bool) -> bool:
    return False


def walk_files(
    root: Path,
    wanted: Callable[[os.DirEntry[str]], bool],
    *,
    skip_dir: SkipDir = _never,
    skip_hidden: bool = True,
) -> Iterator[Path | ItemError]:
    """Files under `root` for which `wanted(entry)` holds, plus an error per bad corner."""
    for found in walk_entries(root, wanted, skip_dir=skip_dir, skip_hidden=skip_hidden):
        yield found if isinstance(found, ItemError) else Path(found[0])


#: A file found by `walk_entries`: its path as text, and its directory entry (None when
#: the walk's root is that file), whose `stat()` a caller can use instead of a new lookup.
Found = tuple[str, "os.DirEntry[str] | None"]


def walk_entries(
    root: Path,
    wanted: Callable[[os.DirEntry[str]], bool],
    *,
    skip_dir: SkipDir = _never,
    skip_hidden: bool = True,
) -> Iterator[Found | ItemError]:
    """`walk_files` without a `Path` per file: the path as text and its directory entry,
    for walks over 10^5 files where building objects per file is what costs."""
    if root.is_file():
        yield str(root), None
        return
    top = os.path.realpath(root)
    walk = _Walk(root, top, wanted)
    stack: list[tuple[Path, tuple[str, ...]]] = [(root, (top,))]
    while stack:
        folder, branch = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            yield ItemError(str(folder), f"cannot list directory ({exc.strerror or exc})")
            continue
        subdirs: list[tuple[Path, tuple[str, ...]]] = []
        for entry in entries:
            if skip_hidden and entry.name.startswith("."):
                continue
            found = walk.visit(entry, branch)
            if isinstance(found, _Enter):
                if not skip_dir(found.path, folder == root):
                    subdirs.append((found.path, found.branch))
            elif found is not None:
                yield found
        stack.extend(reversed(subdirs))


class _Enter(NamedTuple):
    """A folder to walk into, with the real paths of the folders above it."""

    path: Path
    branch: tuple[str, ...]


class _Walk:
    """The walk's memory: its resolved root, folders entered and files listed."""

    def __init__(self, root: Path, top: str, wanted: Callable[[os.DirEntry[str]], bool]) -> None:
        self.root = root
        self.top = top
        self.wanted = wanted
        self.seen_dirs = {top}
        self.seen_files: set[str] = set()

    def inside(self, real: str) -> bool:
        return real == self.top or real.startswith(self.top.rstrip(os.sep) + os.sep)

    def visit(
        self, entry: os.DirEntry[str], branch: tuple[str, ...]
    ) -> Found | ItemError | _Enter | None:
        """A file to yield, an error, a folder to enter (with its branch), or nothing."""
        path = entry.path
        if not (entry.name.isascii() or _valid_name(entry.name)):
            return ItemError(
                printable(entry.path), "the name is not valid UTF-8; rename it to harvest it"
            )
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            return ItemError(str(path), f"cannot stat ({exc.strerror or exc})")
        if not (is_dir or is_file):
            return _not_regular(entry, Path(path))
        if is_file and not entry.is_symlink():
            # its folder's real path (inside the tree, or it would not be walked): no
            # syscall and no containment test -- the common case, 10^5 times a run
            folder = branch[-1]
            real = folder + entry.name if folder.endswith(os.sep) else folder + os.sep + entry.name
            return self._file(entry, path, real)
        real = os.path.realpath(path)
        if not self.inside(real):
            return ItemError(
                path,
                f"symbolic link to {real}, outside the harvested folder {self.top}; not followed",
            )
        if is_file:
            return self._file(entry, path, real)
        return self._folder(Path(path), real, branch)

    def _file(self, entry: os.DirEntry[str], path: str, real: str) -> Found | None:
        if not self.wanted(entry):
            return None
        if real in self.seen_files:
            return None  # reached twice (a link to a file of the tree): listed once
        self.seen_files.add(real)
        if entry.is_symlink():  # listed where it really is, so a later visit skips it
            return str(self.root / os.path.relpath(real, self.top)), entry
        return path, entry

    def _folder(self, path: Path, real: str, branch: tuple[str, ...]) -> ItemError | _Enter | None:
        if real in branch:
            return ItemError(
                str(path), f"symbolic link loop: {path} leads back to {real}; not followed"
            )
        if real in self.seen_dirs:
            return None  # a second link to a folder already walked
        self.seen_dirs.add(real)
        return _Enter(path, (*branch, real))


def _not_regular(entry: os.DirEntry[str], path: Path) -> ItemError:
    """Why an entry that is neither a folder nor a regular file is not harvested."""
    if entry.is_symlink() and not os.path.exists(path):
        return ItemError(str(path), "broken symbolic link: its target does not exist")
    try:
        kind = special_kind(os.stat(path).st_mode)
    except OSError as exc:
        return ItemError(str(path), f"cannot stat ({exc.strerror or exc})")
    return ItemError(str(path), f"not a regular file ({kind}); not read")


def special_kind(mode: int) -> str:
    """'a character device', 'a FIFO', ... for a stat mode that is not a file or folder."""
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _valid_name(name: str) -> bool:
    """False for names that held bytes which are not UTF-8 (decoded as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    """A path as text that any store and report can hold: invalid bytes as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
