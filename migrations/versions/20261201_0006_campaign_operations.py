"""campaign operations: reports of episodes, take-downs, the funnel's counts, ways in switched off

Reports name the episode, a reason from a short list and the time, never who reported. The funnel is
aggregated counts per day, campaign, source, way in and step (no visitor in them), flushed from Redis.
An operator's take-down keeps the episode row (its owner is told on /my-data/) with its time.

Revision ID: 7c3e5a9b1d20
Revises: 7c3d2e91a5b0
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "7c3e5a9b1d20"
down_revision: str | None = "7c3d2e91a5b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episode") as batch:
        batch.add_column(sa.Column("taken_down_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_report_episode_id"), "report", ["episode_id"], unique=False)
    op.create_index(op.f("ix_report_created_at"), "report", ["created_at"], unique=False)
    op.create_table(
        "funnelcount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("way", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "campaign", "source", "way", "step"),
    )
    op.create_index(op.f("ix_funnelcount_day"), "funnelcount", ["day"], unique=False)
    op.create_table(
        "wayinswitch",
        sa.Column("way", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("off", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("way"),
    )


def downgrade() -> None:
    op.drop_table("wayinswitch")
    op.drop_index(op.f("ix_funnelcount_day"), table_name="funnelcount")
    op.drop_table("funnelcount")
    op.drop_index(op.f("ix_report_created_at"), table_name="report")
    op.drop_index(op.f("ix_report_episode_id"), table_name="report")
    op.drop_table("report")
    with op.batch_alter_table("episode") as batch:
        batch.drop_column("taken_down_at")
