"""The Spotify double's data: the catalogue (tracks, albums, artists as schema-valid objects) and one
listener's library (profile, top tracks, plays, saves), built deterministically from a seed, and the
helpers tests use to replace them. `history` and `catalog` serve this data; they never build it."""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.spotify.state import TIME_RANGES, SpotifyState
from tests.fakes.spotify.wire import BASE62, Json, parse_timestamp, split_names, spotify_id, timestamp

HOSTILE_NAMES = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "${7*7} {% raw %}",
    "'; DROP TABLE tracks; --",
    "مرحبا بالعالم",
    "שיר\u202eevil.exe",
    "🎸🔥 Emoji Anthem 💃🏽",
    "東京の夜 (Tokyo Night)",
    "사랑해요",
    "Zalgo ̸̢̛̗ṭ̶̕e̵͖͋x̷̙̆t̴̲̾",
    "A" * 300,
)

_ARTISTS = split_names(
    "Marlowe Vance|The Quiet Arcade|Nadia Kross|Lowlight Parade|Ottoline|Juno Reyes|Harbour & Vine|"
    "Saffron Lane|Kid Meridian|Hollis Grey|Paper Lanterns|Elena Moravec|Big Sky Union|DJ Tamsin|"
    "Cobalt Youth|Rosa Linden|Northern Static|Theo Achterberg|Moth & Mirror|Lucky Ames|Sunset Coda|"
    "Frankie Okafor|Wren Holloway|Amara Sol|Ghost Radio Club|The Velvet Pylons"
)
_TITLES = split_names(
    "Midnight on Mercer Street|Paper Airplanes|Slow Burn|Neon Prayer|Everything Glows|"
    "Ghost in the Jukebox|Second-Hand Summer|Cold Coffee Blues|Running Red Lights|Harbour Lights|"
    "Velvet Static|Dancing in the Undertow|Telephone Heart|Saltwater Sunday|All the Quiet Places|"
    "Golden Hour Freeway|Bad Idea (Good Night)|Copper Moon|Lullaby for a Landline|Stay Up Late|"
    "Concrete Garden|Polaroid Kiss|The Long Way Home|Wildfire Season|Small Town Satellite|No Signal|"
    "Heavy Rotation|Catch Me If You Fall|Sugar & Smoke|Monday Morning Disco|Thunder in July|"
    "Blue Cassette|Falling Up|Hotel Lobby Romance|Northern Lights, Southern Heart|Disco Ghosts|"
    "Rearview|Under the Overpass|Static Bloom|Last Bus to Brighton|Glass Houses|Sleepwalker's Waltz|"
    "Honey, I'm Home|Radio Silence|Cherry Cola Sky|Borrowed Time|Kaleidoscope Eyes|Paper Crown|"
    "Night Shift|Fever Dream Motel|Satellite Hearts|Tidal|Summer of '79|Open Water|Keep the Lights On|"
    "Velvet Hour|Chasing Headlights|Mirrorball Heart|Gravity & Grace|Lost in Lisbon|"
    "Sweet Nothing Street|Backseat Serenade|Elevator Music|Rain on the Radio"
)
_ALBUMS = split_names(
    "Late Summer Electric|Paper Moons|Harbour Nights|The Neon Years|Small Hours|Static & Silk|"
    "Long Distance|Kitchen Disco|Wide Awake|Cassette Hearts|Northbound|Bright Side Down|Afterhours|"
    "Glasshouse|Coastline|Lovers' Almanac|Fever Pitch|Golden State of Mind|Motel Stationery|"
    "Velvet Machines|High Tide|Radio Days|Sunday Best|Night Bus|Satellite Season|Blue Hour"
)
_DISPLAY_NAMES = ("Kit Mercer", "Priya Anand", "Sam O'Neill", "Lena Fischer", "Tomás Ruiz")


class Library(SpotifyState):
    """Builds and replaces what the double serves: `catalogue`, `user`, `top`, `recent` and `saved`."""

    def make_track(
        self,
        title: str,
        artists: str | Sequence[str],
        *,
        album: str | None = None,
        year: int = 2020,
        isrc: str | None = None,
        explicit: bool = False,
        duration_ms: int | None = None,
        track_number: int = 1,
    ) -> Json:
        """A schema-valid TrackObject; without ``album`` the track is its own single."""
        names = [artists] if isinstance(artists, str) else list(artists)
        artist_objs = [self._artist(name) for name in names]
        album_type = "album" if album else "single"
        album_obj = self._album(
            album or title, artist_objs, year, album_type, max(track_number, 10 if album else 1)
        )
        return self._track(title, artist_objs, album_obj, track_number, explicit, duration_ms, isrc)

    def set_library(
        self,
        tracks: Iterable[Json] | None = None,
        *,
        top: dict[str, Sequence[Json | str]] | None = None,
        recent: Sequence[tuple[Json | str, datetime | str]] | None = None,
        saved: Sequence[tuple[Json | str, datetime | str]] | None = None,
    ) -> None:
        """Replace the parts given; tracks may be TrackObjects or catalogue ids, times datetimes or ISO."""
        with self._lock:
            if tracks is not None:
                self.catalogue = list(tracks)
            if top is not None:
                self.top = {r: [self._resolve(t) for t in top.get(r, [])] for r in TIME_RANGES}
            if recent is not None:
                plays = [(self._resolve(t), self._stamp(at, millis=True)) for t, at in recent]
                self.recent = sorted(plays, key=lambda play: parse_timestamp(play[1]), reverse=True)
            if saved is not None:
                saves = [(self._resolve(t), self._stamp(at, millis=False)) for t, at in saved]
                self.saved = sorted(saves, key=lambda save: parse_timestamp(save[1]), reverse=True)

    def empty_library(self) -> None:
        """A brand-new account: no top tracks, plays or saves (the catalogue stays searchable)."""
        self.set_library(top={}, recent=[], saved=[])

    def set_hostile_names(self) -> None:
        """Rename every track, artist and album to markup, template, RTL, emoji and CJK strings."""
        artist_names: dict[str, str] = {}
        with self._lock:
            for i, track in enumerate(self.catalogue):
                track["name"] = HOSTILE_NAMES[i % len(HOSTILE_NAMES)]
                track["album"]["name"] = HOSTILE_NAMES[(i + 4) % len(HOSTILE_NAMES)]
                for artist in [*track["artists"], *track["album"]["artists"]]:
                    hostile = HOSTILE_NAMES[(len(artist_names) + 8) % len(HOSTILE_NAMES)]
                    artist["name"] = artist_names.setdefault(artist["id"], hostile)

    def track_by_id(self, track_id: str) -> Json | None:
        """The catalogue track with this id, if any."""
        with self._lock:
            return next((t for t in self.catalogue if t["id"] == track_id), None)

    def _make_user(self) -> Json:
        rng = random.Random(f"user:{self.seed}")
        user_id = "31" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        name = rng.choice(_DISPLAY_NAMES)
        return {
            "account_id": "".join(rng.choice(BASE62) for _ in range(10)),
            "country": "GB",
            "display_name": name,
            "email": f"{name.split()[0].lower()}.{user_id[-4:]}@example.com",
            "explicit_content": {"filter_enabled": False, "filter_locked": False},
            "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
            "followers": {"href": None, "total": rng.randint(0, 40)},
            "href": f"{self.api_url}users/{user_id}",
            "id": user_id,
            "images": [{"url": self.image_url(f"user-{user_id}", 300), "height": 300, "width": 300}],
            "product": "premium",
            "type": "user",
            "uri": f"spotify:user:{user_id}",
        }

    def _artist(self, name: str) -> Json:
        artist_id = spotify_id("artist", name)
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
            "href": f"{self.api_url}artists/{artist_id}",
            "id": artist_id,
            "name": name,
            "type": "artist",
            "uri": f"spotify:artist:{artist_id}",
        }

    def _album(self, name: str, artists: list[Json], year: int, album_type: str, total_tracks: int) -> Json:
        album_id = spotify_id("album", name, artists[0]["id"], year)
        rng = random.Random(album_id)
        precise = year >= 1990 or rng.random() < 0.4
        released = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if precise else str(year)
        return {
            "album_type": album_type,
            "artists": artists,
            "available_markets": ["GB", "IE", "US"],  # deprecated but still required by AlbumBase
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
            "href": f"{self.api_url}albums/{album_id}",
            "id": album_id,
            "images": [
                {"url": self.image_url(f"album-{album_id}", size), "height": size, "width": size}
                for size in (640, 300, 64)
            ],
            "name": name,
            "release_date": released,
            "release_date_precision": "day" if precise else "year",
            "total_tracks": total_tracks,
            "type": "album",
            "uri": f"spotify:album:{album_id}",
        }

    def _track(
        self,
        title: str,
        artists: list[Json],
        album: Json,
        track_number: int,
        explicit: bool,
        duration_ms: int | None,
        isrc: str | None,
    ) -> Json:
        track_id = spotify_id("track", title, album["id"], track_number)
        rng = random.Random(track_id)
        if isrc is None:
            country = rng.choice(("GB", "US", "SE", "DE", "FR", "CA", "AU", "IE", "NL"))
            registrant = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(3))
            isrc = f"{country}{registrant}{album['release_date'][2:4]}{rng.randint(0, 99999):05d}"
        return {
            "album": album,
            "artists": artists,
            "disc_number": 1,
            "duration_ms": duration_ms or rng.randint(140_000, 330_000),
            "explicit": explicit,
            "external_ids": {"isrc": isrc},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
            "href": f"{self.api_url}tracks/{track_id}",
            "id": track_id,
            "is_local": False,
            "name": title,
            "track_number": track_number,
            "type": "track",
            "uri": f"spotify:track:{track_id}",
        }

    def _build_default_library(self) -> None:
        """64 tracks by 26 artists (1975-2025); top lists of 20/35/50, 50 plays, 60 saves."""
        rng = random.Random(self.seed)
        artists = [self._artist(name) for name in rng.sample(_ARTISTS, len(_ARTISTS))]
        album_names = rng.sample(_ALBUMS, len(_ALBUMS))
        albums: list[Json] = []
        for i, artist in enumerate(artists):
            year = rng.randint(1975, 2025)
            albums.append(
                self._album(album_names[i], [artist], year, rng.choice(("album", "album", "compilation")), 0)
            )
        catalogue = []
        for i, title in enumerate(rng.sample(_TITLES, len(_TITLES))):
            lead = artists[i % len(artists)]
            featured = rng.choice(artists) if rng.random() < 0.15 else lead
            credits = [lead] if featured is lead else [lead, featured]
            if rng.random() < 0.2:
                album = self._album(title, [lead], rng.randint(1975, 2025), "single", 1)
            else:
                album = albums[i % len(artists)]
                album["total_tracks"] += 1
            number = album["total_tracks"] if album["album_type"] != "single" else 1
            catalogue.append(self._track(title, credits, album, number, rng.random() < 0.25, None, None))
        for album in albums:
            album["total_tracks"] = max(album["total_tracks"], rng.randint(8, 14))
        self.catalogue = catalogue
        affinity = {t["id"]: rng.random() for t in catalogue}
        for time_range, size, drift in (
            ("short_term", 20, 0.6),
            ("medium_term", 35, 0.4),
            ("long_term", 50, 0.25),
        ):
            noisy = {i: a * (1 - drift) + rng.random() * drift for i, a in affinity.items()}
            self.top[time_range] = sorted(catalogue, key=lambda t: noisy[t["id"]], reverse=True)[:size]
        moment, plays = self.now - timedelta(minutes=7), []
        favourites = self.top["short_term"][:12] + rng.sample(catalogue, 10)
        for _ in range(50):
            track = rng.choice(favourites)
            plays.append((track, timestamp(moment, millis=True)))
            gap = track["duration_ms"] // 1000 + (
                rng.randint(5, 40) if rng.random() < 0.8 else rng.randint(3600, 40000)
            )
            moment -= timedelta(seconds=gap, milliseconds=rng.randint(0, 999))
        self.recent = plays
        added = self.now - timedelta(hours=5)
        self.saved = []
        for track in rng.sample(catalogue, 60):
            self.saved.append((track, timestamp(added)))
            added -= timedelta(days=rng.randint(0, 20), seconds=rng.randint(60, 86_000))

    def _resolve(self, track: Json | str) -> Json:
        """A catalogue track by id, or a TrackObject (added to the catalogue if new)."""
        if isinstance(track, str):
            found = self.track_by_id(track)
            if found is None:
                raise KeyError(f"no catalogue track with id {track!r}")
            return found
        if all(t is not track for t in self.catalogue):
            self.catalogue.append(track)
        return track

    @staticmethod
    def _stamp(moment: datetime | str, *, millis: bool) -> str:
        return moment if isinstance(moment, str) else timestamp(moment, millis=millis)

    def _rebase(self, old: str, new: str) -> None:
        """Rewrite URLs under ``old`` to ``new`` in every stored object (shared dicts visited once)."""
        seen: set[int] = set()
        prefix = old + "/"

        def walk(node: Any) -> None:
            if id(node) in seen or not isinstance(node, dict | list):
                return
            seen.add(id(node))
            keys = node.keys() if isinstance(node, dict) else range(len(node))
            for key in keys:
                value = node[key]
                if isinstance(value, str) and value.startswith(prefix):
                    node[key] = new + value[len(old) :]
                else:
                    walk(value)

        walk([self.user, self.catalogue, self.top, self.recent, self.saved])
