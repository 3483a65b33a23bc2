"""The Apple Music API gateway: one guarded session, the two tokens on every call, Apple's errors
turned into messages a visitor can read.

Every request carries `Authorization: Bearer <developer token>` and, for the listener's own data
(`/me/…`), `Music-User-Token`. Calls go through the app's guarded session for "apple-music": its pause
flag (a 429 pauses every worker, for Retry-After or a minute), its call budget, the one retry policy (a
5xx burst, a dropped connection) and bounded reads, each with the app's timeout. Apple answers errors as
`{"errors": [{"status", "code", "title", "detail"}]}`; its 401 means the developer token was refused,
its 403 that the user token was (expired, revoked, or no subscription).

Pages are read by offset, never by following the answer's `next` URL, and redirects are not followed: a
`next` or a `Location` naming another host would otherwise receive the tokens. `next` only says whether
there is more.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import requests

from fanapp.config import Settings
from fanapp.sources import SourceError
from fanapp.sources.apple.developer import developer_tokens
from fanapp.upstream.session import BodyTooLarge, GuardedSession, UpstreamPaused, guarded_session

log = logging.getLogger(__name__)

UPSTREAM: Final = "apple-music"  # the pause flag's and the budget's name
LABEL: Final = "Apple Music"
# A page of 100 library songs with their catalog songs is about 300 KB; a runaway answer is refused.
MAX_BODY: Final = 4 * 1024 * 1024

OTHER_WAYS: Final = "You can also upload a Spotify data export, pick your songs by hand, or try the demo."
_NOTHING = "Nothing was imported."


class AppleMusicError(SourceError):
    """Any Apple Music failure; `message` is for the visitor and names the other ways in."""


class AppleMusicAuthError(AppleMusicError):
    """401: Apple refused the developer token (expired, revoked, or the key is wrong)."""


class AppleMusicForbiddenError(AppleMusicError):
    """403: Apple refused the Music User Token (expired, revoked, or no Apple Music subscription)."""


class AppleMusicBusyError(AppleMusicError):
    """429, or the app's pause flag or call budget for Apple Music: `retry_after` is the honest wait."""


class AppleMusicUnavailableError(AppleMusicError):
    """5xx, a timeout, a refused connection, or an answer we cannot read."""


def _busy(retry_after: int | None) -> AppleMusicBusyError:
    minutes = max(1, round((retry_after or 60) / 60))
    return AppleMusicBusyError(
        f"Apple Music is busy and asked us to slow down. {_NOTHING} Please try again in about {minutes} "
        f"minute{'s' if minutes != 1 else ''}. {OTHER_WAYS}",
        retry_after=retry_after,
    )


def error_for(status: int, retry_after: int | None = None) -> AppleMusicError:
    """The visitor-readable error for an Apple Music HTTP status."""
    if status == 401:
        return AppleMusicAuthError(
            "Apple Music turned down this site's connection (its sign-in may have expired or been "
            f"revoked). {_NOTHING} Please connect Apple Music again in a little while. {OTHER_WAYS}"
        )
    if status == 403:
        return AppleMusicForbiddenError(
            "Apple Music did not let us read your music. That needs an active Apple Music subscription "
            f"and your permission in Apple's window. {_NOTHING} Please connect again. {OTHER_WAYS}"
        )
    if status == 429:
        return _busy(retry_after)
    return AppleMusicUnavailableError(
        f"Apple Music had a problem (error {status}). {_NOTHING} Please try again in a moment. {OTHER_WAYS}"
    )


class AppleMusicClient:
    """Calls to the Apple Music API with the developer token and, when given, a Music User Token."""

    def __init__(
        self,
        *,
        base_url: str,
        developer_token: Callable[[], str],
        session: GuardedSession,
        user_token: str | None = None,
    ) -> None:
        """`base_url` ends in "/" (APPLE_MUSIC_API_URL); `developer_token` is asked before every call,
        so a long import never sends a token that has run out."""
        self.base_url = base_url
        self._developer_token = developer_token
        self._user_token = user_token
        self.session = session

    def __repr__(self) -> str:
        return f"AppleMusicClient(base_url={self.base_url!r})"

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._developer_token()}", "Accept": "application/json"}
        if self._user_token:
            headers["Music-User-Token"] = self._user_token
        return headers

    def call(
        self, method: str, path: str, *, params: dict[str, str | int] | None = None, body: Any = None
    ) -> dict[str, Any] | None:
        """One API call; the decoded JSON object, or None for a 404 or a 204 (nothing there).

        Raises `AppleMusicError` subclasses with messages for the visitor.
        """
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=self._headers(),
                max_bytes=MAX_BODY,
                # requests drops Authorization on a redirect to another host, not Music-User-Token.
                allow_redirects=False,
            )
        except UpstreamPaused as exc:
            raise _busy(exc.retry_after) from exc
        except BodyTooLarge as exc:
            raise AppleMusicUnavailableError(
                f"Apple Music sent an answer we could not read. {_NOTHING} Please try again. {OTHER_WAYS}"
            ) from exc
        except requests.Timeout as exc:
            raise AppleMusicUnavailableError(
                f"Apple Music did not answer in time. {_NOTHING} Please try again. {OTHER_WAYS}"
            ) from exc
        except requests.RequestException as exc:
            raise AppleMusicUnavailableError(
                f"We could not reach Apple Music. {_NOTHING} Please try again. {OTHER_WAYS}"
            ) from exc
        status = response.status_code
        if status in (204, 404):
            return None
        if status >= 400:
            if status == 401:
                # The visitor can do nothing about this one: tell the operator (no token in the line).
                log.warning("apple-music: the developer token was refused (401); check the MusicKit key")
            retry_after = None
            if status == 429:
                paused = self.session.pauses.paused_until(UPSTREAM)
                retry_after = max(1, round(paused - time.time())) if paused else None
            raise error_for(status, retry_after)
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise AppleMusicUnavailableError(
                f"Apple Music sent an answer we could not read. {_NOTHING} Please try again. {OTHER_WAYS}"
            )
        return payload

    def get(self, path: str, **params: str | int) -> dict[str, Any] | None:
        """`GET base_url + path` with query `params`."""
        return self.call("GET", path, params=params)

    def pages(
        self, path: str, *, limit: int, max_pages: int, **params: str | int
    ) -> Iterator[list[dict[str, Any]]]:
        """The `data` of up to `max_pages` pages of `limit`, by offset; stops at the last page."""
        for page in range(max_pages):
            payload = self.get(path, limit=limit, offset=page * limit, **params) or {}
            data = payload.get("data")
            items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
            yield items
            if not payload.get("next") or len(items) < limit:
                return


def client_for(settings: Settings, *, user_token: str | None, wait: float = 0.0) -> AppleMusicClient:
    """A client with the app's server-side developer token (no origin claim: it never leaves the server)
    and the guarded session for Apple Music; `wait` is how long a call may wait for room in the
    budget (jobs only; a web request passes 0)."""
    tokens = developer_tokens(settings)
    return AppleMusicClient(
        base_url=settings.apple_music_api_url,
        developer_token=tokens.token,
        session=guarded_session(settings, UPSTREAM, wait=wait, label=LABEL),
        user_token=user_token,
    )
