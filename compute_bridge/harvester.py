"""The harvester of job output folders: how pipeline outputs enter the catalogue.

The compute service never writes derived records itself; it harvests the finished job's
`output/` folder through the harvest service like any other source, so derived records
get the same checksums, annotations, incremental state and index updates. The folder's
`metadata.json` (written by the runner) lists the outputs; each becomes one `derived`
record linked `IsDerivedFrom` its inputs, with the BIDS suffix of its map (so the
annotator adds e.g. the T2 map concept) and keywords naming the pipeline and version.

Only a complete job is harvestable: the location must be a job's `output/` folder whose
runner reported success. A `output.partial/` folder (a failed or running job) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from catalog.domain.enums import Level, RelationType
from catalog.domain.errors import SourceUnusableError
from catalog.domain.records import (
    Access,
    BidsInfo,
    Creator,
    FileEntry,
    Imaging,
    RecordCreate,
    Related,
    SourceInfo,
    Term,
)
from compute_bridge.workdir import METADATA_FILE, OUTPUT_DIR, read_outcome
from harvesters.base import FileFacts, HarvestedRecord, Harvester, HarvestOptions, ItemError

_FORMATS = {".nii": "nii", ".csv": "text/csv", ".png": "image/png", ".json": "application/json"}
_BIDS = "https://bids-specification.readthedocs.io/en/stable/glossary.html#"


class JobOutputOptions(HarvestOptions):
    """Set by the compute service: who may see the outputs, and extra search words."""

    job_id: str = ""
    access: Access | None = None
    keywords: list[str] = Field(default_factory=list)
    creators: list[Creator] = Field(default_factory=list)


class JobOutputHarvester(Harvester):
    """Harvests a finished compute job's output folder (the compute bridge runs it)."""

    name: ClassVar[str] = "compute"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = (
        "a finished compute job's output/ folder; run by `imagora compute run`, not by hand"
    )
    internal: ClassVar[bool] = True
    Options: ClassVar[type[HarvestOptions]] = JobOutputOptions

    def check_location(self, location: str) -> Path:
        path = super().check_location(location)
        if path.name != OUTPUT_DIR or not (path / METADATA_FILE).is_file():
            raise SourceUnusableError(
                f"{location}: not a finished job's output folder (expected "
                f"<job dir>/{OUTPUT_DIR}/ with {METADATA_FILE}); partial outputs are never "
                "catalogued"
            )
        outcome = read_outcome(path.parent)
        if outcome is None or not outcome.ok:
            raise SourceUnusableError(f"{location}: the job did not succeed; nothing to catalogue")
        return path

    def discover(self, location: Path) -> Iterator[Path | ItemError]:
        for path in sorted(location.iterdir()):
            if path.is_file():
                yield path

    def read(self, path: Path) -> list[FileFacts]:
        if path.name == METADATA_FILE:
            return [FileFacts(path.name, "job", json.loads(path.read_text(encoding="utf-8")))]
        return [FileFacts(path.name, "file", {"size": path.stat().st_size})]

    def assemble(
        self, location: Path, facts: Iterable[FileFacts]
    ) -> Iterator[HarvestedRecord | ItemError]:
        facts = list(facts)
        sizes = {f.path: f.data.get("size") for f in facts if f.kind == "file"}
        job = next((f.data for f in facts if f.kind == "job"), None)
        if job is None:
            yield ItemError(METADATA_FILE, "the job's metadata is missing")
            return
        for output in job.get("outputs") or []:
            missing = [name for name in output["files"] if name not in sizes]
            if missing:
                yield ItemError(output["key"], f"listed output files are missing: {missing}")
                continue
            yield HarvestedRecord(output["key"], self._record(location, job, output, sizes))

    def _record(
        self, location: Path, job: dict[str, Any], output: dict[str, Any], sizes: dict[str, Any]
    ) -> RecordCreate:
        options: JobOutputOptions = self.options  # type: ignore[assignment]
        pipeline, version = job["pipeline"], job["pipeline_version"]
        kind = output["kind"]
        return RecordCreate(
            level=Level.derived,
            title=output["title"],
            description=output.get("description") or None,
            creators=options.creators,
            keywords=[
                pipeline,
                f"pipeline {pipeline}",
                f"{pipeline} {version}",
                kind,
                *options.keywords,
            ],
            access=options.access,
            imaging=Imaging(modality="MR"),
            bids=BidsInfo(suffix=kind, rule=f"pipeline:{pipeline}"),
            terms=[_term(kind, pipeline)] if kind in _TERMS else [],
            related=[
                Related(
                    identifier=record_id,
                    scheme="imagora",
                    relation=RelationType.IsDerivedFrom,
                    resource_type="Dataset",
                )
                for record_id in output["derived_from"]
            ],
            files=[
                FileEntry(path=name, size=sizes.get(name), format=_format(name))
                for name in output["files"]
            ],
            source=SourceInfo(
                type="compute",
                location=str(location),
                external_id=f"{options.job_id}#{output['key']}",
                harvester_version=self.version,
                raw={
                    "job_id": options.job_id,
                    "pipeline": pipeline,
                    "pipeline_version": version,
                    "params": job.get("params") or {},
                    "stats": output.get("stats") or {},
                },
            ),
        )


_TERMS = {
    "T2map": ("t2map-suffixes", "True transverse relaxation time image"),
    "T2starmap": ("t2starmap-suffixes", "Observed transverse relaxation time image"),
    "T1map": ("t1map-suffixes", "Longitudinal relaxation time image"),
}


def _term(kind: str, pipeline: str) -> Term:
    anchor, label = _TERMS[kind]
    return Term(
        iri=_BIDS + anchor,
        label=label,
        scheme="bids",
        rule=f"pipeline:{pipeline}",
        confidence=1.0,
        evidence={"output": kind},
        status="accepted",
    )


def _format(name: str) -> str | None:
    return _FORMATS.get(Path(name).suffix)
