"""Rules for every call to an outside service: pause flags after a 429, and an app-wide call budget.

Spotify counts calls per app in a rolling 30-second window and may answer 429 with a Retry-After of
hours. So: a 429 never makes a worker sleep; it sets a shared "paused until" flag that stops every
later call to that upstream at once, and a moving-window budget (shared through Redis when configured)
keeps the whole app under the limit in the first place.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from functools import cache
from typing import Any

import redis
import requests
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fanapp.config import Settings
from fanapp.enrich.pauses import PauseStore, pause_store
from fanapp.sources import SourceError

MAX_RETRY_AFTER = 7 * 24 * 3600  # never trust a pause longer than a week


class UpstreamPaused(SourceError):
    """The upstream asked us to wait; no call was made. `retry_after` is the honest wait in seconds."""


def retry_after_seconds(value: str | None, default: int = 60) -> int:
    """Retry-After as seconds (Spotify sends seconds; HTTP-dates are treated as the default)."""
    try:
        return max(1, min(MAX_RETRY_AFTER, int(float(value or ""))))
    except ValueError:
        return default


class OutboundBudget:
    """At most `budget` calls per `window` seconds to one upstream, across every worker sharing storage."""

    def __init__(self, storage_uri: str, *, prefix: str, budget: int, window: int = 30) -> None:
        """`storage_uri` is `memory://` or a Redis URL (the `limits` library's storage)."""
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._item = RateLimitItemPerSecond(budget, window, namespace=prefix.rstrip(":"))

    def try_acquire(self, upstream: str) -> bool:
        """Take one call from the budget if there is room; never waits."""
        return bool(self._limiter.hit(self._item, upstream))

    def seconds_until_room(self, upstream: str) -> float:
        """How long until the oldest call in the window leaves it."""
        reset, _remaining = self._limiter.get_window_stats(self._item, upstream)
        return max(0.0, float(reset) - time.time())

    def acquire(self, upstream: str, *, wait: float) -> bool:
        """Take one call, waiting up to `wait` seconds for room (jobs may wait; web requests pass 0)."""
        deadline = time.monotonic() + wait
        while True:
            if self.try_acquire(upstream):
                return True
            pause = min(self.seconds_until_room(upstream), deadline - time.monotonic())
            if pause <= 0:
                return False
            time.sleep(min(pause, 1.0))


@cache
def redis_client(url: str) -> redis.Redis:
    """One Redis client per URL in this process."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def named_lock(settings: Settings, name: str, *, timeout: float = 30.0) -> AbstractContextManager[Any]:
    """A lock shared by all workers (Redis) or, without Redis, by this process's threads."""
    if settings.redis_url:
        lock: AbstractContextManager[Any] = redis_client(settings.redis_url).lock(
            settings.redis_prefix + "lock:" + name, timeout=timeout, blocking_timeout=timeout
        )
        return lock
    return process_lock(name)


@cache
def _budget(storage_uri: str, prefix: str, budget: int) -> OutboundBudget:
    return OutboundBudget(storage_uri, prefix=prefix, budget=budget)


def budget_for(settings: Settings) -> OutboundBudget:
    """The app's Spotify budget: in Redis when REDIS_URL is set, so all workers share it."""
    return _budget(
        settings.redis_url or "memory://", settings.redis_prefix + "budget:", settings.spotify_budget
    )


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


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def process_lock(name: str) -> threading.Lock:
    """A named lock in this process (the fallback for Redis locks when there is no Redis)."""
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def guarded_session(settings: Settings, upstream: str = "spotify", *, wait: float = 0.0) -> GuardedSession:
    """A session for `upstream` with the app's pause store and (for Spotify) its call budget."""
    budget = budget_for(settings) if upstream == "spotify" else None
    return GuardedSession(upstream, pauses=pause_store(settings), budget=budget, wait=wait)
