"""A short-lived cache of serialised search responses.

A search with facets costs the backend milliseconds; the same popular query arriving many
times a second should not. Entries are keyed by the caller's identity (so visibility can
never cross callers), the path and the full query string, and are dropped when the index
changes (the index stamp that `IndexSync` touches after every commit, in any process),
when this process writes a record, or after `ttl` seconds, whichever comes first.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import suppress
from pathlib import Path

Key = tuple[Hashable, ...]


def stamp_generation(stamp: Path) -> Callable[[], int]:
    """A generation counter read from the index stamp file's modification time."""

    name = str(stamp)

    def generation() -> int:
        try:
            return os.stat(name).st_mtime_ns
        except FileNotFoundError:
            return -1

    return generation


class ResponseCache:
    """LRU of (generation, expiry, body) per key.

    Read and filled on the event loop thread; `clear()` may come from a worker thread.
    """

    def __init__(
        self, generation: Callable[[], int], ttl: float = 2.0, max_entries: int = 1024
    ) -> None:
        self.generation = generation
        self.ttl = ttl
        self.max_entries = max_entries
        self.epoch = 0  # bumped by clear(): results computed before a write are not stored
        self._entries: OrderedDict[Key, tuple[int, float, bytes]] = OrderedDict()

    def get(self, key: Key) -> bytes | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        generation, expires, body = entry
        if time.monotonic() > expires or generation != self.generation():
            self._entries.pop(key, None)
            return None
        with suppress(KeyError):  # cleared meanwhile by a writer thread
            self._entries.move_to_end(key)
        return body

    def put(self, key: Key, body: bytes, epoch: int, generation: int) -> None:
        """Store a body computed when `epoch`/`generation` were current (else drop it)."""
        if self.ttl <= 0 or epoch != self.epoch:
            return
        self._entries[key] = (generation, time.monotonic() + self.ttl, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()
