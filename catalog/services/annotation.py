"""Curation of ontology terms and whole-catalogue re-annotation.

Curators add terms or accept/reject proposed ones; a rejected term stays rejected on
re-harvest and re-annotation. When the vocabularies change version, `reannotate_all`
runs the annotator over every record and reports what changed.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from catalog.domain.errors import NotFoundError, PluginUnavailableError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import RecordCreate, RecordPublic, Term
from catalog.services import writes
from catalog.services.access import can_see, require_writer
from catalog.services.indexing import IndexSync
from catalog.services.records import RecordService
from catalog.store.repository import StoredRecord, UnitOfWork

Annotate = Callable[[RecordCreate, list[Term]], list[Term]]


class AnnotationChange(BaseModel):
    record_id: str
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)


class AnnotateReport(BaseModel):
    """What `imagora annotate --all` did."""

    vocabulary_version: str = ""
    records: int = 0
    changed_records: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    changes: list[AnnotationChange] = Field(default_factory=list)


class AnnotationService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        records: RecordService,
        index_sync: IndexSync,
        annotate: Annotate | None,
    ) -> None:
        self.uow_factory = uow_factory
        self.records = records
        self.index_sync = index_sync
        self.annotate = annotate

    def add_term(self, identity: Identity, record_id: str, term: Term) -> RecordPublic:
        """A curator's own term (rule "manual", accepted) replaces any term with that IRI."""
        require_writer(identity, "adding a term")
        manual = term.model_copy(update={"rule": "manual", "status": "accepted"})
        return self._edit_terms(
            identity, record_id, lambda terms: [*[t for t in terms if t.iri != term.iri], manual]
        )

    def set_status(self, identity: Identity, record_id: str, iri: str, status: str) -> RecordPublic:
        """Accept or reject a term; rejected terms are never proposed again."""
        require_writer(identity, "curating terms")
        if status not in ("accepted", "rejected", "proposed"):
            raise ValidationError("status must be accepted, rejected or proposed", field="status")

        def change(terms: list[Term]) -> list[Term]:
            if iri not in {t.iri for t in terms}:
                raise NotFoundError(f"record '{record_id}' has no term '{iri}'")
            return [t.model_copy(update={"status": status}) if t.iri == iri else t for t in terms]

        return self._edit_terms(identity, record_id, change)

    def reannotate_all(
        self, identity: Identity, progress: Callable[[int, int], None] | None = None
    ) -> AnnotateReport:
        require_writer(identity, "re-annotating the catalogue")
        if self.annotate is None:
            raise PluginUnavailableError("annotation needs the ontologies package")
        report = AnnotateReport(vocabulary_version=_vocabulary_version())
        with self.uow_factory() as uow:
            total = uow.records.count()
            for batch in uow.records.iter_all(500):
                for stored in batch:
                    self._reannotate_one(uow, stored, report)
                    if progress:
                        progress(report.records, total)
            uow.commit()
        self.records.committed([])  # many records: listeners drop everything
        return report

    def _reannotate_one(
        self, uow: UnitOfWork, stored: StoredRecord, report: AnnotateReport
    ) -> None:
        from ontologies.annotator import diff

        report.records += 1
        old = [Term.model_validate(t) for t in stored.body.get("terms") or []]
        record = _as_create(stored)
        new = self.annotate(record, old)  # type: ignore[misc]
        delta = diff(old, new)
        if delta.is_empty:
            return
        report.changed_records += 1
        report.added += len(delta.added)
        report.removed += len(delta.removed)
        report.changed += len(delta.changed)
        report.changes.append(
            AnnotationChange(
                record_id=stored.id,
                added=[t.iri for t in delta.added],
                removed=[t.iri for t in delta.removed],
                changed=[o.iri for o, _ in delta.changed],
            )
        )
        _store_terms(uow, stored, new)

    def _edit_terms(
        self, identity: Identity, record_id: str, change: Callable[[list[Term]], list[Term]]
    ) -> RecordPublic:
        with self.uow_factory() as uow:
            stored = uow.records.get(record_id)
            if stored is None or not can_see(identity, stored):
                raise NotFoundError(f"no record with id '{record_id}'")
            terms = [Term.model_validate(t) for t in stored.body.get("terms") or []]
            _store_terms(uow, stored, change(terms))
            uow.commit()
        self.records.committed([record_id])
        return self.records.get(identity, record_id)


def _store_terms(uow: UnitOfWork, stored: StoredRecord, terms: list[Term]) -> None:
    writes.set_terms(stored, [t.model_dump(mode="json") for t in terms])
    uow.records.save(stored)


def _as_create(stored: StoredRecord) -> RecordCreate:
    return RecordCreate.model_validate(
        {**stored.body, "level": stored.level, "title": stored.title}
    )


def _vocabulary_version() -> str:
    try:
        from ontologies.graph import Vocabulary
    except ImportError:
        return ""
    return Vocabulary.load().version
