"""listener owner_hash: ownership by a random visitor token's hash, never a reusable row id

A session cookie used to list the listener ids it made: with the development key (the old default) a
forged cookie owned anyone's, and on SQLite an old cookie owned the next visitor's reused ids. Now the
cookie holds a random token and each listener its sha256; listeners from before own nobody (their
published episodes stay public; drafts are purged with the retention period).

Revision ID: 7c3e5a91d2b8
Revises: 7c3e5a9b1d20
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "7c3e5a91d2b8"
down_revision: str | None = "7c3e5a9b1d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_listener_owner_hash"), ["owner_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listener_owner_hash"))
        batch_op.drop_column("owner_hash")
