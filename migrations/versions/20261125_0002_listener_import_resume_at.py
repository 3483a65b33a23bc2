"""listener import_resume_at

Revision ID: 8d2468e82409
Revises: 926309112d95
Create Date: 2026-11-25 10:11:01.533096
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "8d2468e82409"
down_revision: str | None = "926309112d95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_resume_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_column("import_resume_at")
