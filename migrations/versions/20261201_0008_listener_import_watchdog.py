"""listener import_progress_at and import_job: what the import watchdog reads

`import_progress_at` is the import's last sign of life (a stage, a claim); `import_job` the queued job's
id, what it runs and how often it was restarted, so a job lost with Redis is found missing and run
again once, then failed.

Revision ID: 3f9d7b2c6a14
Revises: 7c3e5a91d2b8
Create Date: 2026-12-01 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "3f9d7b2c6a14"
down_revision: str | None = "7c3e5a91d2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("import_progress_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("import_job", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_column("import_job")
        batch_op.drop_column("import_progress_at")
