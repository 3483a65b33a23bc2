"""one Spotify id per song: track.spotify_id and episodesong.spotify_id, filled for existing rows

Until now a song's Spotify id lived in `source_id` (Spotify songs) or only inside `spotify_url` (songs
from Last.fm or an export matched on Spotify), and readers guessed. Existing rows get it from either.

Revision ID: 5b1f0c2d9e47
Revises: 8d2468e82409
Create Date: 2026-12-01 13:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "5b1f0c2d9e47"
down_revision: str | None = "8d2468e82409"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration must not change when the app's code does): a bare id, or a track link.
_ID = re.compile(r"[0-9A-Za-z]{22}")
_LINK = re.compile(
    r"https://open\.spotify\.com/(?:intl-[a-z]{2}(?:-[a-z]{2})?/)?track/([0-9A-Za-z]{22})(?:[/?#].*)?"
)


def _spotify_id(source_id: str | None, spotify_url: str | None) -> str | None:
    if source_id and _ID.fullmatch(source_id):
        return source_id
    match = _LINK.fullmatch(spotify_url or "")
    return match.group(1) if match else None


def upgrade() -> None:
    for table in ("track", "episodesong"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("spotify_id", sqlmodel.sql.sqltypes.AutoString(length=22), nullable=True)
            )
        rows = sa.table(
            table,
            sa.column("id", sa.Integer),
            sa.column("source_id", sa.String),
            sa.column("spotify_url", sa.String),
            sa.column("spotify_id", sa.String),
        )
        conn = op.get_bind()
        found = [
            {"row_id": row.id, "value": value}
            for row in conn.execute(sa.select(rows.c.id, rows.c.source_id, rows.c.spotify_url))
            if (value := _spotify_id(row.source_id, row.spotify_url))
        ]
        if found:
            conn.execute(
                rows.update()
                .where(rows.c.id == sa.bindparam("row_id"))
                .values(spotify_id=sa.bindparam("value")),
                found,
            )


def downgrade() -> None:
    for table in ("episodesong", "track"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("spotify_id")
