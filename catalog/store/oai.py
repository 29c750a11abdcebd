"""OAI-PMH reads over the records table: public records in datestamp order.

Harvesting pages by keyset, `(updated, id) > (last datestamp, last id)`, so a full
ListRecords of any size reads one bounded page per request (no offsets, no growing
memory) and is served by the `ix_records_oai` index. Withdrawn public records stay in
the list as deleted records (OAI-PMH `deletedRecord=persistent`), and so do records that
were public and are restricted now (`oai_withheld`, from the time they stopped being
public), so aggregators drop them without learning anything new about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from catalog.store.models import OaiWithheldRow, RecordRow
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


def _row(values: tuple[str, str, datetime, str]) -> OaiRow:
    record_id, level, stamp, status = values
    return OaiRow(record_id, level, _aware(stamp) or utcnow(), status != "active")


def _window(stmt: Select, stamp: Any, window: OaiWindow, levels_of: Any) -> Select:  # type: ignore[type-arg]
    stmt = stmt.where(stamp < window.end)
    if window.start is not None:
        stmt = stmt.where(stamp >= window.start)
    if window.levels is not None:
        stmt = stmt.where(levels_of.in_(list(window.levels)))
    return stmt


def _after(stmt: Select, stamp: Any, key: Any, window: OaiWindow) -> Select:  # type: ignore[type-arg]
    if window.after is None:
        return stmt
    last_stamp, last_id = window.after
    return stmt.where(or_(stamp > last_stamp, and_(stamp == last_stamp, key > last_id)))


def _live(window: OaiWindow) -> Select:  # type: ignore[type-arg]
    """Public records (withdrawn ones are deleted records), by `updated`."""
    stmt = select(RecordRow.id, RecordRow.level, RecordRow.updated, RecordRow.status)
    stmt = stmt.where(RecordRow.visibility == "public")
    return _window(stmt, RecordRow.updated, window, RecordRow.level)


def _withheld(window: OaiWindow) -> Select:  # type: ignore[type-arg]
    """Records public once and restricted now: deleted records from `since`."""
    stmt = select(
        OaiWithheldRow.record_id, RecordRow.level, OaiWithheldRow.since, literal("withheld")
    ).join(RecordRow, RecordRow.id == OaiWithheldRow.record_id)
    stmt = stmt.where(RecordRow.visibility != "public")
    return _window(stmt, OaiWithheldRow.since, window, RecordRow.level)


class OaiRepository:
    """Public records, and records that stopped being public, as OAI-PMH sees them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def page(self, window: OaiWindow, limit: int) -> list[OaiRow]:
        """Up to `limit` rows after the window's keyset position, in datestamp order.

        Each source is cut to `limit` rows in index order before the two are merged, so
        a page costs the same whatever the catalogue's size."""
        live = _after(_live(window), RecordRow.updated, RecordRow.id, window)
        live = live.order_by(RecordRow.updated, RecordRow.id).limit(limit).subquery()
        withheld = _after(_withheld(window), OaiWithheldRow.since, OaiWithheldRow.record_id, window)
        withheld = withheld.order_by(OaiWithheldRow.since, OaiWithheldRow.record_id)
        withheld = withheld.limit(limit).subquery()
        merged = union_all(select(*live.c), select(*withheld.c)).subquery()
        columns = list(merged.c)
        stmt = select(*columns).order_by(columns[2], columns[0]).limit(limit)
        return [_row(values) for values in self.session.execute(stmt)]  # type: ignore[arg-type]

    def count(self, window: OaiWindow) -> int:
        total = 0
        for source in (_live(window), _withheld(window)):
            stmt = select(func.count()).select_from(source.subquery())
            total += int(self.session.scalar(stmt) or 0)
        return total

    def one(self, record_id: str) -> OaiRow | None:
        window = OaiWindow(end=datetime.max.replace(tzinfo=UTC))
        for source in (_live(window), _withheld(window)):
            values = self.session.execute(source.where(RecordRow.id == record_id)).first()
            if values is not None:
                return _row(values)  # type: ignore[arg-type]
        return None

    def earliest(self) -> datetime | None:
        live = self.session.scalar(
            select(func.min(RecordRow.updated)).where(RecordRow.visibility == "public")
        )
        withheld = self.session.scalar(select(func.min(OaiWithheldRow.since)))
        found = [_aware(value) for value in (live, withheld) if value is not None]
        return min(found) if found else None  # type: ignore[type-var]
