"""record links (publications, collections, pipelines), OAI-PMH datestamp index and
withheld records (public once, restricted now: answered as deleted)

Revision ID: 0400
Revises: 0600
Create Date: 2026-12-02 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0400"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_links",
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("relation", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["records.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_id", "relation", "target_id"),
    )
    op.create_index("ix_record_links_target_id", "record_links", ["target_id"])
    op.create_index("ix_records_oai", "records", ["visibility", "updated", "id"])
    op.create_table(
        "oai_withheld",
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_oai_withheld_since", "oai_withheld", ["since"])


def downgrade() -> None:
    op.drop_index("ix_oai_withheld_since", table_name="oai_withheld")
    op.drop_table("oai_withheld")
    op.drop_index("ix_records_oai", table_name="records")
    op.drop_index("ix_record_links_target_id", table_name="record_links")
    op.drop_table("record_links")
