"""children index covers parent, status and visibility

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_parent_status")
        batch_op.create_index(
            "ix_records_parent_status_visibility",
            ["parent_id", "status", "visibility"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_parent_status_visibility")
        batch_op.create_index("ix_records_parent_status", ["parent_id", "status"], unique=False)
