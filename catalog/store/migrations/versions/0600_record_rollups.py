"""record roll-ups (what a collection, subject or session holds, computed at write time)

Revision ID: 0600
Revises: 0200
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0600"
down_revision = "0200"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_rollups",
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("rollup", sa.JSON(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("record_rollups")
