"""A job's inputs from remote sources (XNAT, Shanoir-NG): downloaded into the job's folder.

Why at submission, in the service: the executors (local, Slurm) and the runner then see
the same `StagedInput` as for local DICOM / NIfTI files and stay unchanged, and the
credentials never leave this process (no job file or message holds them; every message
went through the HTTP client's redaction). A failed download fails the job at once,
naming the record; nothing is catalogued from it.

Which harvester fetches a record's files is the record's `source.type`: any harvester
whose class sets `stages_files` (see `harvesters.staging`), so adding a remote source
type adds its staging without touching the compute service.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from catalog.domain.errors import ImagoraError
from catalog.services.harvest import HarvestService
from catalog.store.repository import StoredRecord
from compute_bridge.base import StagedInput
from harvesters.registry import harvesters
from harvesters.staging import StageLimits, StageRequest, clear

INPUTS_DIR = "inputs"
_IMAGE_SUFFIXES = (".nii", ".nii.gz")
_NOT_IMAGES = (".xml", ".json", ".txt", ".log", ".csv", ".html")


@dataclass(frozen=True)
class PendingInput:
    """A remote input to download once the job has a folder."""

    index: int
    kind: str
    request: StageRequest


class RemoteInputs:
    """Downloads remote records' files for jobs, through each source's harvester."""

    def __init__(self, harvest: HarvestService, limits: StageLimits | None = None) -> None:
        self.harvest = harvest
        self.limits = limits or StageLimits()

    @staticmethod
    def handles(kind: str | None) -> bool:
        """Whether records of this source type are staged by download."""
        if not kind or kind not in harvesters.names():
            return False
        try:
            return bool(harvesters.get(kind).stages_files)
        except ImagoraError:
            return False

    @staticmethod
    def pending(index: int, stored: StoredRecord) -> PendingInput:
        source = stored.body.get("source") or {}
        request = StageRequest(
            record_id=stored.id,
            title=stored.title,
            location=str(source.get("location") or ""),
            external_id=str(source.get("external_id") or ""),
            files=list(stored.body.get("files") or []),
            raw=dict(source.get("raw") or {}),
        )
        return PendingInput(index, str(source.get("type")), request)

    def fetch(
        self, pending: list[PendingInput], inputs: list[StagedInput], work_dir: Path
    ) -> str | None:
        """Download each pending input and fill its `StagedInput`; the failure message
        (naming the record) of the first that fails, or None."""
        for item in pending:
            dest = work_dir / INPUTS_DIR / item.request.record_id
            try:
                files = self.harvest.stage(item.kind, item.request, dest, self.limits)
                inputs[item.index] = _filled(inputs[item.index], files, item.request)
            except ImagoraError as exc:
                clear(dest)
                return _message(item, exc.message)
            except OSError as exc:
                clear(dest)
                return _message(item, f"cannot write its files here ({exc.strerror or exc})")
        return None


def digest(paths: list[Path]) -> str:
    """One checksum of a multi-file input (the files' bytes in order), for PROV."""
    hashed = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hashed.update(block)
    return "sha256:" + hashed.hexdigest()


def _filled(base: StagedInput, files: list[Path], request: StageRequest) -> StagedInput:
    images = [f for f in files if f.name.endswith(_IMAGE_SUFFIXES)]
    if images:
        return base.model_copy(
            update={"path": str(images[0]), "format": "nifti", "checksum": digest(images[:1])}
        )
    series = [f for f in files if not f.name.lower().endswith(_NOT_IMAGES)]
    if not series:
        raise _NoImages(f"{request.where}: the source's download holds no image file")
    return base.model_copy(
        update={
            "path": str(series[0]),
            "files": [str(f) for f in series],
            "format": "dicom",
            "checksum": digest(series),
        }
    )


class _NoImages(ImagoraError):
    """A download without any image file (e.g. a resource of reports only)."""

    status = 502
    code = "no_images"


def _message(item: PendingInput, reason: str) -> str:
    where = item.request.where
    reason = reason if where in reason else f"{where}: {reason}"
    return f"staging the inputs from the {item.kind} source failed: {reason}"
