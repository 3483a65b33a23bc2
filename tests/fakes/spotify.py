"""A local double of Spotify's accounts service and Web API, served over real HTTP on 127.0.0.1.

Payloads follow Spotify's OpenAPI schema (tests/unit/test_fake_spotify_schema.py checks them), so the
app talks to it through the real spotipy client.  One server carries three prefixes::

    /accounts/   authorize (auto-approves as ``fake.user``) and api/token
    /v1/         the Web API subset fanapp uses
    /images/     generated JPEG cover art

Use ``with FakeSpotify.running() as fake:`` in tests, or ``python -m tests.fakes.spotify`` by hand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import io
import json
import random
import re
import secrets
import string
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, NamedTuple, Self
from urllib.parse import urlencode

from PIL import Image, ImageDraw
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.http import BackgroundServer

Json = dict[str, Any]


def _names(text: str, sep: str = "|") -> tuple[str, ...]:
    return tuple(text.split(sep))


DEFAULT_REDIRECT_URI = "http://127.0.0.1:5000/callback/spotify"
DEFAULT_SCOPE = "user-read-private user-top-read user-read-recently-played user-library-read"
# The scopes Spotify's OpenAPI document lists; anything else gets error=invalid_scope at authorize.
KNOWN_SCOPES = frozenset(
    _names(
        "app-remote-control playlist-read-private playlist-read-collaborative playlist-modify-public "
        "playlist-modify-private user-library-read user-library-modify user-read-private user-read-email "
        "user-follow-read user-follow-modify user-top-read user-read-playback-position "
        "user-read-playback-state user-read-recently-played user-read-currently-playing "
        "user-modify-playback-state ugc-image-upload streaming",
        " ",
    )
)
TIME_RANGES = ("short_term", "medium_term", "long_term")
SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")
DEV_MODE_FORBIDDEN = "User not registered in the Developer Dashboard"
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

_ARTISTS = _names(
    "Marlowe Vance|The Quiet Arcade|Nadia Kross|Lowlight Parade|Ottoline|Juno Reyes|Harbour & Vine|"
    "Saffron Lane|Kid Meridian|Hollis Grey|Paper Lanterns|Elena Moravec|Big Sky Union|DJ Tamsin|"
    "Cobalt Youth|Rosa Linden|Northern Static|Theo Achterberg|Moth & Mirror|Lucky Ames|Sunset Coda|"
    "Frankie Okafor|Wren Holloway|Amara Sol|Ghost Radio Club|The Velvet Pylons"
)
_TITLES = _names(
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
_ALBUMS = _names(
    "Late Summer Electric|Paper Moons|Harbour Nights|The Neon Years|Small Hours|Static & Silk|"
    "Long Distance|Kitchen Disco|Wide Awake|Cassette Hearts|Northbound|Bright Side Down|Afterhours|"
    "Glasshouse|Coastline|Lovers' Almanac|Fever Pitch|Golden State of Mind|Motel Stationery|"
    "Velvet Machines|High Tide|Radio Days|Sunday Best|Night Bus|Satellite Season|Blue Hour"
)
_DISPLAY_NAMES = ("Kit Mercer", "Priya Anand", "Sam O'Neill", "Lena Fischer", "Tomás Ruiz")
_BASE62 = string.digits + string.ascii_letters
_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_ITEM_URI = re.compile(r"^spotify:(track|episode):[0-9A-Za-z]{22}$")
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_SEARCH_FILTER = re.compile(r'(track|artist|album|isrc|year):("[^"]*"|\S+)', re.IGNORECASE)
_UNBOUND_BASE = "http://127.0.0.1:0"  # URLs built before start() are rebased onto the real port


def spotify_id(*parts: object) -> str:
    """A deterministic 22-character base62 id derived from ``parts``."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest(), "big")
    chars = []
    for _ in range(22):
        n, digit = divmod(n, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def timestamp(moment: datetime, *, millis: bool = False) -> str:
    """Spotify's timestamp style: UTC with a ``Z`` suffix (``played_at`` carries milliseconds)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if millis else f"{text}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse a Spotify ``...Z`` timestamp into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _millis(text: str) -> int:
    return round(parse_timestamp(text).timestamp() * 1000)


@functools.lru_cache(maxsize=512)
def cover_jpeg(name: str, size: int = 300) -> bytes:
    """A small real JPEG whose two colours come from a hash of ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    image = Image.new("RGB", (size, size), (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, size), (size, 0), (size, size)], fill=(digest[3], digest[4], digest[5]))
    radius = size // 5 + digest[6] % (size // 4)
    centre = (digest[7] % size, digest[8] % size)
    draw.ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius], outline="white"
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def audio_features_object(track_id: str, **values: Any) -> dict[str, Any]:
    """An AudioFeaturesObject with every documented field (Spotify Web API reference), for tests that
    need one without a running double."""
    row: dict[str, Any] = {
        "acousticness": 0.00242,
        "analysis_url": f"https://api.spotify.com/v1/audio-analysis/{track_id}",
        "danceability": 0.585,
        "duration_ms": 237040,
        "energy": 0.842,
        "id": track_id,
        "instrumentalness": 0.00686,
        "key": 9,
        "liveness": 0.0866,
        "loudness": -5.883,
        "mode": 0,
        "speechiness": 0.0556,
        "tempo": 118.211,
        "time_signature": 4,
        "track_href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "type": "audio_features",
        "uri": f"spotify:track:{track_id}",
        "valence": 0.428,
    }
    row.update(values)
    return row


class Call(NamedTuple):
    """One Web API request as the double received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class TokenRequest(NamedTuple):
    """One POST to the token endpoint."""

    grant_type: str | None
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Fault:
    """A scripted failure: the next ``remaining`` requests under ``path_prefix`` (None = forever)."""

    path_prefix: str
    statuses: tuple[int | None, ...]  # cycled; see FakeSpotify.add_fault for None and 2xx
    remaining: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    delay: float = 0.0
    served: int = 0


@dataclass
class CreatedPlaylist:
    """A playlist the app created, with its item URIs in playlist order."""

    id: str
    name: str
    public: bool
    collaborative: bool
    description: str | None
    uris: list[str] = field(default_factory=list)
    version: int = 1

    @property
    def snapshot_id(self) -> str:
        """Changes whenever items are added."""
        return base64.b64encode(
            f"{self.version}:{spotify_id('snapshot', self.id, self.version)}".encode()
        ).decode()


@dataclass
class _Code:
    redirect_uri: str
    scope: frozenset[str]
    code_challenge: str
    expires_at: float


@dataclass
class _Token:
    scope: frozenset[str]
    has_user: bool
    expires_at: float


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status, headers, content_type="application/json; charset=utf-8")


def _api_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": {"status": status, "message": message}}, status, headers)


_URLS = Map(
    [
        Rule("/accounts/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/accounts/api/token", endpoint="token", methods=["POST"]),
        Rule("/images/<name>.jpg", endpoint="image", methods=["GET"]),
        Rule("/v1/me", endpoint="me", methods=["GET"]),
        Rule("/v1/me/top/<kind>", endpoint="top", methods=["GET"]),
        Rule("/v1/me/player/recently-played", endpoint="recently_played", methods=["GET"]),
        Rule("/v1/me/tracks", endpoint="saved_tracks", methods=["GET"]),
        Rule("/v1/me/playlists", endpoint="create_playlist", methods=["POST"]),
        Rule("/v1/users/<user_id>/playlists", endpoint="create_playlist", methods=["POST"]),
        Rule("/v1/playlists/<playlist_id>/items", endpoint="add_items", methods=["POST"]),
        Rule("/v1/playlists/<playlist_id>/tracks", endpoint="add_items", methods=["POST"]),
        Rule("/v1/audio-features", endpoint="audio_features", methods=["GET"]),
        Rule("/v1/audio-features/<track_id>", endpoint="audio_features", methods=["GET"]),
        Rule("/v1/search", endpoint="search", methods=["GET"]),
        Rule("/v1/tracks/<track_id>", endpoint="track", methods=["GET"]),
    ]
)


class FakeSpotify:
    """Spotify's accounts service and Web API for one registered app and one user, as a WSGI app."""

    def __init__(
        self,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        *,
        seed: int = 0,
        now: datetime | None = None,
    ) -> None:
        """Register the app and build the default library deterministically from ``seed``."""
        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.seed = seed
        self.now = now or datetime(2025, 11, 20, 21, 30, tzinfo=UTC)
        self.base_url = _UNBOUND_BASE
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: BackgroundServer | None = None
        # Switches tests flip directly.
        self.deny_next_authorize = False
        self.rotate_refresh_tokens = False
        self.invalid_grant_on_refresh = False
        self.audio_features_enabled = False
        self.foreign_next_url: str | None = None
        self.enforce_scopes = True
        self.legacy_user_fields = False  # True: /me also returns the fields Spotify withdrew
        self.access_token_lifetime = 3600
        # What the double saw and holds.
        self.calls: list[Call] = []
        self.token_requests: list[TokenRequest] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.playlists: dict[str, CreatedPlaylist] = {}
        self.faults: list[Fault] = []
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self.user = self._make_user()
        self.catalogue: list[Json] = []
        self.top: dict[str, list[Json]] = {r: [] for r in TIME_RANGES}
        self.recent: list[tuple[Json, str]] = []
        self.saved: list[tuple[Json, str]] = []
        self._build_default_library()

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, port: int = 0, **kwargs: Any) -> Iterator[Self]:
        """Construct with ``kwargs``, serve on 127.0.0.1 (a free port unless given), stop on exit."""
        fake = cls(**kwargs)
        fake.start(port=port)
        try:
            yield fake
        finally:
            fake.stop()

    def start(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> Self:
        """Serve in a background thread and point every URL in the library at the bound port."""
        self._server = BackgroundServer(self, host, port, quiet=quiet).start()
        with self._lock:
            self._rebase(self.base_url, self._server.base_url)
            self.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        """Stop serving; requests sleeping in a ``slow`` fault are woken first."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stopping.clear()

    @property
    def accounts_url(self) -> str:
        """Base for ``{accounts_url}authorize`` and ``{accounts_url}api/token`` (ends in ``/``)."""
        return f"{self.base_url}/accounts/"

    @property
    def api_url(self) -> str:
        """The spotipy ``prefix`` for the Web API (ends in ``/``)."""
        return f"{self.base_url}/v1/"

    def image_url(self, name: str, size: int | None = None) -> str:
        """URL of a generated JPEG for ``name`` (``[A-Za-z0-9_-]``), optionally at ``size`` pixels."""
        url = f"{self.base_url}/images/{name}.jpg"
        return f"{url}?size={size}" if size else url

    # -- library ---------------------------------------------------------------------------------

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

    # -- tokens and faults -----------------------------------------------------------------------

    def issue_token(self, scope: str = DEFAULT_SCOPE) -> Json:
        """Mint a user token as the token endpoint would (skips the browser dance in tests)."""
        return self._issue(frozenset(scope.split()), with_refresh=True)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far fail with 401 "The access token expired"."""
        with self._lock:
            for token in self._access.values():
                token.expires_at = 0.0

    def add_fault(
        self,
        path_prefix: str,
        status: int | None,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next ``times`` requests (None = forever) under ``path_prefix`` with ``status``.

        ``path_prefix`` is relative to the server root ("/v1/me/top", "/accounts/api/token").  Without
        ``body`` an error status gets Spotify's error object, while ``None`` or a 2xx/3xx status serves
        the normal response (after ``delay``).  A body starting with ``{`` or ``[`` is sent as JSON,
        anything else as plain text, unless ``headers`` set Content-Type.
        """
        return self._add(Fault(path_prefix, (status,), times, dict(headers or {}), body, delay))

    def rate_limit(self, path_prefix: str = "/v1/", retry_after: int = 1, times: int | None = None) -> Fault:
        """429 with ``Retry-After`` and Spotify's error body."""
        body = json.dumps({"error": {"status": 429, "message": "API rate limit exceeded"}})
        return self.add_fault(
            path_prefix, 429, times=times, headers={"Retry-After": str(retry_after)}, body=body
        )

    def server_errors(
        self, path_prefix: str = "/v1/", statuses: Sequence[int] = (500, 502, 503), times: int | None = 3
    ) -> Fault:
        """The next ``times`` requests (None = forever) fail, cycling through ``statuses``."""
        return self._add(Fault(path_prefix, tuple(statuses), times))

    def slow(self, path_prefix: str = "/v1/", seconds: float = 1.0, times: int | None = None) -> Fault:
        """Delay responses by ``seconds`` (they still succeed)."""
        return self._add(Fault(path_prefix, (None,), times, delay=seconds))

    def malformed_json(self, path_prefix: str = "/v1/", times: int | None = 1) -> Fault:
        """200 with ``application/json`` that is cut off mid-document."""
        return self.add_fault(path_prefix, 200, times=times, body='{"items": [{"track": {"id": ')

    def forbid_user(self, path_prefix: str = "/v1/") -> Fault:
        """Development-mode 403 for a user not on the app's allow-list, which Spotify sends as plain text."""
        return self.add_fault(path_prefix, 403, times=None, body=DEV_MODE_FORBIDDEN)

    def reset_faults(self) -> None:
        """Remove scripted faults and switch off every failure switch."""
        with self._lock:
            self.faults.clear()
            self.foreign_next_url = None
            self.invalid_grant_on_refresh = False
            self.deny_next_authorize = False

    # -- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except _ApiError as exc:
            response = _api_error(exc.status, exc.message)
        except _OAuthError as exc:
            response = _json({"error": exc.error, "error_description": exc.description}, 400)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        self._record(request)
        hit = self._take_fault(path)
        if hit is not None:
            status, fault = hit
            if fault.delay:
                self._stopping.wait(fault.delay)
            if status is not None and (status >= 400 or fault.body is not None):
                return self._fault_response(path, status, fault)
        normalized = path.rstrip("/") or "/"
        try:
            endpoint, args = _URLS.bind_to_environ(request.environ).match(normalized, request.method)
        except NotFound:
            return _api_error(404, "Service not found")
        except MethodNotAllowed:
            return _api_error(405, "Method not allowed")
        handler = getattr(self, f"_ep_{endpoint}")
        response: Response = handler(request, **args)
        return response

    def _record(self, request: Request) -> None:
        headers = dict(request.headers)
        with self._lock:
            if request.path.startswith("/v1/"):
                self.calls.append(Call(request.method, request.path, request.args.to_dict(), headers))
            elif request.path == "/accounts/api/token":
                form = request.form.to_dict()
                self.token_requests.append(TokenRequest(form.get("grant_type"), form, headers))
            elif request.path == "/accounts/authorize":
                self.authorize_requests.append(request.args.to_dict())

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, path: str) -> tuple[int | None, Fault] | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and (fault.remaining is None or fault.remaining > 0):
                    status = fault.statuses[fault.served % len(fault.statuses)]
                    fault.served += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return status, fault
        return None

    @staticmethod
    def _fault_response(path: str, status: int, fault: Fault) -> Response:
        if fault.body is not None:
            text = fault.body.decode(errors="replace") if isinstance(fault.body, bytes) else fault.body
            looks_json = text.lstrip().startswith(("{", "["))
            content_type = "application/json; charset=utf-8" if looks_json else "text/plain; charset=utf-8"
            return Response(fault.body, status, {"Content-Type": content_type, **fault.headers})
        if path.startswith("/accounts/"):
            payload: Json = {"error": "server_error", "error_description": f"HTTP {status}"}
            return _json(payload, status, fault.headers)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _api_error(status, phrase, fault.headers)

    # -- accounts --------------------------------------------------------------------------------

    def _ep_authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id:
            return self._error_page("INVALID_CLIENT: Invalid client")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri != self.redirect_uri:
            return self._error_page("INVALID_CLIENT: Invalid redirect URI")
        state = args.get("state")
        scope = frozenset(args.get("scope", "").split())
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif not scope <= KNOWN_SCOPES:
            error = "invalid_scope"
        elif (
            not state
            or args.get("code_challenge_method") != "S256"
            or not _PKCE_CHALLENGE.match(args.get("code_challenge", ""))
        ):
            error = "invalid_request"
        with self._lock:
            if error is None and self.deny_next_authorize:
                self.deny_next_authorize = False
                error = "access_denied"
            if error is None:
                code = secrets.token_urlsafe(32)
                expires = time.monotonic() + 600
                self._codes[code] = _Code(redirect_uri, scope, args["code_challenge"], expires)
                params = {"code": code}
            else:
                params = {"error": error}
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})

    @staticmethod
    def _error_page(message: str) -> Response:
        html = f"<!doctype html><title>Error</title><h1>Oops! Something went wrong</h1><p>{message}</p>"
        return Response(html, 400, content_type="text/html; charset=utf-8")

    def _ep_token(self, request: Request) -> Response:
        form = request.form
        has_secret = self._authenticate_client(request)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                payload = self._grant_code(form.get("code", ""), form)
            elif grant_type == "refresh_token":
                payload = self._grant_refresh(form.get("refresh_token", ""))
            elif grant_type == "client_credentials":
                if not has_secret:
                    raise _OAuthError("invalid_client", "Invalid client secret")
                payload = self._issue(frozenset(), with_refresh=False, user=False)
            elif grant_type is None:
                raise _OAuthError("unsupported_grant_type", "grant_type parameter is missing")
            else:
                raise _OAuthError("unsupported_grant_type", f"unsupported grant_type: {grant_type}")
        return _json(payload, headers={"Cache-Control": "no-store"})

    def _authenticate_client(self, request: Request) -> bool:
        """Check HTTP Basic or body credentials; returns whether a valid secret was presented."""
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        else:
            client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        if client_id != self.client_id:
            raise _OAuthError("invalid_client", "Invalid client")
        if secret is not None and secret != self.client_secret:
            raise _OAuthError("invalid_client", "Invalid client secret")
        return secret is not None

    def _grant_code(self, code: str, form: Mapping[str, str]) -> Json:
        grant = self._codes.pop(code, None)  # consumed by any attempt, successful or not
        if grant is None or grant.expires_at < time.monotonic():
            raise _OAuthError("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "Invalid redirect URI")
        verifier = form.get("code_verifier")
        if verifier is None:
            raise _OAuthError("invalid_request", "code_verifier required")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
            raise _OAuthError("invalid_grant", "code_verifier was incorrect")
        return self._issue(grant.scope, with_refresh=True)

    def _grant_refresh(self, refresh_token: str) -> Json:
        if self.invalid_grant_on_refresh:
            raise _OAuthError("invalid_grant", "Refresh token revoked")
        grant = self._refresh.get(refresh_token)
        if grant is None:
            raise _OAuthError("invalid_grant", "Invalid refresh token")
        if self.rotate_refresh_tokens:
            del self._refresh[refresh_token]
        return self._issue(grant.scope, with_refresh=self.rotate_refresh_tokens)

    def _issue(self, scope: frozenset[str], *, with_refresh: bool, user: bool = True) -> Json:
        lifetime = self.access_token_lifetime
        access = "BQ" + secrets.token_urlsafe(48)
        with self._lock:
            self._access[access] = _Token(scope, user, time.monotonic() + lifetime)
            payload: Json = {"access_token": access, "token_type": "Bearer", "expires_in": lifetime}
            if user:
                payload["scope"] = " ".join(sorted(scope))
            if with_refresh:
                refresh = "AQ" + secrets.token_urlsafe(64)
                self._refresh[refresh] = _Token(scope, True, float("inf"))
                payload["refresh_token"] = refresh
        return payload

    # -- Web API ---------------------------------------------------------------------------------

    def _token(self, request: Request, *scopes: str, user: bool = True) -> _Token:
        """Authorise a Web API call; ``scopes`` lists alternatives, any one of which suffices."""
        header = request.headers.get("Authorization")
        if not header:
            raise _ApiError(401, "No token provided")
        kind, _, value = header.partition(" ")
        if kind.lower() != "bearer" or not value:
            raise _ApiError(400, "Only valid bearer authentication supported")
        with self._lock:
            token = self._access.get(value.strip())
        if token is None:
            raise _ApiError(401, "Invalid access token")
        if token.expires_at < time.monotonic():
            raise _ApiError(401, "The access token expired")
        if user and not token.has_user:
            raise _ApiError(401, "Valid user authentication required")
        if self.enforce_scopes and scopes and not token.scope & set(scopes):
            raise _ApiError(403, "Insufficient client scope")
        return token

    @staticmethod
    def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.args.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise _ApiError(400, f"Invalid {name}") from None
        if not low <= value <= high:
            raise _ApiError(400, f"Invalid {name}")
        return value

    def _page(
        self, request: Request, items: Sequence[Any], params: dict[str, str], limit: int, offset: int
    ) -> Json:
        """An offset PagingObject whose URLs point back at the host the request came in on."""

        def url(at: int) -> str:
            return f"{request.base_url}?{urlencode({**params, 'offset': at, 'limit': limit})}"

        total = len(items)
        next_url = url(offset + limit) if offset + limit < total else None
        return {
            "href": url(offset),
            "items": list(items[offset : offset + limit]),
            "limit": limit,
            "next": self.foreign_next_url or next_url,
            "offset": offset,
            "previous": url(max(offset - limit, 0)) if offset > 0 else None,
            "total": total,
        }

    def _ep_me(self, request: Request) -> Response:
        self._token(request)
        withdrawn = ("country", "email", "explicit_content", "followers", "product")
        with self._lock:
            user = {k: v for k, v in self.user.items() if self.legacy_user_fields or k not in withdrawn}
            return _json(user)

    def _ep_top(self, request: Request, kind: str) -> Response:
        if kind != "tracks":
            raise _ApiError(404, "Service not found")
        self._token(request, "user-top-read")
        time_range = request.args.get("time_range", "medium_term")
        if time_range not in TIME_RANGES:
            raise _ApiError(400, "Invalid time range")
        limit, offset = self._int(request, "limit", 20, 1, 50), self._int(request, "offset", 0, 0, 10_000)
        with self._lock:
            return _json(self._page(request, self.top[time_range], {"time_range": time_range}, limit, offset))

    def _ep_recently_played(self, request: Request) -> Response:
        self._token(request, "user-read-recently-played")
        limit = self._int(request, "limit", 20, 1, 50)
        before, after = request.args.get("before"), request.args.get("after")
        if before and after:
            raise _ApiError(400, "Only one of before and after may be specified")
        try:
            cursor = int(before or after or 0)
        except ValueError:
            raise _ApiError(400, "Invalid cursor") from None
        with self._lock:
            plays = [(track, at, _millis(at)) for track, at in self.recent]  # newest first
            if after:
                window = [p for p in plays if p[2] > cursor][-limit:]  # the plays straight after the cursor
            else:
                window = [p for p in plays if not before or p[2] < cursor][:limit]
            cursor_params = {"after": after} if after else ({"before": before} if before else {})
            page: Json = {
                "href": f"{request.base_url}?{urlencode({'limit': limit, **cursor_params})}",
                "items": [{"track": t, "played_at": at, "context": self._context(t)} for t, at, _ in window],
                "limit": limit,
                "next": None,
                "cursors": None,  # Spotify sends null cursors and next on an empty page
            }
            if window:
                newest, oldest = window[0][2], window[-1][2]
                page["cursors"] = {"after": str(newest), "before": str(oldest)}
                if after and any(p[2] > newest for p in plays):
                    page["next"] = f"{request.base_url}?{urlencode({'after': newest, 'limit': limit})}"
                elif not after and any(p[2] < oldest for p in plays):
                    page["next"] = f"{request.base_url}?{urlencode({'before': oldest, 'limit': limit})}"
            page["next"] = self.foreign_next_url or page["next"]
            return _json(page)

    def _ep_saved_tracks(self, request: Request) -> Response:
        self._token(request, "user-library-read")
        limit, offset = self._int(request, "limit", 20, 1, 50), self._int(request, "offset", 0, 0, 100_000)
        with self._lock:
            items = [{"added_at": at, "track": track} for track, at in self.saved]
            return _json(self._page(request, items, {}, limit, offset))

    def _ep_audio_features(self, request: Request, track_id: str | None = None) -> Response:
        self._token(request, user=False)
        if not self.audio_features_enabled:
            raise _ApiError(403, "Forbidden")
        if track_id is not None:
            return _json(self._audio_features_for(self._known_track(track_id)))
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            raise _ApiError(400, "invalid request")
        found = [self.track_by_id(i) for i in ids]
        return _json({"audio_features": [self._audio_features_for(t) if t else None for t in found]})

    def _audio_features_for(self, track: Json) -> Json:
        rng = random.Random(track["id"])
        return {
            "acousticness": round(rng.random(), 3),
            "analysis_url": f"{self.api_url}audio-analysis/{track['id']}",
            "danceability": round(rng.uniform(0.2, 0.95), 3),
            "duration_ms": track["duration_ms"],
            "energy": round(rng.uniform(0.1, 1.0), 3),
            "id": track["id"],
            "instrumentalness": round(rng.random() ** 4, 4),
            "key": rng.randint(-1, 11),
            "liveness": round(rng.uniform(0.03, 0.6), 3),
            "loudness": round(rng.uniform(-18.0, -2.5), 3),
            "mode": rng.randint(0, 1),
            "speechiness": round(rng.uniform(0.02, 0.4), 3),
            "tempo": round(rng.uniform(68.0, 178.0), 3),
            "time_signature": rng.choice((3, 4, 4, 4, 5)),
            "track_href": track["href"],
            "type": "audio_features",
            "uri": track["uri"],
            "valence": round(rng.random(), 3),
        }

    def _ep_search(self, request: Request) -> Response:
        self._token(request, user=False)
        query = (request.args.get("q") or request.args.get("query") or "").strip()  # next URLs use query=
        if not query:
            raise _ApiError(400, "No search query")
        types = [t for t in request.args.get("type", "").split(",") if t]
        if not types:
            raise _ApiError(400, "Missing parameter type")
        if not set(types) <= set(SEARCH_TYPES):
            raise _ApiError(400, "Bad search type field")
        limit, offset = self._int(request, "limit", 5, 1, 10), self._int(request, "offset", 0, 0, 1000)
        params = {"query": query, "type": ",".join(types)}
        with self._lock:
            hits = [t for t in self.catalogue if self._matches(t, query)]
            result = {
                f"{kind}s": self._page(request, hits if kind == "track" else [], params, limit, offset)
                for kind in types
            }
            return _json(result)

    @staticmethod
    def _matches(track: Json, query: str) -> bool:
        fields = {
            "track": track["name"],
            "artist": " ".join(a["name"] for a in track["artists"]),
            "album": track["album"]["name"],
            "isrc": track["external_ids"].get("isrc", ""),
            "year": track["album"]["release_date"][:4],
        }
        for name, raw in _SEARCH_FILTER.findall(query):
            key, value = name.lower(), raw.strip('"').casefold()
            if key == "isrc":
                ok = value == fields["isrc"].casefold()
            elif key == "year":
                low, _, high = value.partition("-")
                ok = low <= fields["year"] <= (high or low)
            else:
                ok = value in fields[key].casefold()
            if not ok:
                return False
        free_text = _SEARCH_FILTER.sub(" ", query).casefold().split()
        haystack = " ".join((fields["track"], fields["artist"], fields["album"])).casefold()
        return all(word in haystack for word in free_text)

    def _ep_track(self, request: Request, track_id: str) -> Response:
        self._token(request, user=False)
        with self._lock:
            return _json(self._known_track(track_id))

    def _known_track(self, track_id: str) -> Json:
        if not _ID.match(track_id):
            raise _ApiError(400, "Invalid base62 id")
        track = self.track_by_id(track_id)
        if track is None:
            raise _ApiError(404, "Resource not found")
        return track

    def _ep_create_playlist(self, request: Request, user_id: str | None = None) -> Response:
        body = request.get_json(force=True, silent=True)
        public = bool(body.get("public", True)) if isinstance(body, dict) else True
        self._token(request, "playlist-modify-public" if public else "playlist-modify-private")
        if user_id is not None and user_id != self.user["id"]:
            raise _ApiError(403, "You cannot create a playlist for another user")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise _ApiError(400, "Missing required field: name")
        description = body.get("description") or None
        with self._lock:
            playlist_id = spotify_id("playlist", self.seed, len(self.playlists), body["name"])
            playlist = CreatedPlaylist(
                playlist_id, body["name"], public, bool(body.get("collaborative")), description
            )
            self.playlists[playlist_id] = playlist
            return _json(self._render_playlist(request, playlist), 201)

    def _ep_add_items(self, request: Request, playlist_id: str) -> Response:
        with self._lock:
            playlist = self.playlists.get(playlist_id)
        if playlist is None:
            self._token(request)
            raise _ApiError(404, "Resource not found")
        self._token(request, "playlist-modify-public" if playlist.public else "playlist-modify-private")
        body = request.get_json(force=True, silent=True)
        if isinstance(body, list):  # spotipy's playlist_add_items posts a bare list of URIs
            body = {"uris": body}
        body = body if isinstance(body, dict) else {}
        uris = request.args["uris"].split(",") if request.args.get("uris") else body.get("uris")
        if not isinstance(uris, list) or not uris:
            raise _ApiError(400, "No uris provided")
        if len(uris) > 100:
            raise _ApiError(400, "Too many ids requested")
        for uri in uris:
            if not isinstance(uri, str) or not _ITEM_URI.match(uri):
                raise _ApiError(400, f"Invalid track uri: {uri}")
        position = request.args.get("position", body.get("position"))
        try:
            index = None if position is None else int(position)
        except ValueError:
            raise _ApiError(400, "Invalid position") from None
        with self._lock:
            at = len(playlist.uris) if index is None else max(0, min(index, len(playlist.uris)))
            playlist.uris[at:at] = uris
            playlist.version += 1
            return _json({"snapshot_id": playlist.snapshot_id}, 201)

    def _render_playlist(self, request: Request, playlist: CreatedPlaylist) -> Json:
        owner = {k: self.user[k] for k in ("display_name", "external_urls", "href", "id", "type", "uri")}
        href = f"{self.api_url}playlists/{playlist.id}"
        items = self._page(request, [], {}, 100, 0) | {"href": f"{href}/items", "next": None}
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "followers": {"href": None, "total": 0},
            "href": href,
            "id": playlist.id,
            "images": [],
            "items": items,
            "name": playlist.name,
            "owner": owner,
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }

    def _ep_image(self, request: Request, name: str) -> Response:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name):
            return Response("not found", 404, content_type="text/plain")
        size = self._int(request, "size", 300, 16, 1024)
        return Response(
            cover_jpeg(name, size), 200, {"Cache-Control": "max-age=86400"}, content_type="image/jpeg"
        )

    # -- building objects ------------------------------------------------------------------------

    def _make_user(self) -> Json:
        rng = random.Random(f"user:{self.seed}")
        user_id = "31" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        name = rng.choice(_DISPLAY_NAMES)
        return {
            "account_id": "".join(rng.choice(_BASE62) for _ in range(10)),
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

    def _context(self, track: Json) -> Json:
        album = track["album"]
        return {
            "type": "album",
            "href": album["href"],
            "external_urls": album["external_urls"],
            "uri": album["uri"],
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


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the double by hand so a person can click through the Spotify path locally."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.spotify", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--client-id", default="test-client")
    parser.add_argument("--client-secret", default="test-secret")
    parser.add_argument("--redirect-uri", default=DEFAULT_REDIRECT_URI)
    args = parser.parse_args(argv)
    fake = FakeSpotify(args.client_id, args.client_secret, args.redirect_uri, seed=args.seed)
    fake.start(args.host, args.port, quiet=False)
    print("Fake Spotify is serving. Set these for the app:\n", flush=True)
    env = {
        "SPOTIPY_CLIENT_ID": fake.client_id,
        "SPOTIPY_CLIENT_SECRET": fake.client_secret,
        "SPOTIPY_REDIRECT_URI": fake.redirect_uri,
        "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
        "SPOTIFY_API_URL": fake.api_url,
    }
    for name, value in env.items():
        print(f"export {name}={value}", flush=True)
    print(f"\nUser: {fake.user['display_name']} ({fake.user['id']}). Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
