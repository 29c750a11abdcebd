"""The compute bridge's typed interfaces: jobs, pipelines and executors.

A job is described once, by the compute service, as a `JobSpec` written to
`<work dir>/job.json`. Every executor runs the same command on it
(`python -m compute_bridge.runner <work dir>`), so a job gives the same bytes whether it
ran in a local worker process or under Slurm; executors only differ in how they start,
watch and stop that command. The runner writes outputs to `output.partial/` and renames
the folder to `output/` only after the pipeline finished, so partial outputs can never
be catalogued.

`Pipeline` and `Executor` are small interfaces (1-4 methods) with typed inputs; one
registry each lives in `compute_bridge.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from compute_bridge.descriptors import Descriptor

ParamValue = bool | int | float | str | list[float]


class JobState(StrEnum):
    """queued -> running -> succeeded | failed | cancelled (queued may also be cancelled
    or fail to start)."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.succeeded, JobState.failed, JobState.cancelled)


#: The state machine: which state may follow which.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.queued: frozenset(
        {JobState.running, JobState.failed, JobState.cancelled, JobState.succeeded}
    ),
    JobState.running: frozenset({JobState.succeeded, JobState.failed, JobState.cancelled}),
    JobState.succeeded: frozenset(),
    JobState.failed: frozenset(),
    JobState.cancelled: frozenset(),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resources(_Model):
    """What a job asks of its executor (from the descriptor, overridable per job)."""

    cpus: int = Field(1, ge=1, le=256)
    memory_gb: float = Field(2.0, gt=0)
    time_limit_s: int = Field(3600, ge=1)
    gpus: int = Field(0, ge=0, le=16)


class InputMeta(_Model):
    """Acquisition facts a pipeline needs, read from the input record's metadata."""

    te_ms: float | None = None
    ti_ms: float | None = None
    tr_ms: float | None = None
    flip_angle_deg: float | None = None
    echo_times_ms: list[float] | None = None
    inversion_times_ms: list[float] | None = None
    flip_angles_deg: list[float] | None = None
    suffix: str | None = Field(None, description="BIDS suffix (MESE, MEGRE, IRT1, VFA, dseg)")


class StagedInput(_Model):
    """One input file, staged where the job can read it."""

    record_id: str
    title: str
    path: str
    checksum: str | None = None
    role: Literal["data", "roi"] = "data"
    meta: InputMeta = Field(default_factory=InputMeta)
    format: Literal["nifti", "dicom", "bruker"] = Field(
        "nifti",
        description="nifti: `path` is the image; dicom: `files` is the whole series; "
        "bruker: `path` is the scan's pdata/<n>/2dseq (see compute_bridge.volumes)",
    )
    files: list[str] = Field(
        default_factory=list, description="Every file of a DICOM series (`path` is the first)"
    )


class JobSpec(_Model):
    """Everything the runner needs; written to `<work_dir>/job.json` at submission."""

    job_id: str
    pipeline: str
    pipeline_version: str
    params: dict[str, ParamValue] = Field(default_factory=dict)
    inputs: list[StagedInput]
    work_dir: str
    resources: Resources = Field(default_factory=Resources)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    executor: str = "local"
    partition: str | None = None
    python: str = Field("", description="The interpreter that runs the job; '' = the caller's")

    @property
    def path(self) -> Path:
        return Path(self.work_dir)


class ResourceUse(_Model):
    """Measured by the runner (job page, PROV)."""

    wall_s: float | None = None
    cpu_s: float | None = None
    max_rss_mb: float | None = None
    gpu_peak_mb: float | None = None


class RunOutcome(_Model):
    """`<work_dir>/result.json`, written by the runner when it ends (either way)."""

    ok: bool
    error: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    host: str = ""
    device: str = ""
    device_note: str = Field("", description="Why `device` is not the one asked for")
    torch_version: str = ""
    cuda_version: str | None = None
    use: ResourceUse = Field(default_factory=ResourceUse)


class JobStatus(_Model):
    """What an executor can tell about a job right now."""

    state: JobState
    message: str = ""
    exit_code: int | None = None


class OutputMap(_Model):
    """One derived dataset a pipeline produced (becomes one derived record)."""

    key: str = Field(..., description="Stable within the job, e.g. 't2:<input record id>'")
    title: str
    kind: str = Field(..., description="T2map, T2starmap, T1map, dseg, ...")
    files: list[str] = Field(..., description="Paths relative to the output folder; first = map")
    derived_from: list[str] = Field(..., description="Input record ids")
    description: str = ""
    stats: dict[str, float] = Field(default_factory=dict)


class PipelineResult(_Model):
    """What a pipeline run returns; the runner writes it to `output/metadata.json`."""

    outputs: list[OutputMap]


class Pipeline(ABC):
    """A registered computation. Subclasses ship a Boutiques descriptor next to them."""

    name: ClassVar[str] = "base"
    #: The descriptor's file name, in the pipeline module's folder.
    descriptor_file: ClassVar[str] = ""

    @classmethod
    def descriptor(cls) -> Descriptor:
        """The validated Boutiques descriptor (validated once, at registration)."""
        from compute_bridge.descriptors import load_descriptor

        return load_descriptor(cls)

    @abstractmethod
    def check(self, params: dict[str, ParamValue], inputs: list[StagedInput]) -> None:
        """Refuse (ValidationError naming the field) what cannot run, before submission."""

    @abstractmethod
    def run(
        self, spec: JobSpec, out_dir: Path, device: str
    ) -> PipelineResult:  # pragma: no cover - interface
        """Compute into `out_dir` on `device` ("cpu", "cuda:0", ...)."""


class ExecutorSettings(_Model):
    """Settings every executor takes; plugins subclass it."""

    python: str = ""


class Executor(ABC):
    """Starts, watches and stops the runner command for a job."""

    name: ClassVar[str] = "base"
    Settings: ClassVar[type[ExecutorSettings]] = ExecutorSettings

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        self.settings = settings or self.Settings()

    @abstractmethod
    def submit(self, spec: JobSpec) -> str:
        """Start the job; return the executor's id for it (pid, Slurm job id)."""

    @abstractmethod
    def status(self, spec: JobSpec, external_id: str) -> JobStatus:
        """The job's state as the executor sees it (terminal states read result.json)."""

    @abstractmethod
    def cancel(self, spec: JobSpec, external_id: str) -> None:
        """Stop the job; a job already ended is left alone."""
