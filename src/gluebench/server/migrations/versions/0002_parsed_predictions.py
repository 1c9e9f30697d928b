"""Parsed predictions stored beside the zip (workers skip re-parsing); a board version.

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


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_updated_at")
        batch.drop_column("updated_at")
        batch.drop_column("predictions")
