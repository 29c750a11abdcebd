"""RecordService: the rules for creating, reading, updating, searching records.

Every method takes the caller's identity first, checks the permission policy, validates,
writes through one unit of work and updates the search index after the commit. Records a
caller may not see raise NotFoundError (404), so their existence never leaks.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from catalog.domain.enums import Level
from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.memo import Memo
from catalog.domain.records import (
    AccessUpdate,
    HitGroup,
    ParentRef,
    RecordCreate,
    RecordPage,
    RecordPublic,
    RecordSummary,
    RecordUpdate,
    Term,
)
from catalog.domain.search import ConceptClause, Conjunct, SearchQuery, SortOrder
from catalog.search.base import SearchBackend
from catalog.search.params import check_request
from catalog.search.query import check_paging
from catalog.services import writes
from catalog.services.access import can_see, effective_access, require_writer
from catalog.services.changes import ChangeFeed
from catalog.services.indexing import IndexSync
from catalog.services.suggestions import Suggester
from catalog.services.understanding import QueryReader, describe_atom
from catalog.services.writes import (  # noqa: F401  (re-exported: older import paths)
    body_of,
    build_stored,
    content_hash,
    origin_record_id,
)
from catalog.store.repository import StoredRecord, UnitOfWork, utcnow

if TYPE_CHECKING:
    from catalog.services.terms import SearchOntology

#: Matching records shown under each collection in the grouped view (the rest counted).
GROUP_HITS = 3


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
    #: "collection": one group per matching dataset (paged by group), else a flat list.
    group: Literal["collection", "none"] = "none"


def new_record_id() -> str:
    return secrets.token_hex(8)


class RecordService:
    """Records: create, get, update, access, withdraw, search, children."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        backend: SearchBackend,
        index_sync: IndexSync,
        reader: QueryReader | None = None,
        annotate: Callable[[RecordCreate, list[Term]], list[Term]] | None = None,
        ontology: SearchOntology | None = None,
        changes: ChangeFeed | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.changes = changes or ChangeFeed()
        self.backend = backend
        self.index_sync = index_sync
        self.reader = reader or QueryReader()
        self._counts_memo: Memo[dict[str, int]] = Memo(64, "concept counts")
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
            rollup = uow.rollups.get(record_id)
        return to_public(
            stored, ancestors, children, published, rollup, private=identity.sees_everything
        )

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
            to_public(
                r,
                _chain(r, known),
                children.get(r.id, 0),
                published.get(r.id, []),
                private=identity.sees_everything,
            )
            for r in visible
        ]

    def search(self, identity: Identity, request: SearchRequest) -> RecordPage:
        if request.group == "collection":
            return self._grouped(identity, request)
        return self._flat(identity, request)

    def _grouped(self, identity: Identity, request: SearchRequest) -> RecordPage:
        """Datasets as results: the matching collections (a collection matches what its
        descendants hold), each with its first matching records; facets and the total
        count every matching record. With no query, the newest collections first."""
        flat = self._flat(identity, replace(request, page=1, size=1))
        if not flat.total and request.level is None and not request.concept:
            # a matching collection is itself a matching record: none can match
            return flat.model_copy(
                update={"page": request.page, "size": request.size, "groups": [], "group_total": 0}
            )
        sort = "updated" if not request.text.strip() and request.sort == "relevance" else None
        collections = self._flat(
            identity,
            replace(
                request,
                level=None,
                filters={**request.filters, "level": ["collection"]},
                sort=sort or request.sort,
                facet_trees=False,
            ),
            rolled_concept=True,
            lean=True,
        )
        groups = self._groups(identity, request, collections.hits)
        return flat.model_copy(
            update={
                "page": request.page,
                "size": request.size,
                "hits": collections.hits,
                "groups": groups,
                "group_total": collections.total,
            }
        )

    def _groups(
        self, identity: Identity, request: SearchRequest, collections: list[RecordSummary]
    ) -> list[HitGroup]:
        """Each collection's first matching records below it. The query is read once
        and narrowed per collection (reading it is a good part of a small search)."""
        if not collections:
            return []
        base, _ = self._query(identity, replace(request, page=1, size=GROUP_HITS, level=None))
        base.filters["level"] = [lv.value for lv in Level if lv is not Level.collection]
        concept = self._concept_clauses(request.concept)
        if concept:
            base.filters["terms"] = sorted({iri for c in concept for iri in c.iris})
        base.with_facets = False
        groups = []
        for collection in collections:
            query = replace(base, filters={**base.filters, "collection_id": [collection.id]})
            query.with_facets = False
            result = self.backend.search(query)
            groups.append(HitGroup(collection=collection, hits=result.hits, matches=result.total))
        return groups

    def _flat(
        self,
        identity: Identity,
        request: SearchRequest,
        *,
        rolled_concept: bool = False,
        lean: bool = False,
    ) -> RecordPage:
        """One page of records. `rolled_concept`: the concept filter also matches what a
        container's descendants are annotated with (the grouped view's datasets).
        `lean`: only the hits and the total (no facets, no suggestions), for the grouped
        view's collections, whose facets and suggestions come from the records' search."""
        concept = self._concept_clauses(request.concept)
        query, understood = self._query(identity, request)
        if lean:
            query.with_facets = False
        if concept and rolled_concept:
            query.conjuncts = (*(query.conjuncts or ()), Conjunct(tuple(concept)))
        elif concept:
            query.filters["terms"] = sorted({iri for c in concept for iri in c.iris})
        self.index_sync.refresh_if_changed()
        result = self.backend.search(query)
        page = RecordPage(
            total=result.total,
            page=query.page,
            size=query.size,
            hits=result.hits,
            understood=understood,
            facets=result.facets,
            facet_missing=result.missing,
        )
        if self.ontology is not None:
            counts = result.term_counts if request.facet_trees else None
            self.ontology.enrich(page, query, concept, exact=request.exact, term_counts=counts)
        if not result.total and query.conjuncts and request.page == 1 and not lean:
            page.suggestions = self._suggester(identity, request).suggest(query)
        return page

    def concept_counts(self, identity: Identity) -> dict[str, int]:
        """Records the caller may see per concept, narrower concepts included (the index
        counts each record's term closure); memoised per index generation and reader."""
        self.index_sync.refresh_if_changed()
        keys = None if identity.sees_everything else tuple(identity.reader_keys())
        query = SearchQuery(
            size=0,
            reader_keys=None if keys is None else list(keys),
            with_term_counts=True,
            disjunctive_facets=False,
        )
        generation = getattr(self.backend, "generation", None)
        if generation is None:
            return dict(self.backend.search(query).term_counts)
        build = lambda: dict(self.backend.search(query).term_counts)  # noqa: E731
        return self._counts_memo.get(keys, build, generation)

    def _suggester(self, identity: Identity, request: SearchRequest) -> Suggester:
        def read(text: str) -> SearchQuery:
            query, _ = self._query(identity, replace(request, text=text, page=1, size=1))
            query.with_facets = False
            return query

        def count(text: str) -> int:
            return self.backend.search(read(text)).total

        terms = self.ontology.terms if self.ontology is not None else None
        return Suggester(
            self.backend,
            count,
            labels=terms.labels if terms else None,
            broader=terms.broader if terms else None,
            read=read,
        )

    def _concept_clauses(self, iri: str | None) -> list[ConceptClause]:
        """The concept filter's clauses (the concept and its narrower ones)."""
        if not iri:
            return []
        if self.ontology is None:
            return [ConceptClause(label=iri, iris=(iri,))]
        return self.ontology.concept_clauses(iri)

    def public_pages(self) -> list[tuple[str, datetime]]:
        """(id, last update) of every record anyone may see: what a sitemap lists."""
        with self.uow_factory() as uow:
            return uow.records.public_pages()

    def children(
        self, identity: Identity, record_id: str, page: int = 1, size: int = 50
    ) -> RecordPage:
        self.get(identity, record_id)  # 404 when invisible
        request = SearchRequest(parent_id=record_id, page=page, size=size, sort="title")
        return self.search(identity, request)

    def _query(self, identity: Identity, request: SearchRequest) -> tuple[SearchQuery, str]:
        """The validated backend query and the plain-words reading of it (all search
        parameters are validated here, by `catalog.search.params`)."""
        checked = check_request(request.text or "", request.filters, request.level)
        check_paging(SearchQuery(page=request.page, size=request.size), minimum_size=1)
        understood = self.reader.read(request.text or "", request.exact)
        ranges = [Conjunct((r,), understood=describe_atom(r)) for r in checked.ranges]
        conjuncts = (*understood.conjuncts, *ranges)
        if (request.text or "").strip() and not understood.conjuncts:
            # only separators typed (";", "--"): nothing to look for, so nothing matches
            conjuncts = (Conjunct(atoms=(), understood="nothing to look for"),)
        line = " AND ".join(c.understood for c in conjuncts if c.understood)
        query = SearchQuery(
            text=request.text or "",
            filters=checked.filters,
            page=request.page,
            size=request.size,
            sort=request.sort,
            reader_keys=None if identity.sees_everything else identity.reader_keys(),
            concepts=understood.concepts,
            include_withdrawn=request.include_withdrawn,
            parent_id=request.parent_id,
            with_term_counts=request.facet_trees,
            conjuncts=conjuncts,
        )
        return query, line

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
            writes.create(uow, record_id, data, parent)
            uow.commit()
        self.committed([record_id])
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
        self.committed([record_id])
        return self.get(identity, record_id)

    def set_access(self, identity: Identity, record_id: str, update: AccessUpdate) -> RecordPublic:
        require_writer(identity, "changing access")
        with self.uow_factory() as uow:
            stored = self._visible(uow, identity, record_id)
            self._set_access(uow, stored, update)
            uow.commit()
        self.committed([record_id])
        return self.get(identity, record_id)

    def withdraw(self, identity: Identity, record_id: str) -> RecordPublic:
        require_writer(identity, "withdrawing a record")
        with self.uow_factory() as uow:
            writes.withdraw(uow, self._visible(uow, identity, record_id))
            uow.commit()
        self.committed([record_id])
        return self.get(identity, record_id)

    # ----- helpers ---------------------------------------------------------------------
    def committed(self, record_ids: list[str]) -> None:
        """After a commit: bring the index up to date, then announce the change."""
        self.index_sync.try_apply()
        self.changes.announce(record_ids)

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
        writes.apply_patch(uow, stored, changes)
        _check_renderable(stored)

    def _set_access(self, uow: UnitOfWork, stored: StoredRecord, update: AccessUpdate) -> None:
        own = dict(stored.own_access or {})
        own.update(_access_changes(update))
        for name in ("record", "files"):
            if name in own and own[name] is None:
                del own[name]  # an explicit null: inherit from the parent again
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


def _access_changes(update: AccessUpdate) -> dict[str, Any]:
    """The fields a PATCH sets; `grants: null` clears the list."""
    changes = update.model_dump(mode="json", exclude_unset=True)
    if "grants" in changes and changes["grants"] is None:
        changes["grants"] = []
    return changes


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


def _check_renderable(stored: StoredRecord) -> None:
    """Refuse (422, before anything is written) a change readers could not render."""
    try:
        to_public(stored, [], 0, [])
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ValidationError(
            f"the change would leave the record unreadable: {where}: {first['msg']}",
            field=str(first["loc"][0]) if first["loc"] else None,
        ) from None


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


def to_public(
    stored: StoredRecord,
    ancestors: list[StoredRecord],
    children: int,
    published: list[int],
    rollup: dict[str, Any] | None = None,
    *,
    private: bool = False,
) -> RecordPublic:
    """The caller-facing form of a stored record.

    A record without its own licence shows its nearest ancestor's (the collection is what
    gets licensed), flagged `license_inherited`. Only `private` callers (curators, admins)
    see the server's paths of a local source and the curated-vs-harvested values.
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
            "rollup": rollup,
            "created": stored.created,
            "updated": stored.updated,
            "curation": stored.curation if private else None,
            **({} if private else without_paths(stored.body)),
        }
    )


def without_paths(body: dict[str, Any]) -> dict[str, Any]:
    """What anonymous callers see instead of a local source's server paths: the source's
    type and name (no location, no external id that is a path) and no identifier or
    relation that names the path. Curators and admins see everything."""
    source = body.get("source") or {}
    location = str(source.get("location") or "")
    if not location or _is_url(location):
        return {}
    shown = dict(source, location=None)
    external = str(source.get("external_id") or "")
    if external and (location in external or external.startswith("/")):
        shown["external_id"] = None
    return {
        "source": shown,
        "identifiers": _not_naming(body.get("identifiers"), location),
        "related": _not_naming(body.get("related"), location),
    }


def _not_naming(items: list[dict[str, Any]] | None, location: str) -> list[dict[str, Any]]:
    return [i for i in items or [] if not _names_path(str(i.get("identifier") or ""), location)]


def _names_path(identifier: str, location: str) -> bool:
    """`/srv/x`, `bids:/srv/x` or anything holding the location itself."""
    return location in identifier or re.match(r"^([a-z]+:)?/(?!/)", identifier) is not None


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))
