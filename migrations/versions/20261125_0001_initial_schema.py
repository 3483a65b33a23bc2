"""listeners, tracks, episodes, characters, songs, feature cache

Revision ID: 926309112d95
Revises:
Create Date: 2026-11-25 10:00:04.236387
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "926309112d95"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "featurecache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("lookup_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "lookup_key"),
    )
    op.create_table(
        "listener",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("import_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("import_stage", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("import_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("import_notes", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listener_external_id"), ["external_id"], unique=False)

    op.create_table(
        "episode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=True),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("show_display_name", sa.Boolean(), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("mashup", sa.JSON(), nullable=False),
        sa.Column("campaign", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["listener_id"], ["listener.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episode_listener_id"), ["listener_id"], unique=False)

    op.create_table(
        "spotifytoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("refresh_token", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["listener_id"], ["listener.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("listener_id"),
    )
    op.create_table(
        "track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("artists", sa.JSON(), nullable=False),
        sa.Column("album", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("release_year", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("isrc", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("image_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("spotify_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("top_ranks", sa.JSON(), nullable=False),
        sa.Column("play_times", sa.JSON(), nullable=False),
        sa.Column("play_count", sa.Integer(), nullable=False),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["listener_id"], ["listener.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("listener_id", "source_id"),
    )
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_track_listener_id"), ["listener_id"], unique=False)

    op.create_table(
        "character",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("archetype", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("episode_id", "key"),
    )
    with op.batch_alter_table("character", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_character_episode_id"), ["episode_id"], unique=False)

    op.create_table(
        "episodesong",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("character", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("artists", sa.JSON(), nullable=False),
        sa.Column("album", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("image_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("spotify_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("episodesong", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episodesong_episode_id"), ["episode_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("episodesong", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episodesong_episode_id"))

    op.drop_table("episodesong")
    with op.batch_alter_table("character", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_character_episode_id"))

    op.drop_table("character")
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_listener_id"))

    op.drop_table("track")
    op.drop_table("spotifytoken")
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_listener_id"))

    op.drop_table("episode")
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listener_external_id"))

    op.drop_table("listener")
    op.drop_table("featurecache")
