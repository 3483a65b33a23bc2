"""Spotify sign-in: Authorization Code with PKCE and a single-use state, through spotipy's SpotifyOAuth."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyOAuth, SpotifyOauthError

from fanapp.config import Settings
from fanapp.sources.spotify.client import SpotifyAuthError, http_session

IMPORT_SCOPES = ("user-top-read", "user-read-recently-played", "user-library-read")
PLAYLIST_SCOPES = ("playlist-modify-private",)


@dataclass(frozen=True)
class TokenSet:
    """Tokens from Spotify's token endpoint (kept encrypted by `fanapp.tokens`, never in a cookie)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scope: str


def oauth_manager(
    settings: Settings, scopes: tuple[str, ...] = IMPORT_SCOPES, *, show_dialog: bool = False
) -> SpotifyOAuth:
    """spotipy's OAuth manager for this app: our URLs, scopes, a timeout, and no shared `.cache` file."""
    manager = SpotifyOAuth(
        show_dialog=show_dialog,
        client_id=settings.spotify_client_id,
        client_secret=settings.spotify_client_secret,
        redirect_uri=settings.spotify_redirect_uri,
        scope=" ".join(scopes),
        cache_handler=MemoryCacheHandler(),
        # The accounts service (code exchange, refresh) is not the Web API: Spotify's rolling 30 s limit
        # counts Web API calls, so these take nothing from SPOTIFY_CALL_BUDGET (each exchange needs a
        # visitor's consent and is limited per client by RATE_LIMIT_CONNECT); a pause still stops them.
        # Counted, a connect spike's exchanges spent the window and the next visitors' callbacks failed.
        requests_session=http_session(settings, counted=False),
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
    settings: Settings, *, state: str, code_challenge: str, scopes: tuple[str, ...] = IMPORT_SCOPES
) -> str:
    """Where to send the visitor to approve the app.

    spotipy's SpotifyOAuth builds the URL but has no PKCE for a client with a secret, so the two PKCE
    parameters are appended here.
    """
    # Writing to the visitor's account always shows Spotify's consent screen, even when granted before:
    # the request starts from a link another site could make a visitor follow.
    writes = any("-modify-" in scope for scope in scopes)
    base = str(oauth_manager(settings, scopes, show_dialog=writes).get_authorize_url(state=state))
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
    manager = oauth_manager(settings)
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
        info = oauth_manager(settings).refresh_access_token(refresh_token)
    except SpotifyOauthError as exc:
        raise SpotifyAuthError(
            "Your Spotify connection has expired. Please connect again.", error=str(exc.error or "")
        ) from exc
    except requests.RequestException as exc:
        raise SpotifyAuthError("Spotify's login service did not answer in time. Please try again.") from exc
    return _token_set(info, fallback_refresh=refresh_token)
