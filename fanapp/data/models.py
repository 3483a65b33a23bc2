"""All tables in one module: what a listener imported, the episodes built from it, and caches."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from fanapp.tracks import ImportedTrack, SongFields, TrackFields


def utcnow() -> datetime:
    """Aware UTC now: every stored time is UTC."""
    return datetime.now(UTC)


class Listener(SQLModel, table=True):
    """A visitor's connected history: who (privately) and how far the import got."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)  # spotify, apple-music, demo, lastfm, export, pick
    external_id: str | None = Field(default=None, max_length=255, index=True)  # never shown publicly
    display_name: str = Field(default="", max_length=200)
    import_status: str = Field(default="pending", max_length=20)  # pending, running, done, failed
    import_stage: str = Field(default="", max_length=200)  # what is being fetched, for the progress page
    import_error: str = Field(default="", max_length=500)
    import_notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    import_resume_at: datetime | None = None  # when a paused import will run again (queue mode)
    created_at: datetime = Field(default_factory=utcnow)
    imported_at: datetime | None = None
    # sha256 of the random visitor token in the session cookie of the browser that made it: ownership
    # is that token, never this row's (reusable) id.
    owner_hash: str | None = Field(default=None, max_length=64, index=True)
    # The import's last sign of life (each stage, each claim): the watchdog stops one that has none.
    import_progress_at: datetime | None = None
    # The queued import's job: {"id": RQ job id, "spec": what to run, "restarts": n}, so a job lost
    # with Redis can be found missing and run again (nothing secret: tokens stay in their tables).
    import_job: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SpotifyToken(SQLModel, table=True):
    """A listener's Spotify tokens, Fernet-encrypted; one row per listener, deleted on disconnect."""

    id: int | None = Field(default=None, primary_key=True)
    listener_id: int = Field(foreign_key="listener.id", unique=True, ondelete="CASCADE")
    access_token: str  # encrypted
    refresh_token: str | None = None  # encrypted
    scope: str = Field(default="", max_length=500)
    expires_at: datetime


class AppleMusicToken(SQLModel, table=True):
    """A listener's Apple Music user token, Fernet-encrypted, held only until their import reads it."""

    id: int | None = Field(default=None, primary_key=True)
    listener_id: int = Field(foreign_key="listener.id", unique=True, ondelete="CASCADE")
    music_user_token: str  # encrypted
    created_at: datetime = Field(default_factory=utcnow)


class Track(TrackFields, table=True):
    """One song of a listener's imported history, deduplicated, with what it was to them."""

    __table_args__ = (UniqueConstraint("listener_id", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    listener_id: int = Field(foreign_key="listener.id", index=True, ondelete="CASCADE")
    play_times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # ISO, UTC

    def plays(self) -> list[datetime]:
        """The stored play times (ISO strings in the JSON column) as datetimes; unreadable ones skipped."""
        found = []
        for text in self.play_times or []:
            try:
                found.append(datetime.fromisoformat(text))
            except ValueError:
                continue
        return found

    @classmethod
    def of(cls, listener_id: int, track: ImportedTrack) -> Track:
        """An imported song as stored for this listener."""
        return cls(
            **track.model_dump(exclude={"play_times"}),
            listener_id=listener_id,
            play_times=sorted(p.isoformat() for p in track.play_times),
        )

    def imported(self) -> ImportedTrack:
        """The stored song back as an `ImportedTrack` (to import again, e.g. songs picked by hand)."""
        fields = TrackFields.model_fields
        return ImportedTrack(**{name: getattr(self, name) for name in fields}, play_times=self.plays())


class Episode(SQLModel, table=True):
    """A two-character episode: a draft while building, public under its slug once published."""

    id: int | None = Field(default=None, primary_key=True)
    listener_id: int | None = Field(default=None, foreign_key="listener.id", index=True, ondelete="SET NULL")
    slug: str | None = Field(default=None, max_length=32, unique=True)
    status: str = Field(default="draft", max_length=20)  # draft, published, taken-down (by an operator)
    title: str = Field(default="", max_length=200)
    basis: str = Field(default="", max_length=200)  # what the casting was based on
    show_display_name: bool = False
    display_name: str = Field(default="", max_length=200)  # copied at publish only if ticked
    # {"a_id", "b_id", "score", "reasons": [...], "uses_features"} of the chosen pair, plus "alternatives"
    mashup: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    campaign: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None
    # Duets: whether friends may make a duet of this episode (the inviter's choice at publish), and, for a
    # duet, the original's slug (kept when the original is taken down: the duet holds its own copy) and
    # the original's listener, so the inviter can find and take down duets of their episodes.
    allow_duets: bool = True
    duet_of: str | None = Field(default=None, max_length=32, index=True)
    duet_inviter_id: int | None = Field(
        default=None, foreign_key="listener.id", index=True, ondelete="SET NULL"
    )
    taken_down_at: datetime | None = None  # when an operator took it down after a report


class Character(SQLModel, table=True):
    """One of an episode's two characters (a or b): name and the line that describes them."""

    __table_args__ = (UniqueConstraint("episode_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=1)  # "a" or "b"
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=300)
    archetype: str = Field(default="", max_length=60)


class EpisodeSong(SongFields, table=True):
    """A song in a character's soundtrack, in story order, copied so a published episode stands alone."""

    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True, ondelete="CASCADE")
    character: str = Field(max_length=1)  # "a" or "b"
    position: int
    track_id: int | None = Field(default=None, foreign_key="track.id", ondelete="SET NULL")
    reason: str = Field(default="", max_length=200)

    @classmethod
    def of(
        cls, track: Track, *, episode_id: int, character: str, position: int, reason: str = ""
    ) -> EpisodeSong:
        """A history song copied into a soundtrack."""
        song = {name: getattr(track, name) for name in SongFields.model_fields}
        return cls(
            **song,
            episode_id=episode_id,
            character=character,
            position=position,
            track_id=track.id,
            reason=reason[:200],
        )


class FeatureCache(SQLModel, table=True):
    """Musical features a provider returned for a song (or that it had none), so it is asked once."""

    __table_args__ = (UniqueConstraint("provider", "lookup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=30)
    lookup_key: str = Field(max_length=255)  # Spotify id or ISRC, as the provider is asked
    features: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    found: bool = True
    fetched_at: datetime = Field(default_factory=utcnow)


class Report(SQLModel, table=True):
    """A visitor's report of a published episode: which, why and when; nothing about who reported."""

    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True, ondelete="CASCADE")
    reason: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class FunnelCount(SQLModel, table=True):
    """Campaign counts, aggregated: per day, campaign, source, way in and step; no visitor in them."""

    __table_args__ = (UniqueConstraint("day", "campaign", "source", "way", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    campaign: str = Field(default="", max_length=100)  # utm_campaign or ?c=
    source: str = Field(default="", max_length=100)  # utm_source
    way: str = Field(default="", max_length=20)  # the way in (spotify, demo, …); empty for views
    step: str = Field(max_length=20)  # visits, starts, imports, published, share_views, …
    count: int = 0


class WayInSwitch(SQLModel, table=True):
    """A way in that an operator switched off from /admin/ (e.g. Spotify when its quota is spent)."""

    way: str = Field(primary_key=True, max_length=20)
    off: bool = False
    changed_at: datetime = Field(default_factory=utcnow)
