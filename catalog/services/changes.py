"""Committed changes, announced by the services to whoever listens.

A service that commits a write announces the ids it changed (after the index has been
brought up to date), so derived state elsewhere can follow: the web layer's response
cache listens and drops what it holds, instead of each route clearing it by hand.
Listeners must be quick and must not raise (a failing listener is logged and skipped:
the write itself has already happened).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[str]], None]


class ChangeFeed:
    """Subscribe listeners; services call `announce` after each committed write."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def announce(self, record_ids: Sequence[str]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(record_ids)
            except Exception:
                log.warning("a change listener failed", exc_info=True)
