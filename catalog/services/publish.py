"""PublishService: a record version gets a DOI on Zenodo or DataCite, once.

Rules, in order: only curators and admins publish; withdrawn records and records whose
metadata or files are restricted are refused (restricted data is never published
openly; embargoed data goes out with its embargo date); files leave only through the
de-identification gate (`exporters.deid`), which refuses the whole deposit if any file
cannot be cleaned. Each (record, service, version) has one `publications` row; its
checkpoint is committed after every remote step, so a retry after any failure resumes
the same deposition, and a version already published answers with its DOI without
calling the service. A published version is marked immutable in `record_versions`
(the next edit makes a new version, which publishes as a new DOI under the same concept
DOI).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from catalog.domain.enums import RecordStatus
from catalog.domain.errors import ConflictError, NotFoundError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.publishing import (
    PublicationPublic,
    PublicationState,
    PublishOutcome,
)
from catalog.domain.records import RecordPublic
from catalog.registry import Registry
from catalog.services.access import require_writer
from catalog.services.publish_files import plan_package
from catalog.services.records import RecordService
from catalog.settings import Settings
from catalog.store.repository import StoredPublication, UnitOfWork, utcnow
from exporters.deid.gate import Gate
from exporters.deid.policy import DeidPolicy, parse_private_allow
from exporters.publishers.base import (
    Checkpoint,
    Deposit,
    Package,
    PublishedVersion,
    Publisher,
)


def to_public(item: StoredPublication) -> PublicationPublic:
    return PublicationPublic(
        record_id=item.record_id,
        target=item.target,
        version=item.version,
        state=PublicationState(item.state),
        doi=item.doi,
        concept_doi=item.concept_doi,
        url=item.url,
        published_at=item.published_at,
    )


class PublishService:
    """Publishes record versions through the `Publisher` plugins."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        records: RecordService,
        settings: Settings,
        publishers: Registry[Publisher],
    ) -> None:
        self.uow_factory = uow_factory
        self.records = records
        self.settings = settings
        self.publishers = publishers

    # ----- reading --------------------------------------------------------------------
    def publications(self, identity: Identity, record_id: str) -> list[PublicationPublic]:
        """The record's published versions (404 for records the caller may not see)."""
        return self.for_record(identity, self.records.get(identity, record_id))

    def for_record(self, identity: Identity, record: RecordPublic) -> list[PublicationPublic]:
        """The published versions of a record the caller already holds (it was fetched
        through `RecordService.get` with this identity, so it is visible to them)."""
        with self.uow_factory() as uow:
            items = uow.publications.for_record(record.id)
        return [to_public(i) for i in items if i.state == PublicationState.published]

    # ----- publishing -----------------------------------------------------------------
    def publish(self, identity: Identity, record_id: str, target: str) -> PublishOutcome:
        require_writer(identity, "publishing a record")
        publisher_cls = self._publisher_class(target)
        record = self.records.get(identity, record_id)
        _check_publishable(record)
        work_dir = self._work_dir(record_id, target, record.version)
        with _exclusive(work_dir.parent / f"{work_dir.name}.lock", record_id, record.version):
            with self.uow_factory() as uow:
                done = uow.publications.get(record_id, target, record.version)
                previous = _latest_published(uow, record_id, target, record.version)
            if done is not None and done.state == PublicationState.published:
                return PublishOutcome(publication=to_public(done), created=False)
            publisher = publisher_cls.from_settings(self.settings)
            gate = Gate(self._policy(record)) if publisher.uploads_files else None
            try:  # the package is rebuilt (byte-identical) by a retry: never keep a copy
                package = self._package(record, gate, work_dir) if gate else Package()
                item = done or StoredPublication(record_id, target, record.version)
                result = self._run(publisher, self._deposit(record, package, previous), item)
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
        return PublishOutcome(
            publication=to_public(result), created=True, gate=gate.summary if gate else None
        )

    def _run(
        self, publisher: Publisher, deposit: Deposit, item: StoredPublication
    ) -> StoredPublication:
        checkpoint = Checkpoint.from_json(item.checkpoint)

        def save(point: Checkpoint) -> None:
            item.checkpoint = point.to_json()
            item.remote_id = point.remote_id or item.remote_id
            item.doi = point.doi or item.doi
            self._save(item)

        self._save(item)
        result = publisher.publish(deposit, checkpoint, save)
        item.state = PublicationState.published.value
        item.doi, item.concept_doi = result.doi, result.concept_doi
        item.remote_id, item.url = result.remote_id, result.url
        item.published_at = utcnow()
        item.checkpoint = {**checkpoint.to_json(), "step": "done"}
        with self.uow_factory() as uow:
            uow.publications.save(item)
            _cite_with_doi(uow, item)
            uow.records.mark_published(item.record_id, item.version)
            uow.commit()
        self.records.index_sync.try_apply()
        return item

    def _save(self, item: StoredPublication) -> None:
        with self.uow_factory() as uow:
            uow.publications.save(item)
            uow.commit()

    # ----- helpers --------------------------------------------------------------------
    def _publisher_class(self, target: str) -> type[Publisher]:
        try:
            return self.publishers.get(target)
        except NotFoundError as exc:  # a bad argument, not a missing record
            raise ValidationError(exc.message, field="to") from exc

    def _policy(self, record: RecordPublic) -> DeidPolicy:
        return DeidPolicy.for_package(
            self.settings.secret(),
            record.id,
            record.version,
            dates=self.settings.deid_dates,
            private_allow=parse_private_allow(self.settings.deid_private_allow),
        )

    def _package(self, record: RecordPublic, gate: Gate, work_dir: Path) -> Package:
        with self.uow_factory() as uow:
            root = uow.records.get(record.id)
            assert root is not None  # RecordService.get found it a moment ago
            plan = plan_package(uow, root)
        description = {
            "Name": record.title,
            "DatasetType": "raw",
            "License": record.license or "",
            "Authors": [c.name for c in record.creators],
            "GeneratedBy": [{"Name": "Imagora de-identification gate"}],
        }
        package = gate.run(plan.files, work_dir, description)
        gate.summary.notes += plan.notes
        return package

    def _deposit(
        self, record: RecordPublic, package: Package, previous: StoredPublication | None
    ) -> Deposit:
        return Deposit(
            record=record,
            version=record.version,
            landing_url=f"{self.settings.base_url}/records/{record.id}",
            publisher_name=self.settings.publisher_name,
            package=package,
            previous=PublishedVersion(
                version=previous.version,
                remote_id=previous.remote_id,
                doi=previous.doi,
                concept_doi=previous.concept_doi,
            )
            if previous
            else None,
            publication_date=datetime.now(UTC).date().isoformat(),
        )

    def _work_dir(self, record_id: str, target: str, version: int) -> Path:
        """Where the gate builds the package (created when used, removed afterwards)."""
        folder = self.settings.data_dir / "publish"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{record_id}-{target}-v{version}"


def _latest_published(
    uow: UnitOfWork, record_id: str, target: str, version: int
) -> StoredPublication | None:
    for item in uow.publications.for_record(record_id):
        if item.target == target and item.version < version and item.state == "published":
            return item
    return None


def _cite_with_doi(uow: UnitOfWork, item: StoredPublication) -> None:
    """The record's identifiers gain the concept DOI (the one that always resolves to the
    newest version), so landing pages cite it and every export format carries it."""
    doi = item.concept_doi or item.doi
    stored = uow.records.get(item.record_id)
    if not doi or stored is None:
        return
    identifiers = list(stored.body.get("identifiers") or [])
    if any(str(i.get("identifier", "")).lower() == doi.lower() for i in identifiers):
        return
    stored.body = {
        **stored.body,
        "identifiers": [*identifiers, {"identifier": doi, "scheme": "doi"}],
    }
    stored.updated = utcnow()
    uow.records.save(stored)


def _check_publishable(record: RecordPublic) -> None:
    if record.status == RecordStatus.withdrawn:
        raise ConflictError(f"record {record.id} is withdrawn; withdrawn records are not published")
    if record.access.record == "restricted" or record.access.files == "restricted":
        raise ConflictError(
            f"record {record.id} is restricted, and restricted records cannot be published "
            "openly; make it public first (e.g. `imagora access ID --record public --files "
            "open`, or `--files embargoed --until DATE` to publish with an embargo)"
        )


@contextmanager
def _exclusive(path: Path, record_id: str, version: int) -> Iterator[None]:
    """One publish of a record version at a time, across processes (CLI and server)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(
                f"version {version} of record {record_id} is being published by another "
                "process; wait for it to finish (it prints or returns the DOI)"
            ) from None
        yield
    finally:
        os.close(fd)
