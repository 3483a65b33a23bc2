"""What the Spotify double holds, saw and lets tests flip, and the checks every Web API endpoint shares
(the bearer token and its scopes, integer parameters, offset paging).

Each part of the double (accounts, listener history, catalogue, faults) is a mixin over `SpotifyState`,
so a test reads and flips one object: `FakeSpotify`.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from tests.fakes.spotify.wire import ApiError, Json, spotify_id

DEFAULT_REDIRECT_URI = "http://127.0.0.1:5000/callback/spotify"
TIME_RANGES = ("short_term", "medium_term", "long_term")
UNBOUND_BASE = "http://127.0.0.1:0"  # URLs built before start() are rebased onto the real port


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
class AuthCode:
    """An authorization code waiting to be exchanged at the token endpoint."""

    redirect_uri: str
    scope: frozenset[str]
    code_challenge: str
    expires_at: float


@dataclass
class Token:
    """An access or refresh token the accounts service issued."""

    scope: frozenset[str]
    has_user: bool
    expires_at: float


class SpotifyState:
    """Spotify's accounts service and Web API state for one registered app and one user."""

    def __init__(
        self,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        *,
        seed: int = 0,
        now: datetime | None = None,
    ) -> None:
        """Register the app; the library stays empty (`FakeSpotify` builds the default one)."""
        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.seed = seed
        self.now = now or datetime(2025, 11, 20, 21, 30, tzinfo=UTC)
        self.base_url = UNBOUND_BASE
        self._lock = threading.RLock()
        self._stopping = threading.Event()
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
        self._codes: dict[str, AuthCode] = {}
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self.user: Json = {}
        self.catalogue: list[Json] = []
        self.top: dict[str, list[Json]] = {r: [] for r in TIME_RANGES}
        self.recent: list[tuple[Json, str]] = []
        self.saved: list[tuple[Json, str]] = []

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

    def _token(self, request: Request, *scopes: str, user: bool = True) -> Token:
        """Authorise a Web API call; ``scopes`` lists alternatives, any one of which suffices."""
        header = request.headers.get("Authorization")
        if not header:
            raise ApiError(401, "No token provided")
        kind, _, value = header.partition(" ")
        if kind.lower() != "bearer" or not value:
            raise ApiError(400, "Only valid bearer authentication supported")
        with self._lock:
            token = self._access.get(value.strip())
        if token is None:
            raise ApiError(401, "Invalid access token")
        if token.expires_at < time.monotonic():
            raise ApiError(401, "The access token expired")
        if user and not token.has_user:
            raise ApiError(401, "Valid user authentication required")
        if self.enforce_scopes and scopes and not token.scope & set(scopes):
            raise ApiError(403, "Insufficient client scope")
        return token

    @staticmethod
    def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.args.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid {name}") from None
        if not low <= value <= high:
            raise ApiError(400, f"Invalid {name}")
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
