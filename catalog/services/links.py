"""LinkService: typed links between records, shown both ways, exported as Scholix.

Rules: only curators and admins link; both ends must exist and be visible to the
caller and be publications, collections, pipelines or derived datasets; the relation is
a DataCite relationType. Readers see a link only when they may see both ends, so a link
never reveals a restricted record. Linking bumps both records' `updated`, so OAI-PMH
harvesters and the search index pick the change up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from catalog.domain.enums import Level, RelationType
from catalog.domain.errors import NotFoundError, ValidationError
from catalog.domain.identity import Identity
from catalog.domain.links import LINKABLE_LEVELS, LinkCreate, LinkedRecord, LinkView, inverse
from catalog.domain.records import RecordPublic
from catalog.services.access import can_see, require_writer
from catalog.services.records import RecordService
from catalog.settings import Settings
from catalog.store.links import LinkRepository, StoredLink
from catalog.store.repository import UnitOfWork, utcnow
from exporters import facts
from exporters.base import ExportContext, LinkedResource

RESOURCE_TYPES = {Level.publication: "Text", Level.pipeline: "Workflow"}
SCHOLIX_TYPES = {Level.publication: "literature", Level.pipeline: "software"}
#: DataCite relations -> the Scholix relationship names (the DataCite one is the SubType).
SCHOLIX_NAMES = {
    "IsSupplementTo": "IsSupplementTo",
    "IsSupplementedBy": "IsSupplementedBy",
    "References": "References",
    "Cites": "References",
    "IsDerivedFrom": "References",
    "IsReferencedBy": "IsReferencedBy",
    "IsCitedBy": "IsReferencedBy",
    "IsSourceOf": "IsReferencedBy",
}
MAX_SCHOLIX_PAGE = 1000


@dataclass(frozen=True)
class ScholixPage:
    links: list[dict[str, Any]]
    next_after: str | None


class LinkService:
    """Add, remove and read links; the Scholix export."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], records: RecordService, settings: Settings
    ) -> None:
        self.uow_factory = uow_factory
        self.records = records
        self.settings = settings

    # ----- writing ---------------------------------------------------------------------
    def add(self, identity: Identity, link: LinkCreate) -> list[LinkView]:
        """Store the link (idempotent); returns the source's links."""
        require_writer(identity, "linking records")
        if link.source == link.target:
            raise ValidationError("a record cannot be linked to itself", field="target")
        with self.uow_factory() as uow:
            for name in ("source", "target"):
                self._linkable(uow, identity, getattr(link, name), name)
            if LinkRepository(uow.session).add(link.source, link.relation.value, link.target):
                self._touch(uow, link.source, link.target)
            uow.commit()
        self.records.index_sync.try_apply()
        return self.for_record(identity, link.source)

    def remove(self, identity: Identity, link: LinkCreate) -> None:
        require_writer(identity, "unlinking records")
        with self.uow_factory() as uow:
            removed = LinkRepository(uow.session).remove(
                link.source, link.relation.value, link.target
            )
            if not removed:
                raise NotFoundError(
                    f"no link {link.source} {link.relation.value} {link.target}; "
                    f"list a record's links at /api/records/{link.source}/links"
                )
            self._touch(uow, link.source, link.target)
            uow.commit()
        self.records.index_sync.try_apply()

    def _linkable(self, uow: UnitOfWork, identity: Identity, record_id: str, name: str) -> None:
        stored = uow.records.get(record_id)
        if stored is None or not can_see(identity, stored):
            raise ValidationError(f"{name} record '{record_id}' does not exist", field=name)
        if stored.level not in {level.value for level in LINKABLE_LEVELS}:
            allowed = ", ".join(level.value for level in LINKABLE_LEVELS)
            raise ValidationError(
                f"{name} record '{record_id}' is a {stored.level}; links join {allowed} records",
                field=name,
            )

    def _touch(self, uow: UnitOfWork, *record_ids: str) -> None:
        now = utcnow()
        for record_id in record_ids:
            stored = uow.records.get(record_id)
            if stored is not None:
                stored.updated = now
                uow.records.save(stored, snapshot=False)

    # ----- reading ---------------------------------------------------------------------
    def for_record(self, identity: Identity, record_id: str) -> list[LinkView]:
        """The record's links both ways, each read from this record, visible ends only."""
        self.records.get(identity, record_id)  # 404 when invisible
        return self.views(identity, record_id)

    def views(self, identity: Identity, record_id: str) -> list[LinkView]:
        """`for_record` for a record the caller has already read (no visibility check of
        the record itself; the other ends are still filtered)."""
        return self.views_many(identity, [record_id])[record_id]

    def views_many(self, identity: Identity, record_ids: list[str]) -> dict[str, list[LinkView]]:
        """`views` of many records in two queries (pages of OAI-PMH records)."""
        with self.uow_factory() as uow:
            links = LinkRepository(uow.session).touching(record_ids)
        ends = {i for link in links for i in (link.source_id, link.target_id)}
        visible = {r.id: r for r in self.records.get_many(identity, sorted(ends))}
        found: dict[str, list[LinkView]] = {record_id: [] for record_id in record_ids}
        for link in links:
            for record_id, other_id, outgoing in (
                (link.source_id, link.target_id, True),
                (link.target_id, link.source_id, False),
            ):
                if record_id in found and other_id in visible:
                    found[record_id].append(_view(link, outgoing, visible[other_id]))
        return found

    def scholix(self, identity: Identity, after: str | None, size: int) -> ScholixPage:
        """Links whose both ends `identity` may see, as Scholix v3 link information
        packages, in key order; `next_after` continues the list."""
        if not 1 <= size <= MAX_SCHOLIX_PAGE:
            raise ValidationError(f"size must be between 1 and {MAX_SCHOLIX_PAGE}", field="size")
        position = tuple(after.split("|", 2)) if after else None
        if position is not None and len(position) != 3:
            raise ValidationError("after must be a value of a previous next_after", field="after")
        with self.uow_factory() as uow:
            links = LinkRepository(uow.session).page(position, size)  # type: ignore[arg-type]
        ids = sorted({i for link in links for i in (link.source_id, link.target_id)})
        visible = {r.id: r for r in self.records.get_many(identity, ids)}
        context = ExportContext.from_settings(self.settings)
        packages = [
            scholix_package(link, visible[link.source_id], visible[link.target_id], context)
            for link in links
            if link.source_id in visible and link.target_id in visible
        ]
        last = links[-1] if len(links) == size else None
        token = f"{last.source_id}|{last.relation}|{last.target_id}" if last else None
        return ScholixPage(packages, token)


def linked_resources(views: list[LinkView], context: ExportContext) -> list[LinkedResource]:
    """The links as exporters take them: DOI when the other end has one, else its URL;
    incoming links without a DataCite inverse are left out."""
    found = []
    for view in views:
        if not isinstance(view.relation, RelationType):
            continue
        other = view.other
        if other.doi:
            identifier, kind = other.doi, "DOI"
        else:
            identifier, kind = facts.record_url(context, other.id), "URL"
        general = RESOURCE_TYPES.get(other.level, "Dataset")
        found.append(LinkedResource(view.relation.value, identifier, kind, general))
    return found


def _view(link: StoredLink, outgoing: bool, other: RecordPublic) -> LinkView:
    relation: RelationType | str = RelationType(link.relation)
    if not outgoing:
        relation = inverse(RelationType(link.relation)) or f"inverse of {link.relation}"
    doi = next(iter(facts.dois(other)), None)
    return LinkView(
        relation=relation,
        direction="outgoing" if outgoing else "incoming",
        other=LinkedRecord(id=other.id, level=other.level, title=other.title, doi=doi),
        created=link.created,
    )


def _scholix_object(record: RecordPublic, context: ExportContext) -> dict[str, Any]:
    found = facts.dois(record)
    if found:
        identifier = {"ID": found[0], "IDScheme": "doi", "IDURL": facts.DOI_RESOLVER + found[0]}
    else:
        url = facts.record_url(context, record.id)
        identifier = {"ID": url, "IDScheme": "url", "IDURL": url}
    return {
        "Identifier": [identifier],
        "Type": {"Name": SCHOLIX_TYPES.get(record.level, "dataset")},
        "Title": record.title,
        "Creator": [{"Name": c.name} for c in record.creators],
        "PublicationDate": str(facts.publication_year(record)),
        "Publisher": [{"Name": context.publisher}],
    }


def scholix_package(
    link: StoredLink, source: RecordPublic, target: RecordPublic, context: ExportContext
) -> dict[str, Any]:
    """One Scholix link information package (schema v3) for a stored link."""
    return {
        "LinkPublicationDate": link.created.astimezone(UTC).date().isoformat(),
        "LinkProvider": [
            {"Name": context.publisher, "Identifier": [{"ID": context.base_url, "IDScheme": "url"}]}
        ],
        "RelationshipType": {
            "Name": SCHOLIX_NAMES.get(link.relation, "IsRelatedTo"),
            "SubType": link.relation,
            "SubTypeSchema": "DataCite",
        },
        "Source": _scholix_object(source, context),
        "Target": _scholix_object(target, context),
    }
