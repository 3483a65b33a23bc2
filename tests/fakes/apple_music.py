"""A local double of the Apple Music API (the `/v1/me/…` subset fanapp reads), over real HTTP on 127.0.0.1.

It checks what Apple checks: every call's developer token is an ES256 JWT signed by the double's own
MusicKit key (generated per double; `settings()` hands the app the private half), with `kid` the key id,
`iss` the team id, `iat` not in the future and `exp` at most 15777000 s later, and when the token has an
`origin` claim the request's `Origin` header must be one of it; `/me/…` calls also need a
`Music-User-Token` the double issued. A bad developer token is a 401, a bad user token a 403, as Apple
answers them (Handling Requests and Responses), with Apple's error shape.

Payloads follow Apple's published resources: catalog `songs` and `library-songs` (with `include=catalog`
relationships), catalog `albums`, `library-albums` and `library-playlists`; lists page with `next`
(`/v1/…?offset=N`) and refuse a `limit` above Apple's. Fault modes come from `Faults` (status, delay,
body, headers, times) and apply to the API paths starting with `fault_prefix`.

`POST /musickit/authorize` stands in for Apple's consent window: the MusicKit stand-in
(`apple_musickit.js`) calls it from the page with the developer token the page was given (so the page's
token and its origin claim are checked too) and gets a fresh Music User Token. The browser tests serve
the stand-in at Apple's CDN URL; by hand (`python -m tests.fakes.apple_music`, `make fake-apple-music`)
the double serves it itself at `/musickit/v3/musickit.js`, for APPLE_MUSICKIT_JS_URL.

    with FakeAppleMusic.running() as fake:
        settings = make_settings(url, **fake.settings())
        token = fake.issue_user_token()
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import shlex
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, Response, jsonify, request

from tests.fakes.http import BackgroundServer, Faults, serving
from tests.fakes.spotify.wire import split_names

Json = dict[str, Any]
STAND_IN = Path(__file__).with_name("apple_musickit.js")
MAX_LIFETIME = 15_777_000  # Apple's ceiling for exp - iat
LIMITS = {  # Apple's largest page for each list
    "/v1/me/recent/played/tracks": 10,
    "/v1/me/history/heavy-rotation": 10,
    "/v1/me/library/songs": 100,
    "/v1/me/library/recently-added": 10,
}

_ARTISTS = split_names(
    "Odessa Wilde|The Lamplighters|Mika Sorensen|Velvet Harbour|Juniper Grey|Cass Okonkwo|"
    "The Night Ferries|Lola Marchetti|Static Orchard|Ivo Brandt|Paloma Rue|Kite Season"
)
_TITLES = split_names(
    "Harbour Song|Blue Motel|Paper Satellites|Gold Rush Heart|Night Swimming Again|Cardboard Crown|"
    "Lantern Street|Tin Can Telephone|Slow Dancer|Velvet Rope|Cinder & Snow|Northbound Train|"
    "Pink Noise|Summer Static|Echo Park Goodbye|Radio Fever|Heartbeat Hotel|Moonlight Margins|"
    "The Long Goodnight|Saltwater Letters|Wild Card|Ferris Wheel|Afterglow Avenue|Low Tide|"
    "Neon Cathedral|Second Verse|Runaway Planets|Open Road Hymn|Static Love|Daylight Robbery|"
    "Glass Elevator|Marigold|Sidewalk Sermon|Fireflies in June|Old Flame|Ghost Notes|Overpass|"
    "Cherry Blossom Riot|Quiet Storm|Rust & Roses|Weekend Saints|Lighthouse Keeper|Rollercoaster|"
    "Gravity Well|Porch Light|Broken Compass|Sugar Rush|Firework City|Tangerine Dream|Last Call|"
    "Stargazer|Double Exposure|Moth to Flame|Skyline Waltz|Paper Tigers|Undertow|Golden Ticket|"
    "Snow Globe|Midnight Choir|Home Again"
)
_ALBUMS = split_names(
    "Lantern Years|Blue Hours|Static & Gold|Night Ferry|Harbour Lights|Paper Crowns|Low Tide Songs|"
    "Velvet Machines|Fever Dreams|Summer Static"
)
HOSTILE_NAMES = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} {% raw %}",
    "'; DROP TABLE track; --",
    "שיר\u202eevil.exe",
    "🎸🔥 Emoji Anthem 💃🏽",
    "東京の夜",
    "Zalgo ̸̢̛̗ṭ̶̕e̵͖͋x̷̙̆t̴̲̾",
    "A" * 400,
)


def artwork(name: str) -> Json:
    """An Apple Artwork object: a URL template on Apple's image CDN."""
    slug = hashlib.sha1(name.encode()).hexdigest()[:12]
    return {
        "width": 3000,
        "height": 3000,
        "url": f"https://is1-ssl.mzstatic.com/image/thumb/Music126/v4/{slug[:2]}/{slug}/cover.jpg/{{w}}x{{h}}bb.jpg",
        "bgColor": "1c1c1c",
        "textColor1": "fafafa",
    }


@dataclass
class Song:
    """One song of the double's catalogue."""

    catalog_id: str
    library_id: str
    name: str
    artist: str
    album: str
    isrc: str
    release_date: str = "2021-05-07"
    duration_ms: int = 201_000
    explicit: bool = False

    def catalog(self, storefront: str = "gb") -> Json:
        """The catalog `songs` resource."""
        attributes: Json = {
            "albumName": self.album,
            "artistName": self.artist,
            "artwork": artwork(self.album),
            "composerName": self.artist,
            "discNumber": 1,
            "durationInMillis": self.duration_ms,
            "genreNames": ["Pop", "Music"],
            "hasLyrics": True,
            "isAppleDigitalMaster": False,
            "isrc": self.isrc,
            "name": self.name,
            "playParams": {"id": self.catalog_id, "kind": "song"},
            "previews": [{"url": f"https://audio-ssl.itunes.apple.com/preview/{self.catalog_id}.m4a"}],
            "releaseDate": self.release_date,
            "trackNumber": 1,
            "url": f"https://music.apple.com/{storefront}/album/x/{self.catalog_id}?i={self.catalog_id}",
        }
        if self.explicit:
            attributes["contentRating"] = "explicit"
        return {
            "id": self.catalog_id,
            "type": "songs",
            "href": f"/v1/catalog/{storefront}/songs/{self.catalog_id}",
            "attributes": attributes,
        }

    def library(self, *, include_catalog: bool) -> Json:
        """The `library-songs` resource (no ISRC of its own), with its catalog song when asked."""
        resource: Json = {
            "id": self.library_id,
            "type": "library-songs",
            "href": f"/v1/me/library/songs/{self.library_id}",
            "attributes": {
                "albumName": self.album,
                "artistName": self.artist,
                "artwork": {"width": 1200, "height": 1200, "url": artwork(self.album)["url"]},
                "discNumber": 1,
                "durationInMillis": self.duration_ms,
                "genreNames": ["Pop"],
                "hasLyrics": True,
                "name": self.name,
                "playParams": {
                    "id": self.library_id,
                    "kind": "song",
                    "isLibrary": True,
                    "reporting": True,
                    "catalogId": self.catalog_id,
                },
                "releaseDate": self.release_date,
                "trackNumber": 1,
            },
        }
        if include_catalog:
            resource["relationships"] = {
                "catalog": {"href": f"{resource['href']}/catalog", "data": [self.catalog()]}
            }
        return resource


def album_resource(name: str, artist: str, *, library: bool = False, date_added: str = "") -> Json:
    """A catalog `albums` or a `library-albums` resource."""
    ident = ("l." if library else "") + str(int(hashlib.sha1(name.encode()).hexdigest()[:8], 16))
    attributes: Json = {
        "artistName": artist,
        "artwork": artwork(name),
        "genreNames": ["Pop"],
        "name": name,
        "playParams": {"id": ident, "kind": "album", **({"isLibrary": True} if library else {})},
        "releaseDate": "2021-05-07",
        "trackCount": 10,
    }
    if library:
        attributes["dateAdded"] = date_added or "2025-10-06T16:47:33Z"
    return {
        "id": ident,
        "type": "library-albums" if library else "albums",
        "href": f"/v1/me/library/albums/{ident}" if library else f"/v1/catalog/gb/albums/{ident}",
        "attributes": attributes,
    }


def playlist_resource(name: str) -> Json:
    """A `library-playlists` resource (heavy rotation and recently added list these too)."""
    ident = "p." + hashlib.sha1(name.encode()).hexdigest()[:14]
    return {
        "id": ident,
        "type": "library-playlists",
        "href": f"/v1/me/library/playlists/{ident}",
        "attributes": {
            "canEdit": False,
            "dateAdded": "2025-09-29T19:09:24Z",
            "hasCatalog": True,
            "isPublic": False,
            "name": name,
            "playParams": {"id": ident, "kind": "playlist", "isLibrary": True},
        },
    }


def make_songs(count: int = 70, *, names: Sequence[str] = ()) -> list[Song]:
    """A deterministic catalogue; `names` replace the first titles (hostile-input tests)."""
    songs = []
    for i in range(count):
        title = (
            names[i]
            if i < len(names)
            else _TITLES[i % len(_TITLES)] + (f" ({i // 60 + 1})" if i >= 60 else "")
        )
        artist = names[i] if i < len(names) else _ARTISTS[i % len(_ARTISTS)]
        songs.append(
            Song(
                catalog_id=str(1_500_000_000 + i * 7),
                library_id="i." + hashlib.sha1(f"lib{i}".encode()).hexdigest()[:14],
                name=title,
                artist=artist,
                album=_ALBUMS[i % len(_ALBUMS)],
                isrc=f"GBXYZ25{i:05d}",
                release_date=f"{1990 + i % 35}-0{1 + i % 9}-1{i % 10}",
                duration_ms=150_000 + (i * 7919) % 120_000,
                explicit=i % 11 == 0,
            )
        )
    return songs


@dataclass
class AppleCall:
    """One API request the double received, and what it made of its tokens."""

    method: str
    path: str
    query: dict[str, str]
    developer_token_ok: bool
    user_token: str | None
    user_token_ok: bool
    origin: str | None
    claims: Json


class FakeAppleMusic(Faults):
    """The double: a listener's lists, the keys and tokens it accepts, the `calls` it received."""

    team_id = "TEAM123456"
    key_id = "KEY9876543"

    def __init__(self, songs: list[Song] | None = None) -> None:
        """A double with its own MusicKit key and the default listener's lists (see `use`)."""
        super().__init__()
        key = ec.generate_private_key(ec.SECP256R1())
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_key = key.public_key()
        self.base_url = ""
        self.fault_prefix = "/v1/"
        self.deny_authorize = False  # the stand-in's consent window: "Don't Allow"
        self.user_tokens: set[str] = set()
        self.calls: list[AppleCall] = []
        self.authorize_calls: list[AppleCall] = []
        self.playlists: list[Json] = []  # what POST me/library/playlists created: {"attributes", "tracks"}
        self._lock = threading.Lock()
        self.recent: list[Json] = []
        self.heavy: list[Json] = []
        self.library: list[Song] = []
        self.added: list[Json] = []
        self.use(songs or make_songs())
        self.app = self._make_app()

    # -- data ------------------------------------------------------------------------------------

    def use(self, songs: list[Song]) -> None:
        """Serve `songs`: the first 50 as recent plays (newest first, some as library songs), the
        library (alphabetical, all but the first 10), heavy rotation (albums, a playlist and a song)
        and recently added (library albums with dates, a playlist and one library song)."""
        self.songs = songs
        self.recent = [
            s.library(include_catalog=False) if i % 4 == 3 else s.catalog() for i, s in enumerate(songs[:50])
        ]
        self.library = sorted(songs[10:], key=lambda s: s.name.casefold())
        albums = list(dict.fromkeys((s.album, s.artist) for s in songs))
        self.heavy = [
            *(album_resource(*a) for a in albums[:1]),
            playlist_resource("Friday Feeling"),
            *(s.catalog() for s in songs[-1:]),
            *(album_resource(*a) for a in albums[1:4]),
        ]
        self.added = [
            *(
                album_resource(name, artist, library=True, date_added=f"2025-10-0{i + 1}T12:00:00Z")
                for i, (name, artist) in enumerate(albums[4:8])
            ),
            playlist_resource("Road Trip"),
        ]
        if len(songs) >= 2:
            added = songs[-2].library(include_catalog=False)
            added["attributes"]["dateAdded"] = "2025-10-09T08:00:00Z"
            self.added.append(added)

    # -- tokens ----------------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The settings overrides that point the app at this double with its MusicKit key."""
        return {
            "apple_music_team_id": self.team_id,
            "apple_music_key_id": self.key_id,
            "apple_music_private_key": self.private_key_pem,
            "apple_music_api_url": self.api_url,
        }

    @property
    def api_url(self) -> str:
        """APPLE_MUSIC_API_URL for this double (ends in /)."""
        return f"{self.base_url}/v1/"

    @property
    def musickit_url(self) -> str:
        """APPLE_MUSICKIT_JS_URL when the double serves the MusicKit stand-in itself (by hand)."""
        return f"{self.base_url}/musickit/v3/musickit.js"

    def stand_in_script(self) -> str:
        """The MusicKit stand-in, told where this double's consent endpoint is."""
        prelude = f"window.__appleMusicStandIn = {json.dumps({'authorizeUrl': self.authorize_url})};\n"
        return prelude + STAND_IN.read_text(encoding="utf-8")

    @property
    def authorize_url(self) -> str:
        """Where the MusicKit stand-in asks for consent."""
        return f"{self.base_url}/musickit/authorize"

    def issue_user_token(self) -> str:
        """A Music User Token the double accepts (Apple's are long opaque base64-like strings)."""
        token = "mut." + secrets.token_urlsafe(96)
        with self._lock:
            self.user_tokens.add(token)
        return token

    def revoke(self, token: str) -> None:
        """The listener signed out or revoked the app: the token now gets 403."""
        with self._lock:
            self.user_tokens.discard(token)

    def check_developer_token(self, header: str | None, origin: str | None) -> Json | None:
        """The verified claims of a `Bearer` developer token, or None if Apple would refuse it."""
        kind, _, token = (header or "").partition(" ")
        if kind != "Bearer" or not token:
            return None
        try:
            head = jwt.get_unverified_header(token)
            claims: Json = jwt.decode(
                token, self.public_key, algorithms=["ES256"], options={"require": ["iss", "iat", "exp"]}
            )
        except jwt.PyJWTError:
            return None
        if head.get("alg") != "ES256" or head.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            return None
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > time.time() + 60:
            return None
        if exp - iat > MAX_LIFETIME:
            return None
        allowed = claims.get("origin")
        if allowed is not None and (not isinstance(allowed, list) or origin not in allowed):
            return None
        return claims

    # -- the API ---------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, title: str, detail: str) -> tuple[Response, int]:
        body = {
            "errors": [
                {
                    "id": uuid.uuid4().hex.upper()[:26],
                    "title": title,
                    "detail": detail,
                    "status": str(status),
                    "code": f"{status}00",
                }
            ]
        }
        return jsonify(body), status

    def _page(self, items: Sequence[Json], path: str) -> Response | tuple[Response, int]:
        raw_limit, raw_offset = request.args.get("limit", "10"), request.args.get("offset", "0")
        if not raw_limit.isdigit() or not raw_offset.isdigit():
            return self._error(400, "Invalid Parameter Value", "limit and offset must be whole numbers")
        limit, offset = int(raw_limit), int(raw_offset)
        if not 1 <= limit <= LIMITS[path]:
            return self._error(400, "Invalid Parameter Value", f"Value must be an integer 1..{LIMITS[path]}")
        body: Json = {"data": list(items[offset : offset + limit]), "href": request.full_path.rstrip("?")}
        if offset + limit < len(items):
            body["next"] = f"{path}?offset={offset + limit}"
        return jsonify(body)

    def _fault(self) -> Response | tuple[Response, int] | None:
        if not request.path.startswith(self.fault_prefix):
            return None
        fault = self._next_fault()
        if fault is None:
            return None
        if fault.delay:
            self._stop.wait(fault.delay)
        if fault.status == 200 and fault.body is None:
            return None
        if isinstance(fault.body, bytes | str):
            response = Response(fault.body, status=fault.status, content_type="application/json")
        elif fault.body is not None:
            response = jsonify(fault.body)
            response.status_code = fault.status
        else:
            response, _ = self._error(fault.status, "Fault", "a scripted failure")
            response.status_code = fault.status
        response.headers.update(fault.headers)
        return response

    def _make_app(self) -> Flask:
        app = Flask("fake_apple_music")

        @app.before_request
        def check() -> Response | tuple[Response, int] | None:
            if request.path.startswith("/musickit/"):
                return None
            origin = request.headers.get("Origin")
            claims = self.check_developer_token(request.headers.get("Authorization"), origin)
            user = request.headers.get("Music-User-Token")
            with self._lock:
                user_ok = user is not None and user in self.user_tokens
            self.calls.append(
                AppleCall(
                    request.method,
                    request.path,
                    dict(request.args),
                    claims is not None,
                    user,
                    user_ok,
                    origin,
                    claims or {},
                )
            )
            if claims is None:
                return self._error(401, "Unauthorized", "Authentication failed: the developer token")
            if request.path.startswith("/v1/me/") and not user_ok:
                return self._error(403, "Forbidden", "Invalid authentication: the music user token")
            return self._fault()

        @app.get("/v1/me/recent/played/tracks")
        def recent() -> Response | tuple[Response, int]:
            if not request.args.get("types"):
                return self._error(400, "Missing Parameter", "types is required")
            wanted = set(request.args["types"].split(","))
            return self._page([r for r in self.recent if r["type"] in wanted], request.path)

        @app.get("/v1/me/history/heavy-rotation")
        def heavy_rotation() -> Response | tuple[Response, int]:
            return self._page(self.heavy, request.path)

        @app.get("/v1/me/library/songs")
        def library_songs() -> Response | tuple[Response, int]:
            with_catalog = "catalog" in request.args.get("include", "").split(",")
            return self._page([s.library(include_catalog=with_catalog) for s in self.library], request.path)

        @app.get("/v1/me/library/recently-added")
        def recently_added() -> Response | tuple[Response, int]:
            return self._page(self.added, request.path)

        @app.post("/v1/me/library/playlists")
        def create_playlist() -> Response | tuple[Response, int]:
            body = request.get_json(silent=True)
            attributes = body.get("attributes") if isinstance(body, dict) else None
            tracks = (
                ((body.get("relationships") or {}).get("tracks") or {}).get("data") if attributes else None
            )
            if not isinstance(attributes, dict) or not isinstance(attributes.get("name"), str):
                return self._error(400, "Invalid Request Body", "attributes.name is required")
            known = {s.catalog_id for s in self.songs}
            if not isinstance(tracks, list) or not all(
                isinstance(t, dict) and t.get("type") == "songs" and t.get("id") in known for t in tracks
            ):
                return self._error(400, "Invalid Request Body", "tracks must be catalog songs")
            ident = "p." + secrets.token_hex(7)
            self.playlists.append(
                {"id": ident, "attributes": attributes, "tracks": [t["id"] for t in tracks]}
            )
            created = {
                "id": ident,
                "type": "library-playlists",
                "href": f"/v1/me/library/playlists/{ident}",
                "attributes": {
                    "canEdit": True,
                    "dateAdded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "hasCatalog": False,
                    "isPublic": False,
                    "name": attributes["name"],
                    "description": {"standard": attributes.get("description", "")},
                    "playParams": {"id": ident, "kind": "playlist", "isLibrary": True},
                },
            }
            return jsonify({"data": [created]}), 201

        @app.get("/musickit/v3/musickit.js")
        def stand_in() -> Response:
            return Response(self.stand_in_script(), content_type="application/javascript; charset=utf-8")

        @app.route("/musickit/authorize", methods=["POST", "OPTIONS"])
        def authorize() -> Response | tuple[Response, int]:
            origin = request.headers.get("Origin")
            cors = {
                "Access-Control-Allow-Origin": origin or "*",
                "Access-Control-Allow-Headers": "Authorization",
                "Access-Control-Allow-Methods": "POST",
                "Vary": "Origin",
            }
            if request.method == "OPTIONS":
                return Response(status=204, headers=cors)
            claims = self.check_developer_token(request.headers.get("Authorization"), origin)
            self.authorize_calls.append(
                AppleCall("POST", request.path, {}, claims is not None, None, False, origin, claims or {})
            )
            if claims is None or "origin" not in claims:
                response, status = self._error(401, "Unauthorized", "the page's developer token")
            elif self.deny_authorize:
                response, status = self._error(401, "Unauthorized", "the listener did not allow access")
            else:
                response, status = jsonify({"music_user_token": self.issue_user_token()}), 200
            response.headers.update(cors)
            return response, status

        return app

    @classmethod
    @contextmanager
    def running(cls, songs: list[Song] | None = None) -> Iterator[FakeAppleMusic]:
        """Serve a double on 127.0.0.1 (free port) for the block."""
        with serving(cls(songs), "") as fake:
            yield fake

    # -- what tests ask ----------------------------------------------------------------------------

    def api_calls(self) -> list[AppleCall]:
        """The calls to `/v1/…`, in order."""
        return [c for c in self.calls if c.path.startswith("/v1/")]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the double by hand so a person can click through the Apple Music way in locally."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.apple_music", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    args = parser.parse_args(argv)
    fake = FakeAppleMusic()
    server = BackgroundServer(fake.app, host=args.host, port=args.port, quiet=False).start()
    fake.base_url = server.base_url
    env = {
        **{k.upper(): str(v) for k, v in fake.settings().items()},
        "APPLE_MUSICKIT_JS_URL": fake.musickit_url,
    }
    env["APPLE_MUSIC_PRIVATE_KEY"] = env["APPLE_MUSIC_PRIVATE_KEY"].strip().replace("\n", "\\n")
    try:
        print("Fake Apple Music is serving. Set these for the app:\n", flush=True)
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}", flush=True)  # safe to paste into a shell
        print("\nIts consent window approves at once. Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake._stop.set()
        server.stop()


if __name__ == "__main__":
    main()
