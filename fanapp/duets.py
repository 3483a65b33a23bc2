"""Duets: a friend co-stars with one character of a published episode, and the mash-up brings the two
people together.

The invitation shows what the published episode already shows, nothing more. A duet is a new draft of
the friend's: side A is a copy of the chosen character as published (its name, words and songs, never
linked to the inviter's history), side B is cast by the engine from the friend's own history to
complement it (`engine.complement`). What the engine needs of side A after an edit (how its songs
sound, never how the inviter listened to them) is kept with the duet. Consent: the inviter chose at
publish whether friends may make duets; a taken-down original takes no new duets, and the duets
already published stay until the inviter takes them down from "your data".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from fanapp import engine as eng
from fanapp import episodes
from fanapp.data.models import Character, Episode, EpisodeSong, Track
from fanapp.tracks import SongFields

KEYS = ("a", "b")


class DuetRefused(episodes.EpisodeError):
    """No duet can be made of this episode; `status` is what the page answers (404 or 410)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Invitation:
    """What the invitation page shows: the published episode (as its share page shows it)."""

    slug: str
    view: episodes.EpisodeView


@dataclass(frozen=True)
class InvitersDuet:
    """A published duet of one of the visitor's episodes, for "your data" (no one else's data)."""

    id: int
    slug: str
    title: str
    duet_of: str


def _original(session: Session, slug: str) -> Episode:
    episode = episodes.published(session, slug)
    if episode is None:
        raise DuetRefused(
            "There is no published episode at this address (it may have been taken down), "
            "so no duet can be made of it. Start your own episode instead.",
            404,
        )
    if episode.duet_of:
        raise DuetRefused(
            "This episode is already a duet: a duet can only be made of an original episode. "
            "Start your own episode instead.",
            410,
        )
    if not episode.allow_duets:
        raise DuetRefused(
            "The person who published this episode chose not to take duets, so none can be made of it. "
            "Start your own episode instead.",
            410,
        )
    return episode


def invitation(session: Session, *, slug: str) -> Invitation:
    """The invitation to co-star in a published episode; `DuetRefused` when no duet may be made of it."""
    episode = _original(session, slug)
    assert episode.slug is not None
    return Invitation(slug=episode.slug, view=episodes.view(session, episode))


def _given(session: Session, songs: Sequence[EpisodeSong]) -> list[eng.TrackProfile]:
    """The chosen character's songs as the engine reads them: what each song is and how it sounds (from
    the inviter's history while it is kept), never how the inviter listened to it."""
    ids = sorted({s.track_id for s in songs if s.track_id is not None})
    heard = {t.id: t for t in session.exec(select(Track).where(col(Track.id).in_(ids))).all()} if ids else {}
    found = []
    for song in songs:
        track = heard.get(song.track_id) if song.track_id is not None else None
        base = episodes.profile(track) if track is not None else None
        found.append(
            eng.TrackProfile(
                id=song.source_id,
                title=song.title,
                artists=tuple(song.artists),
                album=song.album,
                isrc=base.isrc if base else None,
                release_year=base.release_year if base else None,
                features=base.features if base else eng.Features(),
            )
        )
    return found


def existing(session: Session, *, listener_id: int, slug: str) -> Episode | None:
    """The friend's duet of this episode already made (a reload or a second poll makes none twice)."""
    return session.exec(
        select(Episode)
        .where(Episode.listener_id == listener_id, Episode.duet_of == slug)
        .order_by(col(Episode.id).desc())
    ).first()


def start(
    session: Session, *, listener_id: int, slug: str, star: str, campaign: dict[str, str] | None = None
) -> int:
    """The friend's duet draft with the episode at `slug`, co-starring with its character `star` ("a" or
    "b"); returns the draft's id (the same one again when it exists).

    Raises `DuetRefused` when no duet may be made of the episode any more, `EngineError` (a sentence
    for the visitor) when the friend's history is empty.
    """
    if star not in KEYS:
        raise DuetRefused("Choose which character you co-star with.", 404)
    original = _original(session, slug)
    # The friend's row is locked first (as `episodes.first_draft` does), so two polls that find the
    # import done at once still make one duet: the second waits, then finds the first one's draft.
    episodes.lock_listener(session, listener_id)
    made = existing(session, listener_id=listener_id, slug=slug)
    if made is not None and made.id is not None:
        session.commit()  # release the lock
        return made.id
    chosen = episodes.soundtrack(session, original, star)
    chosen_character = episodes.characters(session, original).get(star)
    if not chosen or chosen_character is None:
        session.rollback()  # release the lock
        raise DuetRefused("That character has no songs to co-star with.", 404)
    given = _given(session, chosen)
    profiles, tracks = episodes.history_profiles(session, listener_id)
    try:
        duet = eng.complement(given, profiles)
    except eng.EngineError:
        session.rollback()  # release the lock
        raise
    episode = Episode(
        listener_id=listener_id,
        basis=duet.basis,
        campaign=dict(campaign or {}),
        duet_of=slug,
        duet_inviter_id=original.listener_id,
    )
    session.add(episode)
    session.flush()
    assert episode.id is not None
    session.add(
        Character(
            episode_id=episode.id,
            key="a",
            name=chosen_character.name,
            description=chosen_character.description,
            archetype=chosen_character.archetype,
        )
    )
    for pos, song in enumerate(chosen):
        # Never linked to the inviter's history (no track_id): the duet holds its own copy.
        copied = {name: getattr(song, name) for name in SongFields.model_fields}
        session.add(
            EpisodeSong(**copied, episode_id=episode.id, character="a", position=pos, reason=song.reason)
        )
    character = duet.character
    episodes.add_cast_character(session, episode_id=episode.id, character=character, tracks=tracks)
    episode.mashup = {
        "pairs": [episodes.pair_record(p, finales=n == 0) for n, p in enumerate(duet.mashups)],
        "candidates": {"a": [], "b": list(duet.candidates)},
        "notes": {"a": [], "b": list(character.notes)},
        "given": [episodes.given_record(t) for t in given],
    }
    session.add(episode)
    session.commit()
    return episode.id


def published_count(session: Session, *, slug: str | None) -> int:
    """How many published duets an episode has (a count: nothing about who made them)."""
    if not slug:
        return 0
    return int(
        session.exec(select(func.count()).where(Episode.duet_of == slug, Episode.status == "published")).one()
    )


def of_inviter(session: Session, owners: Sequence[int]) -> list[InvitersDuet]:
    """Published duets of the visitor's episodes (the originals may be taken down already)."""
    ids = list(owners)
    if not ids:
        return []
    rows = session.exec(
        select(Episode)
        .where(col(Episode.duet_inviter_id).in_(ids), Episode.status == "published")
        .order_by(col(Episode.id))
    ).all()
    return [
        InvitersDuet(id=e.id, slug=e.slug, title=e.title, duet_of=e.duet_of or "")
        for e in rows
        if e.id is not None and e.slug
    ]


def take_down(session: Session, *, episode_id: int, owners: Sequence[int]) -> None:
    """The inviter takes down a published duet of one of their episodes: gone everywhere, like an
    unpublish. Only a published one (what "your data" lists): a friend's draft is the friend's alone."""
    episode = session.get(Episode, episode_id)
    if (
        episode is None
        or not episode.duet_of
        or episode.status != "published"
        or episode.duet_inviter_id is None
        or episode.duet_inviter_id not in owners
    ):
        raise episodes.NotYours("This is not a published duet of one of your episodes.")
    slug = episode.slug
    session.delete(episode)
    session.commit()
    episodes.announce_taken_down([slug] if slug else [])
