"""One safe directory walk for every file-based harvester.

Sorted and depth-first (so harvests are deterministic), it follows symbolic links to
folders once, reports a link back to one of its own ancestors as a loop instead of walking
forever, skips a second link to a folder already walked (no double harvest), and turns
unreadable folders, unstat-able entries and broken links into `ItemError`s so that one
bad corner never stops a run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

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
    if root.is_file():
        yield root
        return
    top = os.path.realpath(root)
    seen = {top}
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
            found = _visit(entry, branch, seen, wanted)
            if isinstance(found, tuple):
                if not skip_dir(found[0], folder == root):
                    subdirs.append(found)
            elif found is not None:
                yield found
        stack.extend(reversed(subdirs))


def _visit(
    entry: os.DirEntry[str],
    branch: tuple[str, ...],
    seen: set[str],
    wanted: Callable[[os.DirEntry[str]], bool],
) -> Path | ItemError | tuple[Path, tuple[str, ...]] | None:
    """A file to yield, an error, a folder to enter (with its branch), or nothing."""
    path = Path(entry.path)
    try:
        is_dir = entry.is_dir()
        is_file = not is_dir and entry.is_file()
    except OSError as exc:
        return ItemError(str(path), f"cannot stat ({exc.strerror or exc})")
    if is_file:
        return path if wanted(entry) else None
    if not is_dir:
        if entry.is_symlink():
            return ItemError(str(path), "broken symbolic link: its target does not exist")
        return None
    real = os.path.realpath(path)
    if real in branch:
        return ItemError(
            str(path), f"symbolic link loop: {path} leads back to {real}; not followed"
        )
    if real in seen:
        return None  # a second link to a folder already walked
    seen.add(real)
    return path, (*branch, real)
