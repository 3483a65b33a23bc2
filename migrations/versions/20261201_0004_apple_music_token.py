"""apple music token: a listener's Music User Token, encrypted, until their import reads it

The token MusicKit JS gives the browser is posted once; the import (a web request or an RQ job, whose
payload lives in Redis) reads it from this table and deletes the row at once, so it is never in a job
payload and never outlives the import.

Revision ID: 14e74516084f
Revises: 5b1f0c2d9e47
Create Date: 2026-12-01 14:05:52.201376
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "14e74516084f"
down_revision: str | None = "5b1f0c2d9e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applemusictoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=False),
        sa.Column("music_user_token", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["listener_id"], ["listener.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("listener_id"),
    )


def downgrade() -> None:
    op.drop_table("applemusictoken")
