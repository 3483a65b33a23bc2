"""duets: an episode says whether friends may make duets of it, and a duet names its original

`allow_duets` is the inviter's choice at publish (on by default, so existing episodes allow them);
`duet_of` keeps the original's slug even after the original is taken down (a duet holds its own copy
of the inviter's character); `duet_inviter_id` lets the inviter list and take down duets of their
episodes from "your data".

Revision ID: 7c3d2e91a5b0
Revises: 14e74516084f
Create Date: 2026-12-01 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "7c3d2e91a5b0"
down_revision: str | None = "14e74516084f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_duets", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("duet_of", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("duet_inviter_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_episode_duet_of"), ["duet_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_episode_duet_inviter_id"), ["duet_inviter_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_episode_duet_inviter_id_listener", "listener", ["duet_inviter_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_constraint("fk_episode_duet_inviter_id_listener", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_episode_duet_inviter_id"))
        batch_op.drop_index(batch_op.f("ix_episode_duet_of"))
        batch_op.drop_column("duet_inviter_id")
        batch_op.drop_column("duet_of")
        batch_op.drop_column("allow_duets")
