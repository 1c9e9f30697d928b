"""The initial schema: users, submissions, jobs, ties.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("params", sa.BigInteger),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("flag_reason", sa.Text),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("error", sa.Text),
        sa.Column("split", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
        sa.Column("scored_at", sa.Float),
        sa.Column("zip_data", sa.LargeBinary, nullable=False),
        sa.Column("zip_size", sa.Integer, nullable=False),
        sa.Column("results", sa.JSON),
        sa.Column("summary", sa.JSON),
        sa.Column("score", sa.Float),
        sa.Column("score_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False,
                  unique=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "ties",
        sa.Column("above_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("below_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("diff", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float, nullable=False),
        sa.Column("ci_high", sa.Float, nullable=False),
        sa.Column("computed_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("ties", "jobs", "submissions", "users"):
        op.drop_table(table)
