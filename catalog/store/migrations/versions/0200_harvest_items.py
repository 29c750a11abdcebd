"""harvest state per item (files and remote items) instead of per file

The incremental state moves from `harvest_files` (path, size, mtime) to `harvest_items`
(key, fingerprint): a local file's fingerprint is "size:mtime_ns", exactly what the
file harvesters compute now, so an existing installation's next harvest still skips
every unchanged file; checksums, cached facts and errors are copied as they were.

Revision ID: 0200
Revises: 0100
Create Date: 2026-12-02 07:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0200"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harvest_items",
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("key", sa.String(length=2048), nullable=False),
        sa.Column("fingerprint", sa.String(length=256), nullable=False),
        sa.Column("checksum", sa.String(length=80), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", "key"),
    )
    # string concatenation: `||` on SQLite and PostgreSQL alike
    op.execute(
        "INSERT INTO harvest_items (source, key, fingerprint, checksum, facts, error) "
        "SELECT source, path, CAST(size AS VARCHAR(40)) || ':' || CAST(mtime_ns AS VARCHAR(40)), "
        "checksum, facts, error FROM harvest_files"
    )
    op.drop_table("harvest_files")


def downgrade() -> None:
    op.create_table(
        "harvest_files",
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=80), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", "path"),
    )
    # only file items have a "size:mtime" fingerprint; remote items have no file state
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT source, key, fingerprint, checksum, facts, error FROM harvest_items")
    ).mappings()
    files = sa.table(
        "harvest_files",
        sa.column("source"),
        sa.column("path"),
        sa.column("size"),
        sa.column("mtime_ns"),
        sa.column("checksum"),
        sa.column("facts", sa.JSON()),
        sa.column("error"),
    )
    for row in rows:
        size, _, mtime = str(row["fingerprint"]).partition(":")
        if size.isdigit() and mtime.isdigit():
            bind.execute(
                files.insert().values(
                    source=row["source"],
                    path=row["key"],
                    size=int(size),
                    mtime_ns=int(mtime),
                    checksum=row["checksum"],
                    facts=_json(row["facts"]),
                    error=row["error"],
                )
            )
    op.drop_table("harvest_items")


def _json(value: object) -> object:
    """A raw select hands JSON back as text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
