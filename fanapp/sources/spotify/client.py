"""Spotify Web API clients (the visitor's token or the app's own) and the one error policy for every call."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

from fanapp.config import Settings
from fanapp.sources import SourceError
from fanapp.upstream.session import (
    BodyTooLarge,
    GuardedSession,
    UpstreamPaused,
    guarded_session,
    retry_after_seconds,
)

T = TypeVar("T")


class SpotifyAuthError(SourceError):
    """The token exchange or refresh failed; `invalid_grant` means the visitor must connect again."""

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


def http_session(settings: Settings, wait: float = 0.0, *, counted: bool = True) -> GuardedSession:
    """The guarded session every spotipy client and OAuth manager of the app calls through.

    Not spotipy's own urllib3 `Retry`: it sleeps inside the web worker on a 429 and reports a 5xx burst
    as a 429. The guarded session retries a 5xx burst under the app's one policy, refuses calls while
    Spotify has paused us, and takes every attempt from the app's call budget.
    """
    return guarded_session(settings, "spotify", wait=wait, counted=counted)


def client(
    settings: Settings, access_token: str, *, budget_wait: float = 0.0, reserve: int = 0
) -> spotipy.Spotify:
    """A spotipy Web API client with a timeout and no internal retries or sleeps.

    `budget_wait`: how long a call may wait for room in the app's call budget (jobs only; never a
    web request). `reserve`: calls taken from the budget at once before the client is returned (an
    import's calls, `GuardedSession.reserve`).
    """
    session = http_session(settings, budget_wait)
    session.reserve(reserve)
    sp = spotipy.Spotify(
        auth=access_token,
        requests_session=session,
        requests_timeout=settings.upstream_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    sp.prefix = settings.spotify_api_url  # spotipy has no constructor argument for the API base
    return sp


def call(fn: Callable[..., T | None], *args: Any, **kwargs: Any) -> T:
    """One Web API call, its failures turned into messages a visitor can read.

    Retries happen below, in the guarded session (a 5xx burst, a dropped connection), so a
    SpotifyException here is the final answer; a 429 has already set the shared pause flag.
    """
    try:
        result = fn(*args, **kwargs)
    except spotipy.SpotifyException as exc:
        status = exc.http_status
        if status == 429:
            # A job may wait for the pause to end; a web request tells the visitor.
            raise UpstreamPaused(
                "Spotify is busy and asked us to wait before trying again. "
                "Please come back a little later, or try the demo meanwhile.",
                retry_after=round(retry_after_seconds((exc.headers or {}).get("Retry-After"))),
            ) from exc
        if status == 401:
            raise SpotifyAuthError("Your Spotify connection has expired. Please connect again.") from exc
        if status == 403:
            raise SourceError(
                "Spotify did not let this app read your account. While the app is in Spotify's "
                "development mode only listeners the app's owner has added can connect. "
                "You can still try the demo."
            ) from exc
        raise SourceError(
            f"Spotify had a problem (error {status}). Nothing was imported; please try again in a moment."
        ) from exc
    except BodyTooLarge as exc:
        raise SourceError(
            "Spotify sent an answer we could not read. Nothing was imported; please try again."
        ) from exc
    except requests.Timeout as exc:
        raise SourceError("Spotify did not answer in time. Nothing was imported; please try again.") from exc
    except requests.RequestException as exc:
        raise SourceError("We could not reach Spotify. Nothing was imported; please try again.") from exc
    if result is None:
        # spotipy returns None when the body is not JSON.
        raise SourceError("Spotify sent an answer we could not read. Nothing was imported; please try again.")
    return result


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
        requests_session=http_session(settings),
        requests_timeout=settings.upstream_timeout,
    )
    manager.OAUTH_TOKEN_URL = settings.spotify_accounts_url + "api/token"
    sp = spotipy.Spotify(
        auth_manager=manager,
        requests_session=http_session(settings),
        requests_timeout=settings.upstream_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    sp.prefix = settings.spotify_api_url
    return sp
