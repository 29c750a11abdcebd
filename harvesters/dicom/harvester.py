"""The DICOM harvester: folders of DICOM files -> subject / session / acquisition records.

`discover` lists candidate files, `read` extracts privacy-safe facts from one file's
header (fast scanner, pydicom fallback), `assemble` groups them by PatientID pseudonym,
StudyInstanceUID and SeriesInstanceUID.

A harvest reads changed files in worker processes (`pool.py`; `workers` option, default
every CPU this process may use, single-process for small batches): a header read is
~0.5 ms of Python on a warm cache, so processes, not threads, add throughput. Discovery
(`discover.scan`) stats each file once from its directory entry. `read_many` reads many
files on a thread pool, for callers that wait on cold or network storage.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from catalog.domain.results import ItemState
from harvesters.base import (
    Fetched,
    FileFacts,
    HarvestedRecord,
    Harvester,
    HarvestOptions,
    ItemError,
    ItemRef,
)
from harvesters.dicom import tags as T
from harvesters.dicom.assemble import Context, assemble
from harvesters.dicom.discover import items, walk
from harvesters.dicom.extract import read_values
from harvesters.dicom.normalize import as_text, file_facts
from harvesters.dicom.pool import POOL_MIN_ITEMS, PoolReader, worker_count
from harvesters.privacy import Scrubber, path_aliases, pseudonym
from harvesters.species import require_species


class DicomOptions(HarvestOptions):
    """The DICOM harvester's options: the common ones, and how many processes read."""

    workers: int | None = Field(default=None, ge=1)
    """Processes reading headers at once (`-o workers=N`); default: every CPU this
    process may use. 1 reads in the harvesting process itself."""

    tuning: ClassVar[frozenset[str]] = frozenset({"workers"})


class DicomHarvester(Harvester):
    """Harvests a folder (or a single file) of DICOM data; see the module docstring."""

    name = "dicom"
    version = "1.0.0"
    summary = "a folder (or one file) of DICOM data, any layout"
    example = "imagora harvest dicom /data/pacs-export --species rat"
    Options: ClassVar[type[HarvestOptions]] = DicomOptions
    #: Changed files below which one process reads them all (see `pool.py`).
    pool_min_items: int = POOL_MIN_ITEMS

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        """Candidate files under `location` (sorted, symlink-loop safe, no content read
        except a 132-byte peek at files whose name does not say)."""
        return walk(Path(location))

    def discover_items(self, location: Path) -> Iterator[ItemRef | ItemError]:
        """Keys and size:mtime fingerprints from one walk, each file stat-ed once from its
        directory entry (see `discover.items`)."""
        return items(location)

    def fetch(
        self, location: Path, changed: Sequence[tuple[ItemRef, ItemState | None]]
    ) -> Iterator[Fetched]:
        """Checksums and header reads of the changed files, on worker processes when
        there are enough of them (see `pool.py`), in input order."""
        workers = worker_count(getattr(self.options, "workers", None))
        return PoolReader(self, workers, self.pool_min_items).fetch(location, changed)

    def read(self, path: Path) -> list[FileFacts]:
        """One `FileFacts` (kind "dicom" or "dicomdir") per file.

        Raises ValueError naming the problem (empty, not DICOM, truncated, no UIDs) or
        OSError (cannot open/read).
        """
        name = str(path)
        try:
            size = os.stat(name).st_size
        except OSError as exc:
            raise OSError(exc.errno, f"cannot read file: {exc.strerror}", name) from exc
        if size == 0:
            raise ValueError("empty file (0 bytes): not a DICOM file")
        try:
            values, reader = read_values(name)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot read file: {exc.strerror or exc}", name) from exc
        if values.get("MediaStorageSOPClassUID") == T.MEDIA_STORAGE_DIRECTORY:
            files = sorted(values.get("ReferencedFiles") or [])
            return [FileFacts(path=name, kind="dicomdir", data={"referenced_files": files})]
        data, scrubber = self._facts(values, reader, size)
        aliases = path_aliases(name, scrubber)
        if aliases:
            data["path_aliases"] = aliases
        return [FileFacts(path=name, kind="dicom", data=data)]

    def _facts(
        self, values: dict[str, Any], reader: str, size: int
    ) -> tuple[dict[str, Any], Scrubber]:
        study_uid = as_text(values.get("StudyInstanceUID"))
        if not study_uid or not as_text(values.get("SeriesInstanceUID")):
            raise ValueError(
                "DICOM object without StudyInstanceUID or SeriesInstanceUID: "
                "it cannot be placed in a session and series"
            )
        patient_id = as_text(values.get("PatientID")) or f"no-patient-id:{study_uid}"
        subject = pseudonym(self.options.secret, "dicom", patient_id)
        scrubber = Scrubber.from_header(values, subject)
        facts = file_facts(values, subject=subject, reader=reader, size=size, scrubber=scrubber)
        return facts, scrubber

    def read_many(
        self, paths: Iterable[Path], workers: int = 8
    ) -> Iterator[tuple[Path, list[FileFacts] | ItemError]]:
        """`read` over many files on `workers` threads, results in input order.

        Meant for cold or networked storage where each header read waits on I/O; bad
        files come back as `ItemError`s instead of stopping the batch.
        """
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            yield from pool.map(self._read_or_error, paths)

    def _read_or_error(self, path: Path) -> tuple[Path, list[FileFacts] | ItemError]:
        try:
            return path, self.read(path)
        except (OSError, ValueError) as exc:
            return path, ItemError(str(path), str(exc))

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        """collection -> subject -> session -> acquisition records (deterministic order)."""
        species = None
        if self.options.species:
            try:
                species = require_species(self.options.species)
            except ValueError as exc:
                yield ItemError("options.species", str(exc))
        context = Context(
            location=Path(location),
            harvester_version=self.version,
            collection_title=self.options.collection_title,
            species=species,
        )
        yield from assemble(context, facts)
