"""Saving an episode to the listener's Apple Music library as a playlist (`POST me/library/playlists`).

Asked for only when the listener wants it (incremental consent, as for Spotify's playlist): MusicKit JS
asks in Apple's window on the save page, the page posts the Music User Token, and it is used for this one
call and never stored. Only songs that came from Apple Music carry an Apple catalog id (`apple:<id>`);
the others are left out, and the page says how many.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from fanapp.sources import clean_text
from fanapp.sources.apple.client import (
    AppleMusicBusyError,
    AppleMusicClient,
    AppleMusicError,
    AppleMusicForbiddenError,
)

MAX_TRACKS: Final = 100
_APPLE_SONG: Final = re.compile(r"apple:([0-9]{1,20})")
_LIBRARY_PLAYLIST: Final = re.compile(r"p\.[A-Za-z0-9]{1,64}")
LIBRARY_PLAYLIST_URL: Final = "https://music.apple.com/library/playlist/"
_NOTHING = "Nothing was saved."


def apple_catalog_ids(song_ids: Iterable[str]) -> list[str]:
    """The Apple Music catalog ids of the songs that came from Apple Music, in order."""
    found = []
    for song_id in song_ids:
        match = _APPLE_SONG.fullmatch(song_id) if isinstance(song_id, str) else None
        if match:
            found.append(match.group(1))
    return found[:MAX_TRACKS]


def save_playlist(client: AppleMusicClient, *, name: str, description: str, catalog_ids: list[str]) -> str:
    """Create a library playlist with these catalog songs, in order; returns its address (or "")."""
    if not catalog_ids:
        raise AppleMusicError("None of these songs came from Apple Music, so there is nothing to save there.")
    body = {
        "attributes": {"name": clean_text(name, 100), "description": clean_text(description, 300)},
        "relationships": {"tracks": {"data": [{"id": i, "type": "songs"} for i in catalog_ids[:MAX_TRACKS]]}},
    }
    try:
        created = client.call("POST", "me/library/playlists", body=body)
    except AppleMusicForbiddenError as exc:
        raise AppleMusicError(
            "Apple Music did not let us add a playlist to your library: that needs an Apple Music "
            f"subscription and your permission in Apple's window. {_NOTHING}"
        ) from exc
    except AppleMusicBusyError as exc:
        raise AppleMusicError(
            f"Apple Music is busy right now. {_NOTHING} Please try again in a few minutes.",
            retry_after=exc.retry_after,
        ) from exc
    except AppleMusicError as exc:
        raise AppleMusicError(
            f"Apple Music could not save the playlist right now. {_NOTHING} Please try again in a moment."
        ) from exc
    if created is None:  # a 404 or an empty answer: nothing says the playlist exists
        raise AppleMusicError(
            f"Apple Music could not save the playlist right now. {_NOTHING} Please try again in a moment."
        )
    data = created.get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    playlist_id = first.get("id")
    if isinstance(playlist_id, str) and _LIBRARY_PLAYLIST.fullmatch(playlist_id):
        return LIBRARY_PLAYLIST_URL + playlist_id
    return ""
