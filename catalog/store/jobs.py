"""The jobs repository (compute bridge): one row per job, mapped to `StoredJob`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.store.models import JobRow


@dataclass
class StoredJob:
    """The store's plain view of a job; the compute service owns its rules."""

    id: str
    owner: str
    pipeline: str
    pipeline_version: str
    executor: str
    state: str
    spec: dict[str, Any]
    request: dict[str, Any]
    created: datetime
    external_id: str | None = None
    message: str | None = None
    log_tail: str | None = None
    outcome: dict[str, Any] | None = None
    outputs: list[Any] = field(default_factory=list)
    provenance: dict[str, Any] | None = None
    rerun_of: str | None = None
    started: datetime | None = None
    finished: datetime | None = None


_FIELDS = [f.name for f in fields(StoredJob)]


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite drops the zone
    return value


def _to_job(row: JobRow) -> StoredJob:
    job = StoredJob(**{name: getattr(row, name) for name in _FIELDS})
    job.created = _aware(job.created) or job.created
    job.started, job.finished = _aware(job.started), _aware(job.finished)
    job.outputs = list(job.outputs or [])
    return job


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, job_id: str) -> StoredJob | None:
        row = self.session.get(JobRow, job_id)
        return _to_job(row) if row is not None else None

    def save(self, job: StoredJob) -> None:
        row = self.session.get(JobRow, job.id)
        if row is None:
            row = JobRow(id=job.id)
            self.session.add(row)
        for name in _FIELDS:
            if name != "id":
                setattr(row, name, getattr(job, name))

    def list(self, owner: str | None = None, limit: int = 100) -> list[StoredJob]:
        query = select(JobRow).order_by(JobRow.created.desc()).limit(limit)
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        return [_to_job(row) for row in self.session.scalars(query)]
