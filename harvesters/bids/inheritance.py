"""The BIDS inheritance principle: which JSON sidecars apply to a data file.

A sidecar at the dataset root, subject, session or datatype level applies to every data
file below it whose entities include all of the sidecar's entities and whose suffix is
the sidecar's suffix.  Values from the sidecar closest to the file win.  Only sidecars of
the file's own dataset apply (a derivative dataset does not inherit from the raw one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harvesters.bids.paths import BidsName


@dataclass(frozen=True)
class Sidecar:
    """A parsed sidecar: where it sits, what it selects, what it says."""

    path: str
    directory: str
    entities: dict[str, str]
    suffix: str
    metadata: dict[str, Any]


class SidecarIndex:
    """Sidecars grouped by (directory, suffix) so lookups cost one probe per level."""

    def __init__(self, sidecars: Iterable[Sidecar]) -> None:
        self._by_place: dict[tuple[str, str], list[Sidecar]] = defaultdict(list)
        for sidecar in sidecars:
            self._by_place[(sidecar.directory, sidecar.suffix)].append(sidecar)
        for group in self._by_place.values():
            # Within one level, the more specific file (more entities) is applied last.
            group.sort(key=lambda s: (len(s.entities), s.path))

    def applicable(self, rel_path: str, name: BidsName, root: str) -> list[Sidecar]:
        """Sidecars that apply to `rel_path`, farthest first (so later ones override)."""
        if name.suffix is None:
            return []
        found: list[Sidecar] = []
        for directory in _levels(rel_path, root):
            for sidecar in self._by_place.get((directory, name.suffix), ()):
                if _selects(sidecar.entities, name.entities):
                    found.append(sidecar)
        return found

    def merged(self, rel_path: str, name: BidsName, root: str) -> tuple[dict[str, Any], list[str]]:
        """Merged metadata (closest wins) and the sidecar paths it came from."""
        metadata: dict[str, Any] = {}
        sources: list[str] = []
        for sidecar in self.applicable(rel_path, name, root):
            metadata.update(sidecar.metadata)
            sources.append(sidecar.path)
        return metadata, sources


def _levels(rel_path: str, root: str) -> list[str]:
    """Directories from the dataset root down to the file's own directory."""
    directory = rel_path.rpartition("/")[0]
    inner = directory[len(root) :].strip("/") if root else directory
    levels = [root]
    current = root
    for part in inner.split("/") if inner else []:
        current = f"{current}/{part}" if current else part
        levels.append(current)
    return levels


def _selects(sidecar_entities: dict[str, str], file_entities: dict[str, str]) -> bool:
    return all(file_entities.get(key) == value for key, value in sidecar_entities.items())
