"""Rules for every call to an outside service: pause flags after a 429, and an app-wide call budget.

Spotify counts calls per app in a rolling 30-second window and may answer 429 with a Retry-After of
hours. So: a 429 never makes a worker sleep; it sets a shared "paused until" flag that stops every
later call to that upstream at once, and a moving-window budget (shared through Redis when configured)
keeps the whole app under the limit in the first place.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from fanapp.config import Settings
from fanapp.errors import FanappError
from fanapp.upstream.budget import OutboundBudget, budget_for
from fanapp.upstream.pauses import PauseStore, pause_store

MAX_RETRY_AFTER = 7 * 24 * 3600  # never trust a pause longer than a week


class UpstreamPaused(FanappError):
    """The upstream asked us to wait; no call was made. `retry_after` is the honest wait in seconds."""


def retry_after_seconds(value: str | None, default: int = 60) -> int:
    """Retry-After as seconds (Spotify sends seconds; HTTP-dates are treated as the default)."""
    try:
        return max(1, min(MAX_RETRY_AFTER, int(float(value or ""))))
    except ValueError:
        return default


class GuardedSession(requests.Session):
    """A requests session that honours the pause flag and the budget before each call, and sets the
    pause flag on a 429. spotipy makes its calls through it (see `fanapp.sources.spotify`)."""

    def __init__(
        self, upstream: str, *, pauses: PauseStore, budget: OutboundBudget | None, wait: float
    ) -> None:
        super().__init__()
        self.upstream = upstream
        self.pauses = pauses
        self.budget = budget
        self.wait = wait

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Refuse at once while paused or over budget; remember a 429's Retry-After for everyone."""
        until = self.pauses.paused_until(self.upstream)
        if until is not None:
            raise UpstreamPaused(
                "Spotify asked us to slow down, so we are waiting before we call it again.",
                retry_after=max(1, int(until - time.time())),
            )
        if self.budget is not None and not self.budget.acquire(self.upstream, wait=self.wait):
            raise UpstreamPaused(
                "Many fans are connecting right now, so we are queueing calls to Spotify.",
                retry_after=max(1, int(self.budget.seconds_until_room(self.upstream))),
            )
        response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
        if response.status_code == 429:
            self.pauses.pause(self.upstream, retry_after_seconds(response.headers.get("Retry-After")))
        return response


def guarded_session(settings: Settings, upstream: str = "spotify", *, wait: float = 0.0) -> GuardedSession:
    """A session for `upstream` with the app's pause store and (for Spotify) its call budget."""
    budget = budget_for(settings) if upstream == "spotify" else None
    return GuardedSession(upstream, pauses=pause_store(settings), budget=budget, wait=wait)
