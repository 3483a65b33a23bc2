"""Picking songs by hand: search (Spotify with the app's token, else the bundled songs), a tray of
picks stored as the listener's history, then the import like every other way in."""

from __future__ import annotations

from sqlmodel import Session

from fanapp.config import Settings
from fanapp.data.models import Track
from fanapp.errors import FanappError
from fanapp.importing import jobs, store
from fanapp.sources import ImportedTrack, catalogue
from fanapp.sources.catalogue import PickedSource
from fanapp.sources.spotify import catalog
from fanapp.sources.spotify import client as spotify_client

MAX_PICKS = 40
MIN_PICKS = 2


class PickError(FanappError):
    """A pick that cannot be made; the message is for the visitor."""


class NothingPicked(PickError):
    """There is no tray to cast from (never started, or deleted)."""


def search(settings: Settings, query: str) -> tuple[list[ImportedTrack], str]:
    """Songs matching `query` and a notice for the visitor ("" when all went well)."""
    if settings.spotify_enabled and query.strip():
        try:
            return catalog.search_tracks(spotify_client.app_client(settings), query), ""
        except FanappError as exc:
            return catalogue.search(query), exc.message + " Showing the bundled songs instead."
    return catalogue.search(query), ""


def catalogue_size() -> int:
    """How many songs the bundled catalogue holds (searched when Spotify is off)."""
    return catalogue.size()


def tray(session: Session, listener_id: int | None) -> list[Track]:
    """The songs picked so far (none for anything but a picking listener)."""
    listener = store.listener(session, listener_id)
    if listener is None or listener.id is None or listener.source != "pick":
        return []
    return store.tracks(session, listener.id)


def add(session: Session, settings: Settings, *, listener_id: int | None, track_id: str) -> int:
    """Add one song to the tray; the first pick starts a new listener. Returns the listener's id."""
    if len(tray(session, listener_id)) >= MAX_PICKS:
        raise PickError(f"That is {MAX_PICKS} songs already: cast your episode, or remove one.")
    track: ImportedTrack | None = catalogue.by_id(track_id)
    if track is None and settings.spotify_enabled:
        track = catalog.get_track(spotify_client.app_client(settings), track_id)
    if track is None:
        raise PickError("We could not find that song. Please search again.")
    if listener_id is None or _not_picking(session, listener_id):
        listener_id = store.new_listener(session, source="pick")
    store.add_track(session, listener_id=listener_id, track=track)
    return listener_id


def _not_picking(session: Session, listener_id: int) -> bool:
    listener = store.listener(session, listener_id)
    return listener is None or listener.source != "pick"


def remove(session: Session, *, listener_id: int | None, track_id: str) -> None:
    """Take a song out of the tray."""
    if listener_id is not None and not _not_picking(session, listener_id):
        store.remove_track(session, listener_id=listener_id, source_id=track_id)


def finish(session: Session, *, listener_id: int | None, campaign: dict[str, str]) -> int:
    """Import the tray as the listener's history (and cast the draft); returns the listener's id."""
    if listener_id is None or _not_picking(session, listener_id):
        raise NothingPicked("Pick a few songs first.")
    picks = tray(session, listener_id)
    if len(picks) < MIN_PICKS:
        raise PickError(f"Pick at least {MIN_PICKS} songs (6 or more makes a better story).")
    jobs.import_now(listener_id, PickedSource([t.imported() for t in picks]), campaign=campaign)
    return listener_id
