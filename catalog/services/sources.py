"""Registered harvest sources: harvest the same location again, by name or on a schedule.

Operators register a source once (type, location, options, an interval); a systemd timer
or cron then runs `imagora sources run --due`, which harvests every enabled source whose
interval has passed. Each run is the same incremental harvest as `imagora harvest`, and
its report is kept on the source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.results import HarvestReport
from catalog.services.access import require_admin
from catalog.services.harvest import HarvestService, Progress
from catalog.store.repository import StoredSource, UnitOfWork, utcnow
from harvesters.remote import refuse_stored_secrets

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_INTERVAL = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": 1, "h": 60, "d": 1440}


class SourceInfo(BaseModel):
    """A registered source as callers see it."""

    name: str
    kind: str
    location: str
    options: dict[str, Any]
    interval_minutes: int | None
    enabled: bool
    last_run: datetime | None
    last_report: dict[str, Any] | None


class SourceRun(BaseModel):
    name: str
    report: HarvestReport | None = None
    error: str | None = None


def parse_interval(text: str | None) -> int | None:
    """ "30m", "6h", "1d" -> minutes; None or "" -> manual only."""
    if not text:
        return None
    match = _INTERVAL.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValidationError(f"interval '{text}' is not like 30m, 6h or 1d", field="every")
    return int(match.group(1)) * _UNITS[match.group(2)]


class SourceService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], harvest: HarvestService) -> None:
        self.uow_factory = uow_factory
        self.harvest = harvest

    def add(
        self,
        identity: Identity,
        name: str,
        kind: str,
        location: str,
        options: dict[str, Any],
        every: str | None = None,
    ) -> SourceInfo:
        """Register (or replace) a source; its options are checked against the harvester."""
        require_admin(identity, "registering harvest sources")
        if not _NAME.match(name):
            raise ValidationError(
                "a source name is 1-100 letters, digits, '.', '_' or '-'", field="name"
            )
        refuse_stored_secrets(options)
        parsed = self.harvest.parse_options(kind, options)
        stored = StoredSource(
            name=name,
            kind=kind,
            location=location,
            options=parsed.model_dump(mode="json", exclude={"secret"}, exclude_defaults=True),
            interval_minutes=parse_interval(every),
        )
        with self.uow_factory() as uow:
            uow.sources.save(stored)
            uow.commit()
        return _info(stored)

    def list(self, identity: Identity) -> list[SourceInfo]:
        require_admin(identity, "listing harvest sources")
        with self.uow_factory() as uow:
            return [_info(s) for s in uow.sources.list()]

    def remove(self, identity: Identity, name: str) -> None:
        """Forget the source; its records stay (withdraw them with a harvest if needed)."""
        require_admin(identity, "removing harvest sources")
        with self.uow_factory() as uow:
            if not uow.sources.remove(name):
                raise NotFoundError(f"no harvest source named '{name}'")
            uow.commit()

    def run(
        self,
        identity: Identity,
        name: str,
        progress: Progress | None = None,
        full: bool = False,
    ) -> HarvestReport:
        """Harvest source NAME now; `full` makes this one run a full re-read (e.g. a weekly
        cron entry beside the timer's incremental runs) without changing the source."""
        require_admin(identity, "running harvest sources")
        with self.uow_factory() as uow:
            source = uow.sources.get(name)
        if source is None:
            raise NotFoundError(f"no harvest source named '{name}'")
        options = self.harvest.parse_options(source.kind, source.options)
        options.full = options.full or full
        report = self.harvest.run(identity, source.kind, source.location, options, progress)
        source.last_run = utcnow()
        source.last_report = report.model_dump(mode="json", exclude={"errors"}) | {
            "errors": [e.model_dump() for e in report.errors[:50]]
        }
        with self.uow_factory() as uow:
            uow.sources.save(source)
            uow.commit()
        return report

    def run_due(
        self, identity: Identity, now: datetime | None = None, progress: Progress | None = None
    ) -> list[SourceRun]:
        """Harvest every enabled, scheduled source whose interval has passed.

        One source failing (e.g. its disk is unmounted) is reported and the others run.
        """
        require_admin(identity, "running harvest sources")
        now = now or utcnow()
        with self.uow_factory() as uow:
            due = [s for s in uow.sources.list() if _is_due(s, now)]
        runs: list[SourceRun] = []
        for source in due:
            try:
                runs.append(
                    SourceRun(name=source.name, report=self.run(identity, source.name, progress))
                )
            except Exception as exc:
                message = getattr(exc, "message", None) or str(exc)
                runs.append(SourceRun(name=source.name, error=message))
        return runs


def _is_due(source: StoredSource, now: datetime) -> bool:
    if not source.enabled or source.interval_minutes is None:
        return False
    if source.last_run is None:
        return True
    return source.last_run + timedelta(minutes=source.interval_minutes) <= now


def _info(source: StoredSource) -> SourceInfo:
    return SourceInfo(
        name=source.name,
        kind=source.kind,
        location=source.location,
        options=source.options,
        interval_minutes=source.interval_minutes,
        enabled=source.enabled,
        last_run=source.last_run,
        last_report=source.last_report,
    )
