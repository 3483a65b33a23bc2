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

from fanapp import campaigns, content
from fanapp import engine as eng
from fanapp.data.models import Character, Episode, EpisodeSong, Listener, Report, Track, utcnow
from fanapp.sources import clean_text

KEYS = ("a", "b")
MAX_SONGS = 5
MASHUP_CHOICES = 3  # the pairs the builder offers: the finales' own, then the engine's best others
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
    """A suggested mash-up: one song of each character, a 0-100 score, the reasons, and the mix as the
    engine measured it (keys, transposition, tempos; empty for pairs stored before it was kept)."""

    a: SongView
    b: SongView
    score: int
    reasons: list[str]
    verdict: str = ""
    label: str = ""
    mix: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The pair as the JSON shows it and the share images read it."""
        return {
            "a": self.a.public(),
            "b": self.b.public(),
            "score": self.score,
            "reasons": list(self.reasons),
            "verdict": self.verdict,
            "label": self.label,
            "mix": dict(self.mix),
        }


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
    duet_of: str | None = None  # a duet: the slug of the episode whose character it co-stars with
    allow_duets: bool = True  # whether friends may make duets of it (the inviter's choice at publish)

    def as_dict(self) -> dict[str, Any]:
        """The view as plain data: the published JSON (no row ids), and what share images read."""

        def pair(p: PairView | None) -> dict[str, Any] | None:
            return None if p is None else p.public()

        found: dict[str, Any] = {
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
        if self.duet_of:
            found["duet_of"] = self.duet_of
        return found

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
    choices: list[PairView] = field(default_factory=list)
    story_notes: dict[str, list[str]] = field(default_factory=dict)


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


def history_profiles(session: Session, listener_id: int) -> tuple[list[eng.TrackProfile], dict[str, Track]]:
    """The listener's history as the engine reads it, and its tracks by the engine's id (`stable_id`),
    which the engine's placements name."""
    profiles = {}
    tracks = {}
    for t in session.exec(select(Track).where(Track.listener_id == listener_id)):
        p = profile(t)
        profiles[p.stable_id], tracks[p.stable_id] = p, t
    return list(profiles.values()), tracks


def add_cast_character(
    session: Session, *, episode_id: int, character: eng.Character, tracks: dict[str, Track]
) -> None:
    """Write a character the engine cast (its songs from `tracks`, by the engine's `stable_id`) into a
    draft: a new episode's two sides, or a duet's side B."""
    # The campaign's pack may give an archetype its own name and line (by the archetype's id).
    own = content.current().archetypes.get(character.archetype)
    session.add(
        Character(
            episode_id=episode_id,
            key=character.key,
            name=(own.name if own else character.name)[:NAME_LIMIT],
            description=((own.description if own else "") or character.description)[:300],
            archetype=character.archetype[:60],
        )
    )
    for pos, placement in enumerate(character.arc):
        session.add(
            EpisodeSong.of(
                tracks[placement.track_id],
                episode_id=episode_id,
                character=character.key,
                position=pos,
                reason=placement.reason,
            )
        )


def propose(session: Session, *, listener_id: int, campaign: dict[str, str] | None = None) -> int:
    """A new draft episode cast by the engine from the listener's history; returns its id.

    Raises `EngineError` (a sentence for the visitor) when the history is too small to cast.
    """
    profiles, tracks = history_profiles(session, listener_id)
    proposal = eng.propose(profiles)
    episode = Episode(listener_id=listener_id, basis=proposal.basis[:200], campaign=dict(campaign or {}))
    session.add(episode)
    session.flush()
    assert episode.id is not None
    for character in (proposal.a, proposal.b):
        add_cast_character(session, episode_id=episode.id, character=character, tracks=tracks)
    episode.mashup = {
        "pairs": [pair_record(p, finales=n == 0) for n, p in enumerate(proposal.mashups)],
        "candidates": {"a": list(proposal.candidates[0]), "b": list(proposal.candidates[1])},
        "notes": {"a": list(proposal.a.notes), "b": list(proposal.b.notes)},
    }
    session.add(episode)
    session.commit()
    return episode.id


def lock_listener(session: Session, listener_id: int) -> None:
    """Lock the listener's row (`SELECT … FOR UPDATE`) until the session commits or rolls back, so two
    requests or jobs making the listener's one draft take turns (a no-op on SQLite)."""
    session.exec(
        select(Listener)
        .where(Listener.id == listener_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def first_draft(session: Session, *, listener_id: int, campaign: dict[str, str] | None = None) -> int:
    """The import's one draft: the listener's newest episode if it has one, else a new one (`propose`).

    The listener's row is locked first (`SELECT … FOR UPDATE`), so an import run twice at once (a job
    restarted after it was thought lost, a poll racing a worker) still leaves one draft.
    """
    lock_listener(session, listener_id)
    found = newest(session, listener_id=listener_id)
    if found is not None and found.id is not None:
        session.commit()  # release the lock
        return found.id
    return propose(session, listener_id=listener_id, campaign=campaign)


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


def _draft(session: Session, episode_id: int, owners: Sequence[int], *, lock: bool = False) -> Episode:
    """The visitor's own draft with this id; `AlreadyPublished` for their published one, else `NotYours`.

    `lock` (every edit and publish): the episode's row is locked (`SELECT … FOR UPDATE`) until the
    transaction ends, so edits and publishes of one episode run one after another, each on what the
    previous one committed: parallel adds cannot pass the song limit or share a position, and parallel
    publishes find the first one's slug. (SQLite has no row locks; it serialises writers itself.)
    """
    if lock:
        episode = session.exec(
            select(Episode)
            .where(Episode.id == episode_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    else:
        episode = session.get(Episode, episode_id)
    if episode is None or episode.listener_id is None or episode.listener_id not in owners:
        raise NotYours("This episode is not one of yours, or it was already published.")
    if episode.status != "draft":
        if episode.slug and episode.status == "published":
            raise AlreadyPublished(episode.slug)
        raise NotYours("This episode is not one of yours, or it was already published.")
    return episode


def _editable(episode: Episode, key: str) -> None:
    """Refuse an edit of a duet's side A: it is the inviter's character as they published it."""
    if episode.duet_of and key == "a":
        raise EpisodeError(
            "Side A is the character you co-star with, as its episode published it: it cannot be changed "
            "here. Make side B, your character, your own."
        )


def _editable_keys(episode: Episode) -> tuple[str, ...]:
    """The sides an edit may touch: both, or only side B of a duet (a song both people love stays put
    in side A when the friend adds it to theirs)."""
    return ("b",) if episode.duet_of else KEYS


def given_record(track: eng.TrackProfile) -> dict[str, Any]:
    """A duet's side A song as the engine needs it again after an edit: what the song is and how it
    sounds, nothing of how the inviter listened to it (no plays, ranks or dates)."""
    return {
        "id": track.id,
        "title": track.title,
        "artists": list(track.artists),
        "isrc": track.isrc,
        "release_year": track.release_year,
        "features": {
            name: {"value": value, "source": track.features.source(name) or ""}
            for name in eng.FEATURE_NAMES
            if (value := track.features.get(name)) is not None
        },
    }


def _given(episode: Episode) -> dict[str, eng.TrackProfile]:
    """A duet's side A songs as profiles, from their stored records (empty for any other episode)."""
    found = {}
    for record in episode.mashup.get("given") or []:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            continue
        feats = {
            name: eng.Feature(float(v["value"]), str(v.get("source", "")))
            for name, v in (record.get("features") or {}).items()
            if name in eng.FEATURE_NAMES and isinstance(v, dict) and isinstance(v.get("value"), int | float)
        }
        year = record.get("release_year")
        found[record["id"]] = eng.TrackProfile(
            id=record["id"],
            title=str(record.get("title", "")),
            artists=tuple(str(a) for a in record.get("artists") or ()),
            isrc=record.get("isrc") if isinstance(record.get("isrc"), str) else None,
            release_year=year if isinstance(year, int) else None,
            features=eng.Features(**feats),
        )
    return found


def builder(
    session: Session, *, episode_id: int, owners: Sequence[int], query: str = "", with_history: bool = True
) -> Builder:
    """Everything the builder page shows of the visitor's draft.

    `with_history=False` (the soundtracks fragment an edit answers with): the history is not read, so
    an edit costs the same for 60 songs as for 2,000.
    """
    episode = _draft(session, episode_id, owners)
    assert episode.listener_id is not None and episode.id is not None
    listener = session.get(Listener, episode.listener_id)
    return Builder(
        episode_id=episode.id,
        view=view(session, episode),
        history=history(session, episode.listener_id, query) if with_history else [],
        history_total=history_size(session, episode.listener_id) if with_history else 0,
        notes=list(listener.import_notes) if listener else [],
        display_name=listener.display_name if listener else "",
        choices=_choices(session, episode),
        story_notes={k: [str(n) for n in v] for k, v in (episode.mashup.get("notes") or {}).items()},
    )


def _track_view(track: Track) -> SongView:
    return SongView(
        id=track.source_id,
        title=track.title,
        artists=list(track.artists),
        album=track.album,
        image_url=track.image_url,
        spotify_url=track.spotify_url,
        spotify_id=track.spotify_id,
        slot="finale",
        reason="",
    )


def _pair_view(record: dict[str, Any], a: SongView, b: SongView) -> PairView:
    return PairView(
        a=a,
        b=b,
        score=int(record.get("score", 0)),
        reasons=[str(r) for r in record.get("reasons", [])],
        verdict=str(record.get("verdict", "")),
        label=str(record.get("label", "")),
        mix=dict(record.get("mix") or {}),
    )


def _choices(session: Session, episode: Episode) -> list[PairView]:
    """The pairs the builder offers (the finales' own first), with songs read from the history."""
    records = [r for r in episode.mashup.get("pairs", []) if isinstance(r, dict)]
    ids = {r.get("a_id") for r in records} | {r.get("b_id") for r in records}
    rows = session.exec(
        select(Track).where(
            Track.listener_id == episode.listener_id,
            col(Track.source_id).in_(sorted(i for i in ids if isinstance(i, str))),
        )
    ).all()
    songs = {t.source_id: _track_view(t) for t in rows}
    if episode.duet_of:  # side A is the inviter's: its songs are the episode's own copy, not a history
        songs.update({s.source_id: _song_view(s, "finale") for s in soundtrack(session, episode, "a")})
    return [
        _pair_view(r, songs[r["a_id"]], songs[r["b_id"]])
        for r in records
        if r.get("a_id") in songs and r.get("b_id") in songs
    ]


def choose_pair(session: Session, *, episode_id: int, owners: Sequence[int], a_id: str, b_id: str) -> None:
    """Make one of the offered pairs the mash-up: its two songs become the two finales.

    A song already in its soundtrack moves to the end; otherwise it takes the finale's place and the
    old finale leaves the story (said to the visitor in the show's words).
    """
    episode = _draft(session, episode_id, owners, lock=True)
    offered = {(r.get("a_id"), r.get("b_id")) for r in episode.mashup.get("pairs", []) if isinstance(r, dict)}
    if (a_id, b_id) not in offered:
        raise EpisodeError("That pair is no longer on offer: pick one of the pairs shown.")
    if episode.duet_of and [s.source_id for s in soundtrack(session, episode, "a")][-1:] != [a_id]:
        _editable(episode, "a")
    assert episode.id is not None
    swapped: dict[str, str] = {}
    for key, wanted in (("a", a_id), ("b", b_id)):
        songs = soundtrack(session, episode, key)
        if songs and songs[-1].source_id == wanted:
            continue
        here = next((s for s in songs if s.source_id == wanted), None)
        if here is not None:
            songs.remove(here)
            songs.append(here)
            swapped[key] = f"'{here.title}' moves to the finale: it is this side's half of the mash-up."
        else:
            track = session.exec(
                select(Track).where(Track.listener_id == episode.listener_id, Track.source_id == wanted)
            ).first()
            if track is None:
                raise EpisodeError("That song is not in your history any more.")
            for other in _editable_keys(episode):
                for s in soundtrack(session, episode, other):
                    if s.source_id == wanted:
                        session.delete(s)
            old = songs.pop() if songs else None
            if old is not None:
                session.delete(old)
            session.flush()
            added = EpisodeSong.of(track, episode_id=episode.id, character=key, position=len(songs))
            session.add(added)
            songs.append(added)
            swapped[key] = (
                f"'{track.title}' takes over the finale from '{old.title}': "
                "it is this side's half of the mash-up."
                if old is not None
                else f"'{track.title}' is the finale: it is this side's half of the mash-up."
            )
        _renumber(session, songs)
    session.flush()
    _retell(session, episode, swapped)
    session.commit()


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


def mix_record(mix: eng.Mix) -> dict[str, Any]:
    """The engine's measured mix as stored with the episode, with Open Key beside every Camelot code."""
    record = asdict(mix)
    for name in ("a_key", "b_key", "shifted"):
        code = record.get(name)
        record[f"{name}_open"] = eng.open_key(code) if code else None
        record[f"{name}_name"] = eng.key_name(code) if code else None
    return record


def pair_record(pair: eng.MashupPair, *, finales: bool = False) -> dict[str, Any]:
    """One computed pair as stored: what every surface renders, never recomputed for a published episode.

    `finales` marks the pair of the two soundtracks' finales: the episode's mash-up.
    """
    return {
        "finales": finales,
        "a_id": pair.a_id,
        "b_id": pair.b_id,
        "score": int(pair.score),
        "reasons": list(pair.reasons),
        "verdict": pair.mix.verdict,
        "label": pair.mix.label,
        "mix": mix_record(pair.mix),
    }


def _profiles(
    session: Session, listener_id: int | None, source_ids: Iterable[str]
) -> dict[str, eng.TrackProfile]:
    wanted = sorted(set(source_ids))
    if listener_id is None or not wanted:
        return {}
    rows = session.exec(
        select(Track).where(Track.listener_id == listener_id, col(Track.source_id).in_(wanted))
    ).all()
    return {t.source_id: profile(t) for t in rows}


def _retell(session: Session, episode: Episode, swapped: dict[str, str] | None = None) -> None:
    """After an edit: each soundtrack told again (slot words, the show's rule), each character described
    from its songs as they now are, the finales paired, and the engine's best other pairs found among
    each side's finale candidates and songs. `swapped` adds a note per side about a finale swap."""
    stored = dict(episode.mashup or {})
    candidates = stored.get("candidates") or {}
    chars = characters(session, episode)
    songs = {key: soundtrack(session, episode, key) for key in KEYS}
    wanted = [s.source_id for key in KEYS for s in songs[key]]
    wanted += [i for key in KEYS for i in candidates.get(key, []) if isinstance(i, str)]
    known = _profiles(session, episode.listener_id, wanted)
    given = _given(episode)
    notes: dict[str, list[str]] = dict(stored.get("notes") or {})
    sides: dict[str, list[eng.TrackProfile]] = {}
    for key in KEYS:
        if episode.duet_of and key == "a":  # the inviter's character, as published: read, never retold
            sides[key] = [given[s.source_id] for s in songs[key] if s.source_id in given]
            continue
        side = [known[s.source_id] for s in songs[key] if s.source_id in known]
        sides[key] = side
        story = eng.tell_story(side)
        words = {p.track_id: p.reason for p in story.placements}
        for song in songs[key]:
            if song.source_id in words and song.reason != words[song.source_id]:
                song.reason = words[song.source_id][:200]
                session.add(song)
        swap = (swapped or {}).get(key)
        notes[key] = [swap, *story.notes] if swap else list(story.notes)
        character = chars.get(key)
        if character is not None and character.archetype and side:
            described = eng.describe(character.archetype, side)
            if described:
                character.description = described[:300]
                session.add(character)
    pairs: list[eng.MashupPair] = []
    current = None
    if sides["a"] and sides["b"]:
        current = eng.score_pair(sides["a"][-1], sides["b"][-1])
        if current is not None:
            pairs.append(current)
        pools = {
            key: [*sides[key], *(known[i] for i in candidates.get(key, []) if i in known)] for key in KEYS
        }
        if episode.duet_of:  # side A's finale is fixed: the other pairs vary only side B's half
            pools["a"] = sides["a"][-1:]
        others = eng.score_mashups(pools["a"], pools["b"], top=MASHUP_CHOICES + 1)
        pairs += [p for p in others if not (current and (p.a_id, p.b_id) == (current.a_id, current.b_id))]
    episode.mashup = {
        **stored,
        "pairs": [pair_record(p, finales=p is current) for p in pairs[:MASHUP_CHOICES]],
        "candidates": candidates,
        "notes": notes,
    }
    session.add(episode)


def add_song(session: Session, *, episode_id: int, owners: Sequence[int], track_id: str, key: str) -> None:
    """Put a history song at the end of a character's soundtrack (moving it from the other one if it was
    there)."""
    episode = _draft(session, episode_id, owners, lock=True)
    track = session.exec(
        select(Track).where(Track.listener_id == episode.listener_id, Track.source_id == track_id)
    ).first()
    if track is None:
        raise EpisodeError("That song is not in your history.")
    if key not in KEYS:
        raise EpisodeError("Choose character A or B.")
    _editable(episode, key)
    for other in _editable_keys(episode):
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
    _retell(session, episode)
    session.commit()


def _owned_song(session: Session, episode: Episode, song_id: int) -> EpisodeSong:
    song = session.get(EpisodeSong, song_id)
    if song is None or song.episode_id != episode.id:
        raise EpisodeError("That song is no longer in this episode.")
    return song


def remove_song(session: Session, *, episode_id: int, owners: Sequence[int], song_id: int) -> None:
    """Take a song out of its soundtrack."""
    episode = _draft(session, episode_id, owners, lock=True)
    song = _owned_song(session, episode, song_id)
    key = song.character
    _editable(episode, key)
    session.delete(song)
    session.flush()
    _renumber(session, soundtrack(session, episode, key))
    session.flush()
    _retell(session, episode)
    session.commit()


def move_song(session: Session, *, episode_id: int, owners: Sequence[int], song_id: int, delta: int) -> None:
    """Move a song earlier (-1) or later (+1) in its story."""
    episode = _draft(session, episode_id, owners, lock=True)
    song = _owned_song(session, episode, song_id)
    _editable(episode, song.character)
    songs = soundtrack(session, episode, song.character)
    index = next(i for i, s in enumerate(songs) if s.id == song.id)
    target = max(0, min(len(songs) - 1, index + (1 if delta > 0 else -1)))
    songs.insert(target, songs.pop(index))
    _renumber(session, songs)
    session.flush()
    _retell(session, episode)
    session.commit()


def rename(session: Session, *, episode_id: int, owners: Sequence[int], key: str, name: str) -> None:
    """Give a character a new name (plain text, 1 to 40 characters)."""
    episode = _draft(session, episode_id, owners, lock=True)
    cleaned = clean_text(name, 10_000)
    if not cleaned:
        raise EpisodeError("A character needs a name.")
    if len(cleaned) > NAME_LIMIT:
        raise EpisodeError(f"Keep the name to {NAME_LIMIT} characters or fewer.")
    try:
        content.check_public_text(cleaned)
    except content.BlockedWord as exc:
        raise EpisodeError(str(exc)) from None
    character = characters(session, episode).get(key)
    if character is None:
        raise EpisodeError("Choose character A or B.")
    _editable(episode, key)
    character.name = cleaned
    session.add(character)
    session.commit()


def publish(
    session: Session,
    *,
    episode_id: int,
    owners: Sequence[int],
    show_display_name: bool = False,
    allow_duets: bool = True,
) -> str:
    """Freeze the draft under a new unguessable slug and return the slug.

    `allow_duets` is the visitor's choice whether friends may make duets of it (never of a duet).
    Idempotent: under the row lock a second publish of the same draft (a double click, ten tabs) finds
    it published and returns its one slug.
    """
    try:
        episode = _draft(session, episode_id, owners, lock=True)
    except AlreadyPublished as exc:
        session.rollback()  # end the transaction: release the lock
        return exc.slug
    if not all(soundtrack(session, episode, k) for k in KEYS):
        raise EpisodeError("Each character needs at least one song before you publish.")
    if episode.duet_of:
        original = published(session, episode.duet_of)
        if original is None or not original.allow_duets:  # consent is read again at the last moment
            session.rollback()  # release the row lock
            raise EpisodeError(
                "The episode you co-star in is no longer published, so this duet cannot be published. "
                "Your songs are still yours: start an episode of your own from the landing page."
            )
    if view(session, episode).mashup is None:
        raise EpisodeError(
            "The two finales make the mash-up, and they need two different artists: "
            "end one story on a song by someone else before you publish."
        )
    chars = characters(session, episode)
    listener = session.get(Listener, episode.listener_id) if episode.listener_id else None
    joined = " meets " if episode.duet_of else " & "
    episode.title = f"{chars['a'].name}{joined}{chars['b'].name}"[:200]
    episode.allow_duets = allow_duets and not episode.duet_of
    try:  # names given before the pack blocked a word, or cast from a renamed archetype
        content.check_public_text(episode.title)
        if show_display_name and listener:
            content.check_public_text(listener.display_name, what="display name")
    except content.BlockedWord as exc:
        session.rollback()
        raise EpisodeError(str(exc)) from None
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
        if has_app_context():
            way = listener.source if listener else ""
            campaigns.current().count("published", campaign=episode.campaign, way=way)
            if episode.duet_of:
                campaigns.current().count("duets", campaign=episode.campaign, way=way)
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
    announce_taken_down([slug] if slug else [], session)


def announce_taken_down(slugs: Iterable[str], session: Session | None = None) -> None:
    """Tell every cache of the current app that these published episodes are gone (no-op when none).

    With `session`, their published duets are told too: a duet's pages link to its original only
    while that is published, so the stored ones must be rendered again without the link.
    """
    gone = sorted({s for s in slugs if s})
    if gone and session is not None:
        duets = session.exec(
            select(Episode.slug).where(col(Episode.duet_of).in_(gone), Episode.status == "published")
        ).all()
        gone = sorted({*gone, *(d for d in duets if d)})
    if gone and has_app_context():
        taken_down.send(current_app._get_current_object(), slugs=gone)  # type: ignore[attr-defined]


# -- reports and take-downs ----------------------------------------------------------------------------

TAKEN_DOWN = "taken-down"
# What a visitor may report an episode for: a short list an operator can act on, never free text (which
# would be one more public-text surface to moderate).
REPORT_REASONS: dict[str, str] = {
    "hateful": "Hateful, harassing or violent",
    "sexual": "Sexual content",
    "personal": "Someone's personal information",
    "impersonation": "Pretends to be someone",
    "spam": "Spam or advertising",
    "other": "Something else",
}


class TakenDown(EpisodeError):
    """The episode at this address was taken down by the operators (410 on every public surface)."""


def was_taken_down(session: Session, slug: str) -> bool:
    """True when an operator took down the episode once published at `slug` (answer 410, not 404)."""
    if not slug or len(slug) > 32:
        return False
    found = session.exec(select(Episode.id).where(Episode.slug == slug, Episode.status == TAKEN_DOWN)).first()
    return found is not None


def report(session: Session, *, slug: str, reason: str) -> None:
    """Record a visitor's report of a published episode (no account, nothing about the visitor)."""
    if reason not in REPORT_REASONS:
        raise EpisodeError("Choose one of the reasons in the list.")
    episode = published(session, slug)
    if episode is None:
        if was_taken_down(session, slug):
            raise TakenDown("This episode was already taken down.")
        raise NotYours("There is no published episode at this address.")
    assert episode.id is not None
    session.add(Report(episode_id=episode.id, reason=reason))
    session.commit()


@dataclass
class Reported:
    """One reported episode for the operators: the episode as the public sees it, and its reports."""

    episode_id: int
    slug: str
    status: str
    view: EpisodeView
    reasons: dict[str, int]
    count: int
    latest: str  # ISO time of the newest report


def reports(session: Session, *, limit: int = 100) -> list[Reported]:
    """Reported episodes, the most recently reported first, each with its reasons counted."""
    newest = func.max(Report.created_at).label("newest")
    rows = session.exec(
        select(Report.episode_id, newest)
        .group_by(col(Report.episode_id))
        .order_by(newest.desc())
        .limit(limit)
    ).all()
    out = []
    for episode_id, latest in rows:
        episode = session.get(Episode, episode_id)
        if episode is None or episode.slug is None:
            continue
        reasons: dict[str, int] = {}
        for r in session.exec(select(Report.reason).where(Report.episode_id == episode_id)):
            reasons[r] = reasons.get(r, 0) + 1
        out.append(
            Reported(
                episode_id=episode_id,
                slug=episode.slug,
                status=episode.status,
                view=view(session, episode),
                reasons=reasons,
                count=sum(reasons.values()),
                latest=latest.isoformat() if latest else "",
            )
        )
    return out


def dismiss_reports(session: Session, *, episode_id: int) -> int:
    """An operator looked and found nothing wrong: forget the episode's reports (it stays published).
    Returns how many were dismissed."""
    rows = session.exec(select(Report).where(Report.episode_id == episode_id)).all()
    for row in rows:
        session.delete(row)
    session.commit()
    return len(rows)


def take_down(session: Session, *, episode_id: int) -> str:
    """An operator's take-down: the episode answers 410 everywhere from now on (every cache is told),
    and its owner sees why on /my-data/. Returns the slug. Idempotent."""
    episode = session.get(Episode, episode_id)
    if episode is None or episode.slug is None or episode.status not in ("published", TAKEN_DOWN):
        raise NotYours("There is no published episode with this id.")
    if episode.status != TAKEN_DOWN:
        episode.status = TAKEN_DOWN
        episode.taken_down_at = utcnow()
        session.add(episode)
        session.commit()
    announce_taken_down([episode.slug], session)
    return episode.slug


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
    records = [p for p in episode.mashup.get("pairs", []) if isinstance(p, dict)]
    if any("finales" in p for p in records):  # the mash-up is the finales' pair; the others are choices
        records.sort(key=lambda p: not p.get("finales"))
        if not (records and records[0].get("finales")):
            records = []
    pairs = []
    for p in records:
        a, b = songs_by_id.get(p.get("a_id", "")), songs_by_id.get(p.get("b_id", ""))
        if a and b:
            pairs.append(_pair_view(p, a, b))
    return EpisodeView(
        slug=episode.slug,
        title=episode.title or (" meets " if episode.duet_of else " & ").join(c.name for c in out_chars),
        basis=episode.basis,
        display_name=episode.display_name if episode.show_display_name else "",
        published_at=episode.published_at.isoformat() if episode.published_at else None,
        characters=out_chars,
        mashup=pairs[0] if pairs else None,
        alternatives=pairs[1:],
        duet_of=episode.duet_of,
        allow_duets=episode.allow_duets and not episode.duet_of,
    )
