"""Episodes: propose a draft from a history, edit it, publish it under a slug, take it down, show it.

Every function takes the session (and whatever else it works with) as keyword arguments and checks
ownership itself, so the web layer only passes what the visitor asked for. What a page, the JSON, an
embed or a share image shows of an episode is one typed `EpisodeView`.

A take-down (unpublish, delete) is announced with the `taken_down` signal, sent by the current app
with the slugs that are no longer public: every cache a published episode was rendered into (the page
cache, the share images) listens to it and forgets them at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC
from typing import Any

from blinker import Namespace
from flask import current_app, has_app_context
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fanapp import engine as eng
from fanapp.data.models import Character, Episode, EpisodeSong, Listener, Track, utcnow
from fanapp.sources import clean_text

KEYS = ("a", "b")
MAX_SONGS = 5
NAME_LIMIT = 40

_signals = Namespace()
taken_down = _signals.signal("episodes-taken-down")
"""Sent by the current Flask app with `slugs`: published episodes that are no longer public."""


class EpisodeError(ValueError):
    """An edit or publish that cannot be done; the message is for the visitor."""


class NotYours(EpisodeError):
    """No draft of this visitor's has this id (someone else's, deleted, or never there)."""


class AlreadyPublished(EpisodeError):
    """The visitor's own episode, already published: its share page is at `slug`."""

    def __init__(self, slug: str) -> None:
        super().__init__("This episode is already published.")
        self.slug = slug


# -- what every surface shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class SongView:
    """One song as shown publicly (`id` is the source's stable id; `song_id` the builder's row id)."""

    id: str
    title: str
    artists: list[str]
    album: str
    image_url: str | None
    spotify_url: str | None
    spotify_id: str | None
    slot: str
    reason: str
    song_id: int | None = None

    def public(self) -> dict[str, Any]:
        """The song as the JSON shows it (no row ids)."""
        data = asdict(self)
        data.pop("song_id")
        return data


@dataclass(frozen=True)
class CharacterView:
    """A character: name, one line about them, and their soundtrack in story order."""

    key: str
    name: str
    description: str
    songs: list[SongView]


@dataclass(frozen=True)
class PairView:
    """A suggested mash-up: one song of each character, a 0-100 score and the reasons."""

    a: SongView
    b: SongView
    score: int
    reasons: list[str]


@dataclass(frozen=True)
class EpisodeView:
    """Everything a page, the JSON, an image or an embed shows of an episode (no personal data)."""

    slug: str | None
    title: str
    basis: str
    display_name: str
    published_at: str | None
    characters: list[CharacterView]
    mashup: PairView | None
    alternatives: list[PairView] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The view as plain data: the published JSON (no row ids), and what share images read."""

        def pair(p: PairView | None) -> dict[str, Any] | None:
            if p is None:
                return None
            return {"a": p.a.public(), "b": p.b.public(), "score": p.score, "reasons": list(p.reasons)}

        return {
            "slug": self.slug,
            "title": self.title,
            "basis": self.basis,
            "display_name": self.display_name,
            "published_at": self.published_at,
            "characters": [
                {
                    "key": c.key,
                    "name": c.name,
                    "description": c.description,
                    "songs": [s.public() for s in c.songs],
                }
                for c in self.characters
            ],
            "mashup": pair(self.mashup),
            "alternatives": [pair(p) for p in self.alternatives],
        }

    def playlist(self) -> list[str]:
        """Spotify track ids for a playlist of the episode: both soundtracks in story order, the mash-up
        pair last; songs that are not on Spotify are left out."""
        songs = [song for character in self.characters for song in character.songs]
        if self.mashup:
            songs += [self.mashup.a, self.mashup.b]
        return [s.spotify_id for s in songs if s.spotify_id]


@dataclass(frozen=True)
class Builder:
    """What the builder page shows: the draft, the listener's history (filtered), and their notes."""

    episode_id: int
    view: EpisodeView
    history: list[Track]
    history_total: int
    notes: list[str]
    display_name: str


def new_slug() -> str:
    """22 characters of URL-safe base64: 128 random bits, unguessable."""
    return secrets.token_urlsafe(16)


def profile(track: Track) -> eng.TrackProfile:
    """The engine's view of a stored track."""
    feats = {
        name: eng.Feature(float(v["value"]), str(v.get("source", "")))
        for name, v in (track.features or {}).items()
        if name in eng.FEATURE_NAMES and isinstance(v, dict) and isinstance(v.get("value"), int | float)
    }
    saved = track.saved_at
    return eng.TrackProfile(
        id=track.source_id,
        title=track.title,
        artists=tuple(track.artists or ()),
        album=track.album,
        release_year=track.release_year,
        duration_ms=track.duration_ms,
        explicit=track.explicit,
        isrc=track.isrc,
        top_ranks=dict(track.top_ranks or {}),
        play_times=tuple(track.plays()),
        play_count=track.play_count,
        saved_at=saved.replace(tzinfo=UTC) if saved and saved.tzinfo is None else saved,
        features=eng.Features(**feats),
    )


def history(session: Session, listener_id: int, query: str = "", limit: int = 200) -> list[Track]:
    """The listener's imported songs, most loved first, optionally filtered by title, artist or album."""
    tracks = list(session.exec(select(Track).where(Track.listener_id == listener_id)).all())
    needle = query.strip().casefold()
    if needle:
        tracks = [t for t in tracks if needle in f"{t.title} {' '.join(t.artists)} {t.album}".casefold()]
    tracks.sort(key=lambda t: (-profile(t).weight(), t.title.casefold(), t.source_id))
    return tracks[:limit]


def history_size(session: Session, listener_id: int) -> int:
    """How many songs the listener's history holds."""
    return int(session.exec(select(func.count()).where(Track.listener_id == listener_id)).one())


# -- drafts ------------------------------------------------------------------------------------------


def propose(session: Session, *, listener_id: int, campaign: dict[str, str] | None = None) -> int:
    """A new draft episode cast by the engine from the listener's history; returns its id.

    Raises `EngineError` (a sentence for the visitor) when the history is too small to cast.
    """
    profiles = {}
    tracks = {}
    for t in session.exec(select(Track).where(Track.listener_id == listener_id)):
        p = profile(t)
        profiles[p.stable_id], tracks[p.stable_id] = p, t
    proposal = eng.propose(list(profiles.values()))
    episode = Episode(listener_id=listener_id, basis=proposal.basis[:200], campaign=dict(campaign or {}))
    session.add(episode)
    session.flush()
    assert episode.id is not None
    for character in (proposal.a, proposal.b):
        session.add(
            Character(
                episode_id=episode.id,
                key=character.key,
                name=character.name[:NAME_LIMIT],
                description=character.description[:300],
                archetype=character.archetype[:60],
            )
        )
        for pos, placement in enumerate(character.arc):
            session.add(
                EpisodeSong.of(
                    tracks[placement.track_id],
                    episode_id=episode.id,
                    character=character.key,
                    position=pos,
                    reason=placement.reason,
                )
            )
    session.flush()
    _rescore(session, episode)
    session.commit()
    return episode.id


def why_not_cast(session: Session, *, listener_id: int) -> str:
    """Why the listener's history gave no draft (the engine's sentence), or "" when it would give one."""
    tracks = session.exec(select(Track).where(Track.listener_id == listener_id)).all()
    try:
        eng.propose([profile(t) for t in tracks])
    except eng.EngineError as exc:
        return str(exc)
    return ""


def newest(session: Session, *, listener_id: int) -> Episode | None:
    """The listener's newest episode, draft or published (where the journey continues after an import)."""
    return session.exec(
        select(Episode).where(Episode.listener_id == listener_id).order_by(col(Episode.id).desc())
    ).first()


def latest_draft(session: Session, *, listener_id: int) -> Episode | None:
    """The listener's newest unpublished episode, if any."""
    return session.exec(
        select(Episode)
        .where(Episode.listener_id == listener_id, Episode.status == "draft")
        .order_by(col(Episode.id).desc())
    ).first()


def _draft(session: Session, episode_id: int, owners: Sequence[int]) -> Episode:
    """The visitor's own draft with this id; `AlreadyPublished` for their published one, else `NotYours`."""
    episode = session.get(Episode, episode_id)
    if episode is None or episode.listener_id is None or episode.listener_id not in owners:
        raise NotYours("This episode is not one of yours, or it was already published.")
    if episode.status != "draft":
        if episode.slug and episode.status == "published":
            raise AlreadyPublished(episode.slug)
        raise NotYours("This episode is not one of yours, or it was already published.")
    return episode


def builder(session: Session, *, episode_id: int, owners: Sequence[int], query: str = "") -> Builder:
    """Everything the builder page shows of the visitor's draft."""
    episode = _draft(session, episode_id, owners)
    assert episode.listener_id is not None and episode.id is not None
    listener = session.get(Listener, episode.listener_id)
    return Builder(
        episode_id=episode.id,
        view=view(session, episode),
        history=history(session, episode.listener_id, query),
        history_total=history_size(session, episode.listener_id),
        notes=list(listener.import_notes) if listener else [],
        display_name=listener.display_name if listener else "",
    )


def characters(session: Session, episode: Episode) -> dict[str, Character]:
    """The episode's two characters by key."""
    rows = session.exec(select(Character).where(Character.episode_id == episode.id)).all()
    return {c.key: c for c in rows}


def soundtrack(session: Session, episode: Episode, key: str) -> list[EpisodeSong]:
    """One character's songs in story order."""
    return list(
        session.exec(
            select(EpisodeSong)
            .where(EpisodeSong.episode_id == episode.id, EpisodeSong.character == key)
            .order_by(col(EpisodeSong.position))
        ).all()
    )


def _renumber(session: Session, songs: Sequence[EpisodeSong]) -> None:
    for pos, song in enumerate(songs):
        song.position = pos
        session.add(song)


def _rescore(session: Session, episode: Episode) -> None:
    """Recompute the mash-up from the two soundtracks as they are now (the last song is each finale)."""
    sides = []
    for key in KEYS:
        ids = [s.track_id for s in soundtrack(session, episode, key) if s.track_id is not None]
        by_id = {t.id: t for t in session.exec(select(Track).where(col(Track.id).in_(ids))).all()}
        sides.append([profile(by_id[i]) for i in ids if i in by_id])
    pairs = eng.score_mashups(sides[0], sides[1], top=3)
    episode.mashup = {
        "pairs": [
            {
                "a_id": p.a_id,
                "b_id": p.b_id,
                "score": int(p.score),
                "reasons": list(p.reasons),
                "uses_features": p.uses_features,
            }
            for p in pairs
        ]
    }
    session.add(episode)


def add_song(session: Session, *, episode_id: int, owners: Sequence[int], track_id: str, key: str) -> None:
    """Put a history song at the end of a character's soundtrack (moving it from the other one if it was
    there)."""
    episode = _draft(session, episode_id, owners)
    track = session.exec(
        select(Track).where(Track.listener_id == episode.listener_id, Track.source_id == track_id)
    ).first()
    if track is None:
        raise EpisodeError("That song is not in your history.")
    if key not in KEYS:
        raise EpisodeError("Choose character A or B.")
    for other in KEYS:
        songs = soundtrack(session, episode, other)
        if any(s.source_id == track.source_id for s in songs):
            if other == key:
                return
            for s in songs:
                if s.source_id == track.source_id:
                    session.delete(s)
            _renumber(session, [s for s in songs if s.source_id != track.source_id])
    songs = soundtrack(session, episode, key)
    if len(songs) >= MAX_SONGS:
        raise EpisodeError(f"A soundtrack holds at most {MAX_SONGS} songs. Remove one first.")
    assert episode.id is not None
    session.add(
        EpisodeSong.of(
            track, episode_id=episode.id, character=key, position=len(songs), reason="added by you"
        )
    )
    session.flush()
    _rescore(session, episode)
    session.commit()


def _owned_song(session: Session, episode: Episode, song_id: int) -> EpisodeSong:
    song = session.get(EpisodeSong, song_id)
    if song is None or song.episode_id != episode.id:
        raise EpisodeError("That song is no longer in this episode.")
    return song


def remove_song(session: Session, *, episode_id: int, owners: Sequence[int], song_id: int) -> None:
    """Take a song out of its soundtrack."""
    episode = _draft(session, episode_id, owners)
    song = _owned_song(session, episode, song_id)
    key = song.character
    session.delete(song)
    session.flush()
    _renumber(session, soundtrack(session, episode, key))
    session.flush()
    _rescore(session, episode)
    session.commit()


def move_song(session: Session, *, episode_id: int, owners: Sequence[int], song_id: int, delta: int) -> None:
    """Move a song earlier (-1) or later (+1) in its story."""
    episode = _draft(session, episode_id, owners)
    song = _owned_song(session, episode, song_id)
    songs = soundtrack(session, episode, song.character)
    index = next(i for i, s in enumerate(songs) if s.id == song.id)
    target = max(0, min(len(songs) - 1, index + (1 if delta > 0 else -1)))
    songs.insert(target, songs.pop(index))
    _renumber(session, songs)
    session.flush()
    _rescore(session, episode)
    session.commit()


def rename(session: Session, *, episode_id: int, owners: Sequence[int], key: str, name: str) -> None:
    """Give a character a new name (plain text, 1 to 40 characters)."""
    episode = _draft(session, episode_id, owners)
    cleaned = clean_text(name, 10_000)
    if not cleaned:
        raise EpisodeError("A character needs a name.")
    if len(cleaned) > NAME_LIMIT:
        raise EpisodeError(f"Keep the name to {NAME_LIMIT} characters or fewer.")
    character = characters(session, episode).get(key)
    if character is None:
        raise EpisodeError("Choose character A or B.")
    character.name = cleaned
    session.add(character)
    session.commit()


def publish(
    session: Session, *, episode_id: int, owners: Sequence[int], show_display_name: bool = False
) -> str:
    """Freeze the draft under a new unguessable slug and return the slug."""
    episode = _draft(session, episode_id, owners)
    if not all(soundtrack(session, episode, k) for k in KEYS):
        raise EpisodeError("Each character needs at least one song before you publish.")
    if not episode.mashup.get("pairs"):
        raise EpisodeError("Add songs so that we can suggest a mash-up before you publish.")
    chars = characters(session, episode)
    listener = session.get(Listener, episode.listener_id) if episode.listener_id else None
    episode.title = f"{chars['a'].name} & {chars['b'].name}"[:200]
    episode.display_name = listener.display_name if (listener and show_display_name) else ""
    episode.show_display_name = show_display_name
    episode.status = "published"
    episode.published_at = utcnow()
    for _attempt in range(5):
        episode.slug = new_slug()
        session.add(episode)
        try:
            session.commit()
        except IntegrityError:  # a 128-bit collision: astronomically unlikely, but never lose the row
            session.rollback()
            continue
        return episode.slug
    raise EpisodeError("We could not publish right now. Please try again.")


# -- published episodes ------------------------------------------------------------------------------


def published(session: Session, slug: str) -> Episode | None:
    """A published episode by its slug."""
    if not slug or len(slug) > 32:
        return None
    return session.exec(select(Episode).where(Episode.slug == slug, Episode.status == "published")).first()


def public_view(session: Session, slug: str) -> EpisodeView | None:
    """What the public surfaces show of a published episode, or None when nothing is published there."""
    episode = published(session, slug)
    return None if episode is None else view(session, episode)


def unpublish(session: Session, *, episode_id: int, owners: Sequence[int]) -> None:
    """Take one of the visitor's episodes down: its link, JSON, images and embed answer 404 from now on."""
    episode = session.get(Episode, episode_id)
    if episode is None or episode.listener_id is None or episode.listener_id not in owners:
        raise NotYours("This episode is not one of yours.")
    slug = episode.slug if episode.status == "published" else None
    session.delete(episode)
    session.commit()
    announce_taken_down([slug] if slug else [])


def announce_taken_down(slugs: Iterable[str]) -> None:
    """Tell every cache of the current app that these published episodes are gone (no-op when none)."""
    gone = sorted({s for s in slugs if s})
    if gone and has_app_context():
        taken_down.send(current_app._get_current_object(), slugs=gone)  # type: ignore[attr-defined]


def _song_view(song: EpisodeSong, slot: str) -> SongView:
    return SongView(
        id=song.source_id,
        song_id=song.id,
        title=song.title,
        artists=list(song.artists),
        album=song.album,
        image_url=song.image_url,
        spotify_url=song.spotify_url,
        spotify_id=song.spotify_id,
        slot=slot,
        reason=song.reason,
    )


def view(session: Session, episode: Episode) -> EpisodeView:
    """Everything a page, the JSON, an image or an embed shows of an episode (no personal data)."""
    chars = characters(session, episode)
    out_chars: list[CharacterView] = []
    songs_by_id: dict[str, SongView] = {}
    for key in KEYS:
        songs = soundtrack(session, episode, key)
        views = [_song_view(s, eng.slot_for(i, len(songs))) for i, s in enumerate(songs)]
        for v in views:
            songs_by_id.setdefault(v.id, v)
        c = chars.get(key)
        out_chars.append(
            CharacterView(
                key=key,
                name=c.name if c else key.upper(),
                description=c.description if c else "",
                songs=views,
            )
        )
    pairs = []
    for p in episode.mashup.get("pairs", []):
        a, b = songs_by_id.get(p["a_id"]), songs_by_id.get(p["b_id"])
        if a and b:
            pairs.append(PairView(a=a, b=b, score=p["score"], reasons=list(p["reasons"])))
    return EpisodeView(
        slug=episode.slug,
        title=episode.title or " & ".join(c.name for c in out_chars),
        basis=episode.basis,
        display_name=episode.display_name if episode.show_display_name else "",
        published_at=episode.published_at.isoformat() if episode.published_at else None,
        characters=out_chars,
        mashup=pairs[0] if pairs else None,
        alternatives=pairs[1:],
    )
