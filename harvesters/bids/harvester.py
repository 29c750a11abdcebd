"""The BIDS harvester plugin (`imagora harvest bids DIR`).

`discover` walks the tree cheaply (no file content; it reads only `.bidsignore` files and
leaves out what they match), `read` turns one file into facts (cached by the harvest
service), and `assemble` builds the collection -> subject -> session -> acquisition
hierarchy plus derivative datasets, applying the sidecar inheritance principle, dating
acquisitions from scans.tsv and keeping schema-validation issues as a quality report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from harvesters.base import FileFacts, HarvestedRecord, Harvester, HarvestOptions, ItemError
from harvesters.bids.assemble import Assembly
from harvesters.bids.ignore import DiscoveryFilter
from harvesters.bids.paths import SKIPPED_TOP_DIRS
from harvesters.bids.reader import read_facts
from harvesters.walk import walk_files


class BidsHarvester(Harvester):
    """Harvests a BIDS dataset directory (raw data, sidecars, participants, derivatives)."""

    name: ClassVar[str] = "bids"
    version: ClassVar[str] = "1.0.0"
    summary: ClassVar[str] = "a BIDS dataset (dataset_description.json at its top)"
    example: ClassVar[str] = (
        'imagora harvest bids /data/ds000117 --title "Face processing" --license CC0-1.0'
    )
    Options: ClassVar[type[HarvestOptions]] = HarvestOptions

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        """Every non-hidden, non-ignored file, sorted; bad folders and links are errors.

        `sourcedata/`, `code/` and `stimuli/` at the root may hold anything and are skipped,
        and so is whatever the `.bidsignore` of the raw root or of a derivative dataset
        matches (an ignored folder is not entered; an unreadable `.bidsignore` is an error
        and ignores nothing).  Symlinked folders are followed once: a folder whose real
        path is already on the current branch is a loop and is reported, not entered.
        """
        root = Path(location)
        ignore = DiscoveryFilter(root)

        def skip_dir(folder: Path, at_root: bool) -> bool:
            return (at_root and folder.name in SKIPPED_TOP_DIRS) or ignore.skip_dir(folder)

        yield from ignore.drain()
        for found in walk_files(root, ignore.wanted, skip_dir=skip_dir):
            yield from ignore.drain()
            yield found
        yield from ignore.drain()

    def read(self, path: Path) -> list[FileFacts]:
        """Facts of one file; raises ValueError naming the file (and JSON line/column)."""
        return read_facts(Path(path))

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        """Records parents-first: collection, subjects, sessions, acquisitions, derivatives."""
        assembly = Assembly(Path(location), self.options, self.version)
        assembly.load(facts)
        yield from assembly.records()
