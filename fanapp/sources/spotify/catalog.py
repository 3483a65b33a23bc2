"""Spotify's catalogue with the app's token (search, one track) and saving an episode as a playlist."""

from __future__ import annotations

import spotipy

from fanapp.sources import ImportedTrack, SourceError, clean_text
from fanapp.sources.spotify.client import call
from fanapp.sources.spotify.history import track_from_spotify
from fanapp.tracks import is_spotify_id


def save_playlist(sp: spotipy.Spotify, *, name: str, description: str, track_ids: list[str]) -> str:
    """Create a private playlist in the visitor's account with these tracks, in order; returns its URL.

    Asked for with the `playlist-modify-private` scope only, at the moment the visitor wants it
    (incremental consent): `POST /me/playlists`, then `POST /playlists/{id}/items`.
    """
    ids = [t for t in track_ids if is_spotify_id(t)][:100]
    if not ids:
        raise SourceError("None of these songs is on Spotify, so there is nothing to save there.")
    created = call(
        sp.current_user_playlist_create, clean_text(name, 100), public=False, description=description[:300]
    )
    playlist_id = str(created.get("id") or "")
    if not is_spotify_id(playlist_id) and not playlist_id.isalnum():
        raise SourceError("Spotify sent an answer we could not read. Nothing was saved; please try again.")
    call(sp.playlist_add_items, playlist_id, [f"spotify:track:{t}" for t in ids])
    url = (created.get("external_urls") or {}).get("spotify")
    return url if isinstance(url, str) and url.startswith("https://open.spotify.com/") else ""


def search_tracks(sp: spotipy.Spotify, query: str, *, limit: int = 10) -> list[ImportedTrack]:
    """Spotify's track search (the app's own token), as `ImportedTrack`s."""
    cleaned = clean_text(query, 100)
    if not cleaned:
        return []
    found = call(sp.search, q=cleaned, type="track", limit=min(limit, 10))
    items = ((found or {}).get("tracks") or {}).get("items") or []
    return [t for t in (track_from_spotify(i) for i in items) if t is not None]


def get_track(sp: spotipy.Spotify, track_id: str) -> ImportedTrack | None:
    """One track by its Spotify id (the app's own token)."""
    if not is_spotify_id(track_id):
        return None
    return track_from_spotify(call(sp.track, track_id))
