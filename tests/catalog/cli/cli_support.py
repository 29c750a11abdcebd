"""Types shared by the command-line tests (a module of its own: conftest is not importable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from click.testing import Result

#: `invoke("search", "x", "--json")` runs `imagora --data-dir <tmp> search x --json`.
Invoke = Callable[..., Result]


@dataclass
class Seeded:
    """Ids of the records the `seeded` fixture writes (a collection and its acquisition)."""

    collection_id: str
    scan_id: str
