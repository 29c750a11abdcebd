"""OAI-PMH reads over the records table: public records in datestamp order.

Harvesting pages by keyset, `(updated, id) > (last datestamp, last id)`, so a full
ListRecords of any size reads one bounded page per request (no offsets, no growing
memory) and is served by the `ix_records_oai` index. Withdrawn public records stay in
the list as deleted records (OAI-PMH `deletedRecord=persistent`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from catalog.store.models import RecordRow
from catalog.store.repository import _aware, utcnow


@dataclass(frozen=True)
class OaiRow:
    """What an OAI header needs: id, level (for set membership), datestamp, deleted."""

    id: str
    level: str
    updated: datetime
    deleted: bool


@dataclass(frozen=True)
class OaiWindow:
    """The part of the datestamp order a list request covers: [start, end), optional
    levels (a set), and the keyset position after which the next page begins."""

    end: datetime
    start: datetime | None = None
    levels: Sequence[str] | None = None
    after: tuple[datetime, str] | None = None


_COLUMNS = (RecordRow.id, RecordRow.level, RecordRow.updated, RecordRow.status)


def _row(values: tuple[str, str, datetime, str]) -> OaiRow:
    record_id, level, updated, status = values
    return OaiRow(record_id, level, _aware(updated) or utcnow(), status == "withdrawn")


class OaiRepository:
    """Public records as OAI-PMH sees them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _where(self, stmt: Select, window: OaiWindow) -> Select:  # type: ignore[type-arg]
        stmt = stmt.where(RecordRow.visibility == "public", RecordRow.updated < window.end)
        if window.start is not None:
            stmt = stmt.where(RecordRow.updated >= window.start)
        if window.levels is not None:
            stmt = stmt.where(RecordRow.level.in_(list(window.levels)))
        return stmt

    def page(self, window: OaiWindow, limit: int) -> list[OaiRow]:
        """Up to `limit` rows after the window's keyset position, in datestamp order."""
        stmt = self._where(select(*_COLUMNS), window)
        if window.after is not None:
            stamp, last_id = window.after
            stmt = stmt.where(
                or_(
                    RecordRow.updated > stamp,
                    and_(RecordRow.updated == stamp, RecordRow.id > last_id),
                )
            )
        stmt = stmt.order_by(RecordRow.updated, RecordRow.id).limit(limit)
        return [_row(values) for values in self.session.execute(stmt)]  # type: ignore[arg-type]

    def count(self, window: OaiWindow) -> int:
        stmt = self._where(select(func.count()).select_from(RecordRow), window)
        return int(self.session.scalar(stmt) or 0)

    def one(self, record_id: str) -> OaiRow | None:
        stmt = select(*_COLUMNS).where(RecordRow.id == record_id, RecordRow.visibility == "public")
        values = self.session.execute(stmt).first()
        return _row(values) if values is not None else None  # type: ignore[arg-type]

    def earliest(self) -> datetime | None:
        stmt = select(func.min(RecordRow.updated)).where(RecordRow.visibility == "public")
        return _aware(self.session.scalar(stmt))
