"""Parsed predictions stored beside the zip (workers skip re-parsing); a board version;
ties that could not be computed (no interval) are recorded too.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("predictions", sa.LargeBinary))
        batch.add_column(sa.Column("updated_at", sa.Float, nullable=False,
                                   server_default="0"))
        batch.create_index("ix_submissions_updated_at", ["updated_at"])
    with op.batch_alter_table("ties") as batch:
        for column in ("diff", "ci_low", "ci_high"):
            batch.alter_column(column, existing_type=sa.Float, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM ties WHERE diff IS NULL")
    with op.batch_alter_table("ties") as batch:
        for column in ("diff", "ci_low", "ci_high"):
            batch.alter_column(column, existing_type=sa.Float, nullable=False)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_updated_at")
        batch.drop_column("updated_at")
        batch.drop_column("predictions")
