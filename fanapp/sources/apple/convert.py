"""Pure converters from Apple Music API resources (catalog `songs`, `library-songs`, albums) to the
records every source returns. Nothing here calls anyone; every field is checked as hostile input.

A song resource is `{"id", "type", "href", "attributes": {...}, "relationships": {...}}`; the attributes
used are `name`, `artistName`, `albumName`, `isrc` (catalog songs only), `releaseDate` ("YYYY-MM-DD" or
"YYYY"), `durationInMillis`, `contentRating` and `artwork` (a URL template with `{w}` and `{h}`). A
library song has no ISRC of its own: it comes from its catalog song (`include=catalog`) when Apple has one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from fanapp.sources import ImportedTrack, clean_text
from fanapp.tracks import loose, normalise_isrc, song_key

SONG_TYPES: Final = ("songs", "library-songs")
ALBUM_TYPES: Final = ("albums", "library-albums")
COVER_SIZE: Final = 300  # pixels: enough for cards and share images, as for Spotify's covers
# Apple serves artwork from its mzstatic CDN only (the pages' CSP allows exactly that).
ARTWORK_HOST: Final = re.compile(r"(?:[a-z0-9-]+\.)*mzstatic\.com")
_CATALOG_ID: Final = re.compile(r"[0-9]{1,20}")
_YEAR: Final = re.compile(r"([0-9]{4})(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_EARLIEST, _LATEST = 1800, 2100
_LONGEST_MS: Final = 24 * 3600 * 1000


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _catalog(resource: dict[str, Any]) -> dict[str, Any]:
    """The catalog song of a library song (`relationships.catalog.data[0]`), if Apple sent one."""
    data = _dict(_dict(resource.get("relationships")).get("catalog")).get("data")
    return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}


def catalog_id(resource: Any) -> str | None:
    """The song's Apple Music catalog id (digits): its own id for a catalog song, else its catalog
    relationship's or `playParams.catalogId`; None when it has none (an upload, a matched file)."""
    if not isinstance(resource, dict):
        return None
    attrs = _dict(resource.get("attributes"))
    candidates = (
        [resource.get("id")]
        if resource.get("type") == "songs"
        else [_catalog(resource).get("id"), _dict(attrs.get("playParams")).get("catalogId")]
    )
    for value in candidates:
        if isinstance(value, str) and _CATALOG_ID.fullmatch(value):
            return value
    return None


def artwork_url(artwork: Any, size: int = COVER_SIZE) -> str | None:
    """A cover URL from Apple's artwork template (`…/{w}x{h}bb.jpg`), at most `size` pixels a side
    and never larger than the artwork itself; None unless it is https on Apple's image CDN."""
    art = _dict(artwork)
    template = art.get("url")
    if not isinstance(template, str) or len(template) > 1000:
        return None
    sides = [art.get(k) for k in ("width", "height")]
    side = min([size] + [v for v in sides if isinstance(v, int) and not isinstance(v, bool) and v > 0])
    url = (
        template.replace("{w}", str(side))
        .replace("{h}", str(side))
        .replace("{c}", "bb")
        .replace("{f}", "jpg")
    )
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not ARTWORK_HOST.fullmatch(parts.hostname or "")
        or parts.port not in (None, 443)
        or parts.username is not None
        or "{" in url
        or re.search(r"\s", url)
    ):
        return None
    return url


def release_year(value: Any) -> int | None:
    """The year of Apple's `releaseDate` ("2022-05-06" or "1973"); None for anything else."""
    match = _YEAR.fullmatch(value.strip()) if isinstance(value, str) else None
    year = int(match.group(1)) if match else None
    return year if year is not None and _EARLIEST <= year <= _LATEST else None


def added_at(value: Any) -> datetime | None:
    """`dateAdded` ("2021-10-06T16:47:33Z", or a bare date) as an aware UTC datetime; None if unreadable."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if not _EARLIEST <= parsed.year <= _LATEST:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _duration(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value < _LONGEST_MS else None


def song_from_apple(resource: Any) -> ImportedTrack | None:
    """A catalog song or library song as an `ImportedTrack` (None for anything that is not a song).

    Its id is `apple:<catalog id>`, the same for the catalog and the library copy of a song, so the two
    merge; a song with no catalog id gets `apple:<hash of artist and title>`. Ranks, plays and dates
    are added by the caller, which knows which list it came from.
    """
    if not isinstance(resource, dict) or resource.get("type") not in SONG_TYPES:
        return None
    attrs = _dict(resource.get("attributes"))
    catalog = _dict(_catalog(resource).get("attributes"))

    def field(name: str) -> Any:
        value = attrs.get(name)
        return value if value not in (None, "") else catalog.get(name)

    title = clean_text(field("name") if isinstance(field("name"), str) else "")
    artist = clean_text(field("artistName") if isinstance(field("artistName"), str) else "", 200)
    if not title or not artist:
        return None
    found = catalog_id(resource)
    album = field("albumName")
    return ImportedTrack(
        source_id="apple:" + (found or song_key(artist, title)),
        title=title,
        artists=[artist],
        album=clean_text(album if isinstance(album, str) else ""),
        release_year=release_year(field("releaseDate")),
        duration_ms=_duration(field("durationInMillis")),
        explicit=field("contentRating") == "explicit",
        isrc=normalise_isrc(field("isrc")),
        image_url=artwork_url(field("artwork")),
    )


def album_key(name: Any, artist: Any) -> str | None:
    """How an album is recognised across Apple's lists: its name and artist, compared loosely."""
    if not isinstance(name, str) or not isinstance(artist, str):
        return None
    title, by = loose(clean_text(name)), loose(clean_text(artist, 200))
    return f"{title}|{by}" if title and by else None


def album_of(resource: Any) -> str | None:
    """The `album_key` of a catalog or library album resource (None for playlists, stations, junk)."""
    if not isinstance(resource, dict) or resource.get("type") not in ALBUM_TYPES:
        return None
    attrs = _dict(resource.get("attributes"))
    return album_key(attrs.get("name"), attrs.get("artistName"))


def song_album(track: ImportedTrack) -> str | None:
    """The `album_key` of the album an imported song is on."""
    return album_key(track.album, track.artists[0] if track.artists else "")
