"""Episodes: propose a draft from a history, edit it, publish it under a slug, show it publicly."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fanapp import engine as eng
from fanapp.models import Character, Episode, EpisodeSong, Listener, Track, utcnow
from fanapp.sources import clean_text
from fanapp.sources.spotify import track_id_of

KEYS = ("a", "b")
MAX_SONGS = 5
NAME_LIMIT = 40


class EpisodeError(ValueError):
    """An edit or publish that cannot be done; the message is for the visitor."""


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


def _song(episode_id: int, key: str, position: int, track: Track, reason: str = "") -> EpisodeSong:
    return EpisodeSong(
        episode_id=episode_id,
        character=key,
        position=position,
        track_id=track.id,
        source_id=track.source_id,
        title=track.title,
        artists=list(track.artists),
        album=track.album,
        image_url=track.image_url,
        spotify_url=track.spotify_url,
        reason=reason[:200],
    )


def propose(session: Session, *, listener: Listener, campaign: dict[str, str] | None = None) -> Episode:
    """A new draft episode cast by the engine from the listener's history (raises EngineError if too few)."""
    assert listener.id is not None
    profiles = {}
    tracks = {}
    for t in session.exec(select(Track).where(Track.listener_id == listener.id)):
        p = profile(t)
        profiles[p.stable_id], tracks[p.stable_id] = p, t
    proposal = eng.propose(list(profiles.values()))
    episode = Episode(listener_id=listener.id, basis=proposal.basis[:200], campaign=dict(campaign or {}))
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
            session.add(_song(episode.id, character.key, pos, tracks[placement.track_id], placement.reason))
    session.flush()
    _rescore(session, episode)
    session.commit()
    return episode


def latest_draft(session: Session, *, listener_id: int) -> Episode | None:
    """The listener's newest unpublished episode, if any (so a reload does not cast a second one)."""
    return session.exec(
        select(Episode)
        .where(Episode.listener_id == listener_id, Episode.status == "draft")
        .order_by(col(Episode.id).desc())
    ).first()


def draft(session: Session, *, episode_id: int, listener_ids: Sequence[int]) -> Episode | None:
    """The visitor's own draft with this id (None for someone else's or a published one)."""
    episode = session.get(Episode, episode_id)
    if episode is None or episode.listener_id is None or episode.listener_id not in listener_ids:
        return None
    return episode if episode.status == "draft" else None


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


def add_song(session: Session, *, episode: Episode, track: Track, key: str) -> None:
    """Put a song at the end of a character's soundtrack (moving it from the other one if it was there)."""
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
    session.add(_song(episode.id, key, len(songs), track, "added by you"))
    session.flush()
    _rescore(session, episode)
    session.commit()


def _owned_song(session: Session, episode: Episode, song_id: int) -> EpisodeSong:
    song = session.get(EpisodeSong, song_id)
    if song is None or song.episode_id != episode.id:
        raise EpisodeError("That song is no longer in this episode.")
    return song


def remove_song(session: Session, *, episode: Episode, song_id: int) -> None:
    """Take a song out of its soundtrack."""
    song = _owned_song(session, episode, song_id)
    key = song.character
    session.delete(song)
    session.flush()
    _renumber(session, soundtrack(session, episode, key))
    session.flush()
    _rescore(session, episode)
    session.commit()


def move_song(session: Session, *, episode: Episode, song_id: int, delta: int) -> None:
    """Move a song earlier (-1) or later (+1) in its story."""
    song = _owned_song(session, episode, song_id)
    songs = soundtrack(session, episode, song.character)
    index = next(i for i, s in enumerate(songs) if s.id == song.id)
    target = max(0, min(len(songs) - 1, index + (1 if delta > 0 else -1)))
    songs.insert(target, songs.pop(index))
    _renumber(session, songs)
    session.flush()
    _rescore(session, episode)
    session.commit()


def rename(session: Session, *, episode: Episode, key: str, name: str) -> None:
    """Give a character a new name (plain text, 1 to 40 characters)."""
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


def publish(session: Session, *, episode: Episode, show_display_name: bool = False) -> str:
    """Freeze the draft under a new unguessable slug and return the slug."""
    if episode.status != "draft":
        raise EpisodeError("This episode is already published.")
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


def published(session: Session, slug: str) -> Episode | None:
    """A published episode by its slug."""
    if not slug or len(slug) > 32:
        return None
    return session.exec(select(Episode).where(Episode.slug == slug, Episode.status == "published")).first()


def _song_view(song: EpisodeSong, slot: str) -> dict[str, Any]:
    return {
        "id": song.source_id,
        "song_id": song.id,
        "title": song.title,
        "artists": list(song.artists),
        "album": song.album,
        "image_url": song.image_url,
        "spotify_url": song.spotify_url,
        "slot": slot,
        "reason": song.reason,
    }


def view(session: Session, episode: Episode) -> dict[str, Any]:
    """Everything a page, the JSON, an image or an embed shows of an episode (no personal data)."""
    chars = characters(session, episode)
    out_chars: list[dict[str, Any]] = []
    songs_by_id: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        songs = soundtrack(session, episode, key)
        views = [_song_view(s, eng.slot_for(i, len(songs))) for i, s in enumerate(songs)]
        for v in views:
            songs_by_id.setdefault(v["id"], v)
        c = chars.get(key)
        out_chars.append(
            {
                "key": key,
                "name": c.name if c else key.upper(),
                "description": c.description if c else "",
                "songs": views,
            }
        )
    pairs = []
    for p in episode.mashup.get("pairs", []):
        a, b = songs_by_id.get(p["a_id"]), songs_by_id.get(p["b_id"])
        if a and b:
            pairs.append({"a": a, "b": b, "score": p["score"], "reasons": p["reasons"]})
    return {
        "slug": episode.slug,
        "title": episode.title or " & ".join(c["name"] for c in out_chars),
        "basis": episode.basis,
        "display_name": episode.display_name if episode.show_display_name else "",
        "published_at": episode.published_at.isoformat() if episode.published_at else None,
        "characters": out_chars,
        "mashup": pairs[0] if pairs else None,
        "alternatives": pairs[1:],
    }


def playlist_order(view: dict[str, Any]) -> list[str]:
    """Spotify track ids for a playlist of the episode: both soundtracks in story order, the mash-up
    pair last; songs that are not on Spotify are left out."""
    songs = [song for character in view["characters"] for song in character["songs"]]
    if view["mashup"]:
        songs += [view["mashup"]["a"], view["mashup"]["b"]]
    return [t for t in (track_id_of(s) for s in songs) if t]
