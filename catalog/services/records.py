"""RecordService: the rules for creating, reading, updating, searching records.

Every method takes the caller's identity first, checks the permission policy, validates,
writes through one unit of work and updates the search index after the commit. Records a
caller may not see raise NotFoundError (404), so their existence never leaks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from catalog.domain.enums import Level, RecordStatus
from catalog.domain.errors import NotFoundError, QuerySyntaxError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.records import (
    AccessUpdate,
    ParentRef,
    RecordCreate,
    RecordPage,
    RecordPublic,
    RecordUpdate,
    Term,
)
from catalog.domain.search import (
    FACET_FIELDS,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    ConceptClause,
    SearchQuery,
    SortOrder,
)
from catalog.search.base import SearchBackend
from catalog.services.access import can_see, effective_access, require_writer
from catalog.services.indexing import IndexSync
from catalog.store.repository import StoredRecord, UnitOfWork, utcnow

if TYPE_CHECKING:
    from catalog.services.terms import SearchOntology

_BODY_EXCLUDE = {"id", "level", "title", "parent_id", "access"}

#: (text, exact) -> (concept clauses, explanation-ready labels); set by the ontology layer.
Expander = Callable[[str, bool], list[ConceptClause]]


@dataclass
class SearchRequest:
    """A search as the API and CLI receive it (validated here, not in routes)."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    level: str | None = None
    page: int = 1
    size: int = 20
    sort: SortOrder = "relevance"
    exact: bool = False
    parent_id: str | None = None
    include_withdrawn: bool = False
    #: A concept IRI: only records annotated with it or a narrower concept.
    concept: str | None = None
    #: Also count the contrast / species / anatomy facet trees (costs a store read).
    facet_trees: bool = False


def new_record_id() -> str:
    return secrets.token_hex(8)


def origin_record_id(origin: str) -> str:
    """Deterministic ids for harvested records: the same source item keeps its URL."""
    return hashlib.blake2b(origin.encode("utf-8"), digest_size=8).hexdigest()


def body_of(data: RecordCreate) -> dict[str, Any]:
    body = data.model_dump(mode="json", exclude=_BODY_EXCLUDE)
    if body.get("publication") is None:  # only publications carry it; keeps older hashes
        body.pop("publication", None)
    return body


def content_hash(level: str, title: str, parent_id: str | None, body: dict[str, Any]) -> str:
    """Hash of what a record says (not its access policy, which curators own), ignoring
    harvest timestamps: equal hashes mean a re-harvest found nothing new."""
    source = {k: v for k, v in (body.get("source") or {}).items() if k != "harvested_at"}
    payload = {
        "level": level,
        "title": title,
        "parent": parent_id,
        "body": {**body, "source": source},
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


class RecordService:
    """Records: create, get, update, access, withdraw, search, children."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        backend: SearchBackend,
        index_sync: IndexSync,
        expander: Expander | None = None,
        annotate: Callable[[RecordCreate, list[Term]], list[Term]] | None = None,
        ontology: SearchOntology | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.backend = backend
        self.index_sync = index_sync
        self.expander = expander
        self.annotate = annotate
        self.ontology = ontology

    # ----- reading ---------------------------------------------------------------------
    def get(self, identity: Identity, record_id: str) -> RecordPublic:
        with self.uow_factory() as uow:
            stored = uow.records.get(record_id)
            if stored is None or not can_see(identity, stored):
                raise NotFoundError(f"no record with id '{record_id}'")
            ancestors = uow.records.ancestors(stored)
            children = uow.records.count_children(
                record_id, visible_only=not identity.sees_everything
            )
            published = uow.records.published_versions(record_id)
        return to_public(stored, ancestors, children, published)

    def get_many(self, identity: Identity, record_ids: list[str]) -> list[RecordPublic]:
        """The visible records among `record_ids`, in that order, in a handful of queries
        (not one `get` per id): what pages of hits (CKAN, OAI-PMH) are rendered from.
        Invisible and unknown ids are left out silently."""
        with self.uow_factory() as uow:
            stored = uow.records.get_many(record_ids)
            found = [stored[i] for i in record_ids if i in stored]
            visible = [r for r in found if can_see(identity, r)]
            known = uow.records.ancestors_many(visible)
            ids = [r.id for r in visible]
            children = uow.records.count_children_many(
                ids, visible_only=not identity.sees_everything
            )
            published = uow.records.published_versions_many(ids)
        return [
            to_public(r, _chain(r, known), children.get(r.id, 0), published.get(r.id, []))
            for r in visible
        ]

    def search(self, identity: Identity, request: SearchRequest) -> RecordPage:
        concept = self._concept_clauses(request.concept)
        query = self._query(identity, request)
        if concept:
            query.filters["terms"] = sorted({iri for c in concept for iri in c.iris})
        self.index_sync.refresh_if_changed()
        result = self.backend.search(query)
        page = RecordPage(
            total=result.total,
            page=query.page,
            size=query.size,
            hits=result.hits,
            facets=result.facets,
        )
        if self.ontology is not None:
            counts = result.term_counts if request.facet_trees else None
            self.ontology.enrich(page, query, concept, exact=request.exact, term_counts=counts)
        return page

    def _concept_clauses(self, iri: str | None) -> list[ConceptClause]:
        """The concept filter's clauses (the concept and its narrower ones)."""
        if not iri:
            return []
        if self.ontology is None:
            return [ConceptClause(label=iri, iris=(iri,))]
        return self.ontology.concept_clauses(iri)

    def children(
        self, identity: Identity, record_id: str, page: int = 1, size: int = 50
    ) -> RecordPage:
        self.get(identity, record_id)  # 404 when invisible
        request = SearchRequest(parent_id=record_id, page=page, size=size, sort="title")
        return self.search(identity, request)

    def _query(self, identity: Identity, request: SearchRequest) -> SearchQuery:
        text = request.text or ""
        if len(text) > MAX_QUERY_LENGTH:
            raise QuerySyntaxError(
                f"query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}"
            )
        if "\x00" in text:
            raise QuerySyntaxError("query contains a NUL character")
        filters = _validated_filters(request.filters)
        if request.level:
            filters.setdefault("level", []).append(_level(request.level))
        if request.page < 1:
            raise QuerySyntaxError("page must be 1 or more")
        if not 1 <= request.size <= MAX_PAGE_SIZE:
            raise QuerySyntaxError(f"size must be between 1 and {MAX_PAGE_SIZE}")
        concepts = self.expander(text, request.exact) if self.expander and text.strip() else []
        return SearchQuery(
            text=text,
            filters=filters,
            page=request.page,
            size=request.size,
            sort=request.sort,
            reader_keys=None if identity.sees_everything else identity.reader_keys(),
            concepts=concepts,
            include_withdrawn=request.include_withdrawn,
            parent_id=request.parent_id,
            with_term_counts=request.facet_trees,
        )

    # ----- writing ---------------------------------------------------------------------
    def create(self, identity: Identity, data: RecordCreate) -> RecordPublic:
        require_writer(identity, "creating a record")
        with self.uow_factory() as uow:
            record_id = data.id or new_record_id()
            if uow.records.get(record_id) is not None:
                raise ValidationError(f"a record with id '{record_id}' exists", field="id")
            parent = self._parent(uow, identity, data.parent_id)
            if self.annotate is not None:
                data = data.model_copy(update={"terms": self.annotate(data, [])})
            stored = build_stored(record_id, data, parent)
            uow.records.save(stored)
            uow.commit()
        self.index_sync.try_apply()
        return self.get(identity, record_id)

    def update(self, identity: Identity, record_id: str, patch: RecordUpdate) -> RecordPublic:
        require_writer(identity, "updating a record")
        changes = patch.model_dump(mode="json", exclude_unset=True)
        access = changes.pop("access", None)
        with self.uow_factory() as uow:
            stored = self._visible(uow, identity, record_id)
            if changes:
                self._apply_changes(uow, stored, changes)
                uow.records.save(stored)
            if access is not None:
                self._set_access(uow, stored, AccessUpdate.model_validate(access))
            uow.commit()
        self.index_sync.try_apply()
        return self.get(identity, record_id)

    def set_access(self, identity: Identity, record_id: str, update: AccessUpdate) -> RecordPublic:
        require_writer(identity, "changing access")
        with self.uow_factory() as uow:
            stored = self._visible(uow, identity, record_id)
            self._set_access(uow, stored, update)
            uow.commit()
        self.index_sync.try_apply()
        return self.get(identity, record_id)

    def withdraw(self, identity: Identity, record_id: str) -> RecordPublic:
        require_writer(identity, "withdrawing a record")
        with self.uow_factory() as uow:
            stored = self._visible(uow, identity, record_id)
            stored.status = RecordStatus.withdrawn.value
            stored.withdrawn_at = stored.updated = utcnow()
            uow.records.save(stored, snapshot=False)
            uow.commit()
        self.index_sync.try_apply()
        return self.get(identity, record_id)

    # ----- helpers ---------------------------------------------------------------------
    def _visible(self, uow: UnitOfWork, identity: Identity, record_id: str) -> StoredRecord:
        stored = uow.records.get(record_id)
        if stored is None or not can_see(identity, stored):
            raise NotFoundError(f"no record with id '{record_id}'")
        return stored

    def _parent(
        self, uow: UnitOfWork, identity: Identity, parent_id: str | None
    ) -> StoredRecord | None:
        if parent_id is None:
            return None
        parent = uow.records.get(parent_id)
        if parent is None or not can_see(identity, parent):
            raise ValidationError(f"parent record '{parent_id}' does not exist", field="parent_id")
        return parent

    def _apply_changes(
        self, uow: UnitOfWork, stored: StoredRecord, changes: dict[str, Any]
    ) -> None:
        if uow.records.version_published(stored.id, stored.version):
            stored.version += 1  # the published version stays as it was
        if "title" in changes:
            stored.title = changes.pop("title")
        stored.body.update(changes)
        stored.updated = utcnow()
        stored.content_hash = content_hash(
            stored.level, stored.title, stored.parent_id, stored.body
        )

    def _set_access(self, uow: UnitOfWork, stored: StoredRecord, update: AccessUpdate) -> None:
        own = dict(stored.own_access or {})
        own.update(update.model_dump(mode="json", exclude_unset=True))
        if own.get("files") == "embargoed" and not own.get("embargo_until"):
            raise ValidationError(
                "an embargo needs an end date (embargo_until)", field="embargo_until"
            )
        parent = uow.records.get(stored.parent_id) if stored.parent_id else None
        stored.own_access = own
        stored.access = effective_access(own, parent.access if parent else None)
        stored.updated = utcnow()
        uow.records.save(stored, snapshot=False)
        _propagate_access(uow, stored)


def _chain(record: StoredRecord, known: dict[str, StoredRecord]) -> list[StoredRecord]:
    """The record's ancestors from the root down, from an id -> record map."""
    chain: list[StoredRecord] = []
    seen = {record.id}
    parent_id = record.parent_id
    while parent_id and parent_id in known and parent_id not in seen:
        parent = known[parent_id]
        chain.append(parent)
        seen.add(parent_id)
        parent_id = parent.parent_id
    chain.reverse()
    return chain


def _propagate_access(uow: UnitOfWork, root: StoredRecord) -> None:
    """Recompute effective access for every descendant (breadth first)."""
    queue = [root]
    while queue:
        parent = queue.pop()
        for child_id in uow.records.children_ids(parent.id):
            child = uow.records.get(child_id)
            if child is None:
                continue
            access = effective_access(child.own_access, parent.access)
            if access != child.access:  # its exports change: a new datestamp for OAI-PMH
                child.access, child.updated = access, utcnow()
            uow.records.save(child, snapshot=False)
            queue.append(child)


def _level(value: str) -> str:
    try:
        return Level(value).value
    except ValueError:
        allowed = ", ".join(level.value for level in Level)
        raise QuerySyntaxError(f"unknown level '{value}'; use one of: {allowed}") from None


def _validated_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for name, values in filters.items():
        if name not in FACET_FIELDS:
            allowed = ", ".join(FACET_FIELDS)
            raise QuerySyntaxError(f"cannot filter on '{name}'; filterable fields: {allowed}")
        kept = [v for v in values if v]
        if any(len(v) > 500 for v in kept):
            raise QuerySyntaxError(f"filter value for '{name}' is too long")
        if kept:
            clean[name] = kept
    if "level" in clean:
        clean["level"] = [_level(v) for v in clean["level"]]
    return clean


def build_stored(
    record_id: str, data: RecordCreate, parent: StoredRecord | None, origin: str | None = None
) -> StoredRecord:
    """A new StoredRecord from validated input (access inherited from the parent)."""
    own = data.access.model_dump(mode="json", exclude={"inherited"}) if data.access else None
    body = body_of(data)
    now = utcnow()
    return StoredRecord(
        id=record_id,
        level=data.level.value,
        title=data.title,
        body=body,
        own_access=own,
        access=effective_access(own, parent.access if parent else None),
        parent_id=parent.id if parent else None,
        origin=origin,
        content_hash=content_hash(
            data.level.value, data.title, parent.id if parent else None, body
        ),
        created=now,
        updated=now,
    )


def to_public(
    stored: StoredRecord, ancestors: list[StoredRecord], children: int, published: list[int]
) -> RecordPublic:
    """The caller-facing form of a stored record.

    A record without its own licence shows its nearest ancestor's (the collection is what
    gets licensed), flagged `license_inherited`.
    """
    inherited = None
    if not stored.body.get("license"):
        inherited = next(
            (a.body["license"] for a in reversed(ancestors) if a.body.get("license")), None
        )
    return RecordPublic.model_validate(
        {
            **stored.body,
            **({"license": inherited, "license_inherited": True} if inherited else {}),
            "id": stored.id,
            "level": stored.level,
            "title": stored.title,
            "parent_id": stored.parent_id,
            "access": stored.access,
            "version": stored.version,
            "published_versions": published,
            "status": stored.status,
            "withdrawn_at": stored.withdrawn_at,
            "parents": [ParentRef(id=a.id, level=Level(a.level), title=a.title) for a in ancestors],
            "children_count": children,
            "created": stored.created,
            "updated": stored.updated,
        }
    )
