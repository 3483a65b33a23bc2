"""Spotify: the OAuth flow (Authorization Code + PKCE) and the history import, through spotipy.

Only this module talks to Spotify. Its errors are `SourceError`s whose message a visitor can read.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth, SpotifyOauthError

from fanapp.config import SPOTIFY_SCOPES, Settings
from fanapp.sources import History, ImportedTrack, Progress, SourceError, clean_text, merge
from fanapp.upstream import UpstreamPaused, guarded_session

TOP_RANGES = ("short_term", "medium_term", "long_term")
PAGE = 50  # Spotify's maximum page size for these endpoints
FIVE_XX_RETRIES = 2

T = TypeVar("T")


class SpotifyAuthError(SourceError):
    """The token exchange or refresh failed; `invalid_grant` means the visitor must connect again."""

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class TokenSet:
    """Tokens from Spotify's token endpoint (kept encrypted by `fanapp.tokens`, never in a cookie)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scope: str


def _session(settings: Settings, wait: float = 0.0) -> requests.Session:
    # Our own session, no urllib3 Retry: spotipy's retries sleep inside the web worker on a 429 and report
    # a 5xx burst as a 429. We retry 5xx ourselves, a bounded number of times (see `_call`); the session
    # refuses calls while Spotify has paused us and keeps the app inside its call budget.
    return guarded_session(settings, "spotify", wait=wait)


def oauth(
    settings: Settings, scopes: tuple[str, ...] = SPOTIFY_SCOPES, *, show_dialog: bool = False
) -> SpotifyOAuth:
    """spotipy's OAuth manager for this app: our URLs, scopes, a timeout, and no shared `.cache` file."""
    manager = SpotifyOAuth(
        show_dialog=show_dialog,
        client_id=settings.spotify_client_id,
        client_secret=settings.spotify_client_secret,
        redirect_uri=settings.spotify_redirect_uri,
        scope=" ".join(scopes),
        cache_handler=MemoryCacheHandler(),
        requests_session=_session(settings),
        requests_timeout=settings.upstream_timeout,
        open_browser=False,
    )
    manager.OAUTH_AUTHORIZE_URL = settings.spotify_accounts_url + "authorize"
    manager.OAUTH_TOKEN_URL = settings.spotify_accounts_url + "api/token"
    return manager


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(
    settings: Settings, *, state: str, code_challenge: str, scopes: tuple[str, ...] = SPOTIFY_SCOPES
) -> str:
    """Where to send the visitor to approve the app.

    spotipy's SpotifyOAuth builds the URL but has no PKCE for a client with a secret, so the two PKCE
    parameters are appended here.
    """
    # Writing to the visitor's account always shows Spotify's consent screen, even when granted before:
    # the request starts from a link another site could make a visitor follow.
    writes = any("-modify-" in scope for scope in scopes)
    base = str(oauth(settings, scopes, show_dialog=writes).get_authorize_url(state=state))
    return base + "&" + urlencode({"code_challenge_method": "S256", "code_challenge": code_challenge})


def _token_set(info: dict[str, Any], fallback_refresh: str | None = None) -> TokenSet:
    if not isinstance(info, dict) or not info.get("access_token"):
        raise SpotifyAuthError("Spotify sent an answer we could not read. Please try connecting again.")
    return TokenSet(
        access_token=str(info["access_token"]),
        refresh_token=info.get("refresh_token") or fallback_refresh,
        expires_at=datetime.fromtimestamp(time.time() + int(info.get("expires_in", 3600)), UTC),
        scope=str(info.get("scope") or ""),
    )


def exchange_code(settings: Settings, *, code: str, code_verifier: str) -> TokenSet:
    """Trade the authorization code (and the PKCE verifier) for tokens.

    Hand-written POST: spotipy's `SpotifyOAuth.get_access_token` cannot send `code_verifier`, and
    `SpotifyPKCE` cannot authenticate with the client secret. The request is the one spotipy would make.
    """
    manager = oauth(settings)
    try:
        response = manager._session.post(
            manager.OAUTH_TOKEN_URL,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.spotify_redirect_uri,
                "code_verifier": code_verifier,
            },
            headers=manager._make_authorization_headers(),
            timeout=settings.upstream_timeout,
        )
    except requests.RequestException as exc:
        raise SpotifyAuthError("Spotify's login service did not answer in time. Please try again.") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200:
        error = payload.get("error", "") if isinstance(payload, dict) else ""
        raise SpotifyAuthError(
            "Spotify refused the connection. Please start again from the home page.", error=str(error)
        )
    return _token_set(payload)


def refresh(settings: Settings, refresh_token: str) -> TokenSet:
    """A fresh access token; keeps the old refresh token when Spotify does not rotate it."""
    try:
        info = oauth(settings).refresh_access_token(refresh_token)
    except SpotifyOauthError as exc:
        raise SpotifyAuthError(
            "Your Spotify connection has expired. Please connect again.", error=str(exc.error or "")
        ) from exc
    except requests.RequestException as exc:
        raise SpotifyAuthError("Spotify's login service did not answer in time. Please try again.") from exc
    return _token_set(info, fallback_refresh=refresh_token)


def client(settings: Settings, access_token: str, *, budget_wait: float = 0.0) -> spotipy.Spotify:
    """A spotipy Web API client with a timeout and no internal retries or sleeps.

    `budget_wait`: how long a call may wait for room in the app's call budget (jobs only; never a
    web request).
    """
    sp = spotipy.Spotify(
        auth=access_token,
        requests_session=_session(settings, budget_wait),
        requests_timeout=settings.upstream_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    sp.prefix = settings.spotify_api_url  # spotipy has no constructor argument for the API base
    return sp


def _retry_after(exc: spotipy.SpotifyException) -> int | None:
    headers = getattr(exc, "headers", None) or {}
    try:
        return int(headers.get("Retry-After", ""))
    except ValueError:
        return None


def _call(fn: Callable[..., T | None], *args: Any, **kwargs: Any) -> T:
    """One Web API call with our error policy: fail fast on 429, retry a 5xx burst briefly."""
    for attempt in range(FIVE_XX_RETRIES + 1):
        try:
            result = fn(*args, **kwargs)
        except spotipy.SpotifyException as exc:
            status = exc.http_status
            if status == 429:
                # The guarded session has already set the shared pause flag; a job may wait for it.
                raise UpstreamPaused(
                    "Spotify is busy and asked us to wait before trying again. "
                    "Please come back a little later, or try the demo meanwhile.",
                    retry_after=_retry_after(exc),
                ) from exc
            if status == 401:
                raise SpotifyAuthError("Your Spotify connection has expired. Please connect again.") from exc
            if status == 403:
                raise SourceError(
                    "Spotify did not let this app read your account. While the app is in Spotify's "
                    "development mode only listeners the app's owner has added can connect. "
                    "You can still try the demo."
                ) from exc
            if status is not None and 500 <= status < 600 and attempt < FIVE_XX_RETRIES:
                time.sleep(0.2 * 2**attempt)
                continue
            raise SourceError(
                f"Spotify had a problem (error {status}). Nothing was imported; please try again in a moment."
            ) from exc
        except requests.Timeout as exc:
            raise SourceError(
                "Spotify did not answer in time. Nothing was imported; please try again."
            ) from exc
        except requests.RequestException as exc:
            raise SourceError("We could not reach Spotify. Nothing was imported; please try again.") from exc
        if result is None:
            # spotipy returns None when the body is not JSON.
            raise SourceError(
                "Spotify sent an answer we could not read. Nothing was imported; please try again."
            )
        return result
    raise AssertionError("unreachable")


def _year(release_date: Any) -> int | None:
    text = str(release_date or "")[:4]
    return int(text) if text.isdigit() and text != "0000" else None


def _best_image(images: Any) -> str | None:
    # The 300 px cover is enough for cards and share images; take the smallest one at least that big.
    candidates = [i for i in images or [] if isinstance(i, dict) and str(i.get("url", "")).startswith("http")]
    if not candidates:
        return None
    big_enough = [i for i in candidates if (i.get("width") or 0) >= 300]
    pick = min(big_enough, key=lambda i: i.get("width") or 0) if big_enough else candidates[0]
    return str(pick["url"])[:1000]


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def track_from_spotify(obj: Any) -> ImportedTrack | None:
    """Convert a Web API TrackObject into an `ImportedTrack` (None for anything that is not a track)."""
    if not isinstance(obj, dict) or obj.get("type", "track") != "track" or not obj.get("name"):
        return None
    artists = [clean_text(a.get("name"), 200) for a in obj.get("artists") or [] if isinstance(a, dict)]
    title = clean_text(obj.get("name"))
    track_id = obj.get("id")
    if not track_id:
        # Local files have no Spotify id: give them a stable one of our own.
        digest = hashlib.sha1(f"{title}|{'|'.join(artists)}".encode(), usedforsecurity=False).hexdigest()
        track_id = "local:" + digest[:16]
    album: dict[str, Any] = obj["album"] if isinstance(obj.get("album"), dict) else {}
    isrc = (obj.get("external_ids") or {}).get("isrc")
    url = (obj.get("external_urls") or {}).get("spotify")
    return ImportedTrack(
        source_id=clean_text(track_id, 255),
        title=title,
        artists=[a for a in artists if a] or ["Unknown artist"],
        album=clean_text(album.get("name")),
        release_year=_year(album.get("release_date")),
        duration_ms=obj.get("duration_ms") if isinstance(obj.get("duration_ms"), int) else None,
        explicit=bool(obj.get("explicit")),
        isrc=clean_text(isrc, 20) or None if isrc else None,
        image_url=_best_image(album.get("images")),
        spotify_url=url if isinstance(url, str) and url.startswith("https://open.spotify.com/") else None,
    )


class SpotifySource:
    """A `HistorySource` over the Web API: top tracks (3 ranges), last 50 plays, first saved pages."""

    name = "spotify"

    def __init__(self, sp: spotipy.Spotify, *, saved_pages: int = 2) -> None:
        self.sp = sp
        self.saved_pages = saved_pages

    def fetch(self, progress: Progress) -> History:
        """Fetch the history once: at most 5 + `saved_pages` + 1 calls (see the README)."""
        progress("Saying hello to Spotify")
        me = _call(self.sp.current_user)
        found: list[ImportedTrack] = []
        for time_range, label in zip(TOP_RANGES, ("last 4 weeks", "last 6 months", "last year"), strict=True):
            progress(f"Fetching your top tracks ({label})")
            page = _call(self.sp.current_user_top_tracks, limit=PAGE, offset=0, time_range=time_range)
            for rank, item in enumerate(page.get("items") or [], start=1):
                if t := track_from_spotify(item):
                    t.top_ranks[time_range] = rank
                    found.append(t)

        progress("Fetching your last 50 plays")
        recent = _call(self.sp.current_user_recently_played, limit=PAGE)
        for item in recent.get("items") or []:
            if isinstance(item, dict) and (t := track_from_spotify(item.get("track"))):
                played = _time(item.get("played_at"))
                t.play_times = [played] if played else []
                t.play_count = len(t.play_times)
                found.append(t)

        # Pages by offset, never by the payload's `next` URL: that URL could point to another host, and
        # following it would send the bearer token there.
        for page_no in range(self.saved_pages):
            progress(f"Fetching your saved songs (page {page_no + 1})")
            page = _call(self.sp.current_user_saved_tracks, limit=PAGE, offset=page_no * PAGE)
            items = page.get("items") or []
            for item in items:
                if isinstance(item, dict) and (t := track_from_spotify(item.get("track"))):
                    t.saved_at = _time(item.get("added_at"))
                    found.append(t)
            if len(items) < PAGE or not page.get("next"):
                break

        tracks = merge(found)
        notes = [
            "Spotify shares only your last 50 plays, so play counts cover recent listening only.",
            "Top tracks are Spotify's own ranking for the last 4 weeks, 6 months and year.",
        ]
        return History(
            tracks=tracks,
            external_id=clean_text(me.get("id"), 255) or None,
            display_name=clean_text(me.get("display_name"), 200),
            notes=notes,
        )


PLAYLIST_SCOPES = ("playlist-modify-private",)
_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")


def is_spotify_id(value: str) -> bool:
    """True for a Spotify track id (22 base-62 characters)."""
    return bool(_SPOTIFY_ID.match(value))


def track_id_of(song: dict[str, Any]) -> str | None:
    """A song's Spotify track id: from its Spotify link (songs matched from Last.fm or an export keep
    their own source id), else its id when that is a Spotify id."""
    url = str(song.get("spotify_url") or "")
    prefix = "https://open.spotify.com/track/"
    if url.startswith(prefix) and is_spotify_id(url[len(prefix) :].split("?")[0]):
        return url[len(prefix) :].split("?")[0]
    own = str(song.get("id") or "")
    return own if is_spotify_id(own) else None


def save_playlist(sp: spotipy.Spotify, *, name: str, description: str, track_ids: list[str]) -> str:
    """Create a private playlist in the visitor's account with these tracks, in order; returns its URL.

    Asked for with the `playlist-modify-private` scope only, at the moment the visitor wants it
    (incremental consent): `POST /me/playlists`, then `POST /playlists/{id}/items`.
    """
    ids = [t for t in track_ids if is_spotify_id(t)][:100]
    if not ids:
        raise SourceError("None of these songs is on Spotify, so there is nothing to save there.")
    created = _call(
        sp.current_user_playlist_create, clean_text(name, 100), public=False, description=description[:300]
    )
    playlist_id = str(created.get("id") or "")
    if not is_spotify_id(playlist_id) and not playlist_id.isalnum():
        raise SourceError("Spotify sent an answer we could not read. Nothing was saved; please try again.")
    _call(sp.playlist_add_items, playlist_id, [f"spotify:track:{t}" for t in ids])
    url = (created.get("external_urls") or {}).get("spotify")
    return url if isinstance(url, str) and url.startswith("https://open.spotify.com/") else ""


def app_client(settings: Settings) -> spotipy.Spotify:
    """A Web API client with the app's own client-credentials token (search, track look-ups).

    No visitor is involved: used to match Last.fm and export songs to Spotify ids and to search when
    a visitor picks songs by hand. One per process and settings, so its token (cached in memory by
    spotipy until it expires) is fetched once, not once per search.
    """
    return _app_client(settings)


@cache
def _app_client(settings: Settings) -> spotipy.Spotify:
    manager = SpotifyClientCredentials(
        client_id=settings.spotify_client_id,
        client_secret=settings.spotify_client_secret,
        cache_handler=MemoryCacheHandler(),
        requests_session=_session(settings),
        requests_timeout=settings.upstream_timeout,
    )
    manager.OAUTH_TOKEN_URL = settings.spotify_accounts_url + "api/token"
    sp = spotipy.Spotify(
        auth_manager=manager,
        requests_session=_session(settings),
        requests_timeout=settings.upstream_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    sp.prefix = settings.spotify_api_url
    return sp


def search_tracks(sp: spotipy.Spotify, query: str, *, limit: int = 10) -> list[ImportedTrack]:
    """Spotify's track search (the app's own token), as `ImportedTrack`s."""
    cleaned = clean_text(query, 100)
    if not cleaned:
        return []
    found = _call(sp.search, q=cleaned, type="track", limit=min(limit, 10))
    items = ((found or {}).get("tracks") or {}).get("items") or []
    return [t for t in (track_from_spotify(i) for i in items) if t is not None]


def get_track(sp: spotipy.Spotify, track_id: str) -> ImportedTrack | None:
    """One track by its Spotify id (the app's own token)."""
    if not is_spotify_id(track_id):
        return None
    return track_from_spotify(_call(sp.track, track_id))
