"""SQLAlchemy ORM tables. ORM objects never leave the store package (repositories map them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class RecordRow(Base):
    """One record. `body` holds the normalized fields; hot filter columns are promoted."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    own_access: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    access: Mapped[dict[str, Any]] = mapped_column(JSON)
    visibility: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    origin: Mapped[str | None] = mapped_column(String(1024), unique=True, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Curators' overrides and the harvested values beside them (see services/writes.py).
    curation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RecordVersionRow(Base):
    """A snapshot per version; `published` snapshots are immutable."""

    __tablename__ = "record_versions"

    record_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    """Index changes to apply, written in the same transaction as the record change."""

    __tablename__ = "index_outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RollupRow(Base):
    """A container's roll-up of its descendants (derived; recomputed by the index sync)."""

    __tablename__ = "record_rollups"

    record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    rollup: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TokenRow(Base):
    """A bearer token, stored as a SHA-256 hash (the plain token is shown once)."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class HarvestItemRow(Base):
    """Incremental harvest state: one row per item (file, remote session, package) seen in
    a source, with its fingerprint and cached facts."""

    __tablename__ = "harvest_items"

    source: Mapped[str] = mapped_column(String(1024), primary_key=True)
    key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(256))
    checksum: Mapped[str] = mapped_column(String(80))
    facts: Mapped[list[Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class HarvestSourceRow(Base):
    """A registered source, harvested on demand or every `interval_minutes`."""

    __tablename__ = "harvest_sources"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(2048))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class HarvestRunRow(Base):
    """The report of each harvest run, kept for operators."""

    __tablename__ = "harvest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(1024), index=True)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


class PublicationRow(Base):
    """One record version deposited with one DOI service (Zenodo, DataCite).

    The primary key is what makes publishing resumable: a record version has at most one
    row per target, and `checkpoint` (deposition id, bucket, reserved DOI, last step) is
    committed after every remote step, so a retry continues the same deposition.
    """

    __tablename__ = "publications"

    record_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    doi: Mapped[str | None] = mapped_column(String(300), nullable=True)
    concept_doi: Mapped[str | None] = mapped_column(String(300), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Children lookups filter on all three: one index serving the whole WHERE clause also
# stops SQLite (which has no statistics) from scanning ix_records_visibility instead.
Index(
    "ix_records_parent_status_visibility",
    RecordRow.parent_id,
    RecordRow.status,
    RecordRow.visibility,
)


class RecordLinkRow(Base):
    """A typed link between two records (publication, collection, pipeline, ...).

    `relation` is a DataCite relationType read from `source` to `target`; the landing
    page of the target shows the inverse, found through the target index.
    """

    __tablename__ = "record_links"

    source_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    relation: Mapped[str] = mapped_column(String(40), primary_key=True)
    target_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OaiWithheldRow(Base):
    """A record that was public and is not any more (now restricted): OAI-PMH keeps
    answering it as a deleted record from `since`, so harvesters drop their copy."""

    __tablename__ = "oai_withheld"

    record_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# OAI-PMH lists public records in datestamp order and pages by (updated, id): one index
# serves the visibility filter, the from/until range and the keyset together.
Index("ix_records_oai", RecordRow.visibility, RecordRow.updated, RecordRow.id)


class JobRow(Base):
    """A compute job (compute bridge): its spec, state machine and outcome."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    pipeline: Mapped[str] = mapped_column(String(100), index=True)
    pipeline_version: Mapped[str] = mapped_column(String(40))
    executor: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_tail: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outputs: Mapped[list[Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rerun_of: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
