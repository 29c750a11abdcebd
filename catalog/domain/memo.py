"""The one memo type: bounded, owned by an object, keyed by a generation.

Searches repeat: the same words, concepts and filter sets come back query after query, so
their derived objects (query objects, expansions, recognised concepts) are worth keeping.
A `Memo` belongs to the object that fills it (a backend, a vocabulary, a service), holds
at most `max_size` entries (least recently used go first), and forgets everything when
its `generation` changes (the index generation, the vocabulary version): what it holds
is valid for one snapshot only. No module-level caches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """A bounded LRU map for one generation of its owner's data."""

    def __init__(self, max_size: int = 4096, name: str = "memo") -> None:
        if max_size < 1:
            raise ValueError("a memo holds at least one entry")
        self.max_size = max_size
        self.name = name
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._generation: Hashable = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, build: Callable[[], V], generation: Hashable = None) -> V:
        """The value for `key` in `generation`, built (once) when missing."""
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            try:
                value = self._entries[key]
            except KeyError:
                pass
            else:
                self._entries.move_to_end(key)
                self.hits += 1
                return value
        value = build()
        with self._lock:
            self.misses += 1
            if generation == self._generation:
                self._entries[key] = value
                if len(self._entries) > self.max_size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
