"""Typed requests and views of the compute bridge (jobs and pipelines) at the API/CLI
boundary. The compute service owns the rules; these are only shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from compute_bridge.base import JobState, ResourceUse
from compute_bridge.descriptors import Parameter


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceRequest(_Model):
    """Per-job overrides of the descriptor's suggested resources."""

    cpus: int | None = Field(None, ge=1, le=256)
    memory_gb: float | None = Field(None, gt=0)
    time_limit_s: int | None = Field(None, ge=1)
    gpus: int | None = Field(None, ge=0, le=16)


class JobRequest(_Model):
    """`POST /api/jobs` and `imagora compute run`: a pipeline on selected records."""

    pipeline: str
    records: list[str] = Field(default_factory=list, description="Input record ids")
    query: str | None = Field(None, description="Or: every record this search finds")
    level: str | None = Field(
        "acquisition", description="The record level a query selects (None: any level)"
    )
    executor: str = "local"
    params: dict[str, Any] = Field(default_factory=dict)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    partition: str | None = None
    resources: ResourceRequest = Field(default_factory=ResourceRequest)


class JobPublic(_Model):
    """A job as its owner (or an admin/curator) sees it."""

    id: str
    pipeline: str
    pipeline_version: str
    executor: str
    external_id: str | None = None
    state: JobState
    owner: str
    inputs: list[str]
    params: dict[str, Any]
    outputs: list[str] = Field(default_factory=list, description="Derived record ids")
    message: str | None = None
    log_tail: str | None = None
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    device: str | None = None
    host: str | None = None
    resources: dict[str, Any] = Field(default_factory=dict, description="Asked for")
    use: ResourceUse | None = Field(None, description="Measured by the runner")
    rerun_of: str | None = None
    rerun_command: str


class PipelinePublic(_Model):
    """`GET /api/pipelines`: one registered pipeline and its Boutiques descriptor facts."""

    name: str
    version: str
    description: str
    parameters: list[Parameter]
    outputs: list[str]
    container_image: str | None = None
    descriptor_sha256: str
    resources: dict[str, Any]
    record_id: str | None = Field(None, description="The pipeline's catalogue record")


class PipelineList(_Model):
    pipelines: list[PipelinePublic]
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="Pipeline name -> why it cannot load"
    )
