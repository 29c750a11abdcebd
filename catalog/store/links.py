"""Record links in the store: one row per (source, relation, target), both ends indexed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from catalog.store.models import RecordLinkRow
from catalog.store.repository import _aware, utcnow


@dataclass(frozen=True)
class StoredLink:
    source_id: str
    relation: str
    target_id: str
    created: datetime


def _link(row: RecordLinkRow) -> StoredLink:
    return StoredLink(row.source_id, row.relation, row.target_id, _aware(row.created) or utcnow())


class LinkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, source_id: str, relation: str, target_id: str) -> bool:
        """Store the link; False when it was already there."""
        key = (source_id, relation, target_id)
        if self.session.get(RecordLinkRow, key) is not None:
            return False
        self.session.add(
            RecordLinkRow(
                source_id=source_id, relation=relation, target_id=target_id, created=utcnow()
            )
        )
        return True

    def remove(self, source_id: str, relation: str, target_id: str) -> bool:
        result = self.session.execute(
            delete(RecordLinkRow).where(
                RecordLinkRow.source_id == source_id,
                RecordLinkRow.relation == relation,
                RecordLinkRow.target_id == target_id,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def touching(self, record_ids: Sequence[str]) -> list[StoredLink]:
        """Links from or to any of the records, oldest first, in one query."""
        if not record_ids:
            return []
        ids = list(record_ids)
        stmt = select(RecordLinkRow).where(
            or_(RecordLinkRow.source_id.in_(ids), RecordLinkRow.target_id.in_(ids))
        )
        return [_link(row) for row in self.session.scalars(stmt.order_by(RecordLinkRow.created))]

    def page(self, after: tuple[str, str, str] | None, limit: int) -> list[StoredLink]:
        """Links in key order after `after` (keyset paging for the Scholix export)."""
        stmt = select(RecordLinkRow)
        if after is not None:
            source, relation, target = after
            stmt = stmt.where(
                or_(
                    RecordLinkRow.source_id > source,
                    (RecordLinkRow.source_id == source) & (RecordLinkRow.relation > relation),
                    (RecordLinkRow.source_id == source)
                    & (RecordLinkRow.relation == relation)
                    & (RecordLinkRow.target_id > target),
                )
            )
        stmt = stmt.order_by(
            RecordLinkRow.source_id, RecordLinkRow.relation, RecordLinkRow.target_id
        ).limit(limit)
        return [_link(row) for row in self.session.scalars(stmt)]
