"""One harvest per source at a time, across processes.

Why: two `imagora harvest` runs of the same source (or a scheduled `sources run --due`
meeting a manual run) both created the same records and the second died on the store's
unique constraint with an IntegrityError traceback. Now the second refuses at once with
`HarvestRunningError` ("a harvest of this source is running"; exit status 2 in the CLI).

How: an advisory `flock` on `<data dir>/harvest-locks/<hash of the source>.lock`, taken
without waiting. The kernel drops it when the process ends, so a killed harvest never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.domain.errors import HarvestRunningError


def source_key(kind: str, location: str) -> str:
    """The same source however it is spelled (relative paths, links to the folder)."""
    where = os.path.realpath(location) if os.path.exists(location) else location
    return f"{kind}:{where}"


class SourceLocks:
    """Owner of the lock folder; `hold(key)` is the critical section of one harvest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()[:24]
        return self.folder / f"{digest}.lock"

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Run the block holding the source's lock; refuse if another process holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path_for(key), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HarvestRunningError(
                    f"a harvest of this source is running ({key}); try again when it has finished"
                ) from None
            yield
        finally:
            os.close(fd)  # closing releases the lock
