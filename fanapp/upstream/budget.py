"""The app-wide call budget: at most N calls per rolling window to one upstream, shared by every worker."""

from __future__ import annotations

import time
from functools import cache

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fanapp.config import Settings


class OutboundBudget:
    """At most `budget` calls per `window` seconds to one upstream, across every worker sharing storage."""

    def __init__(self, storage_uri: str, *, prefix: str, budget: int, window: int = 30) -> None:
        """`storage_uri` is `memory://` or a Redis URL (the `limits` library's storage)."""
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._item = RateLimitItemPerSecond(budget, window, namespace=prefix.rstrip(":"))

    def try_acquire(self, upstream: str) -> bool:
        """Take one call from the budget if there is room; never waits."""
        return bool(self._limiter.hit(self._item, upstream))

    def remaining(self, upstream: str) -> int:
        """Calls left in the current window (operators, tests)."""
        _reset, remaining = self._limiter.get_window_stats(self._item, upstream)
        return int(remaining)

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
def _budget(storage_uri: str, prefix: str, budget: int) -> OutboundBudget:
    return OutboundBudget(storage_uri, prefix=prefix, budget=budget)


def budget_for(settings: Settings) -> OutboundBudget:
    """The app's Spotify budget: in Redis when REDIS_URL is set, so all workers share it."""
    return _budget(
        settings.redis_url or "memory://", settings.redis_prefix + "budget:", settings.spotify_budget
    )


def budget_of(settings: Settings, upstream: str) -> OutboundBudget | None:
    """The budget every call to `upstream` takes from: Spotify's (the Web API, its accounts service and
    the audio-features provider alike) and Apple Music's (its own count, under the same Redis prefix);
    the other upstreams have none, their pause flags suffice."""
    if upstream == "spotify":
        return budget_for(settings)
    if upstream == "apple-music":
        # Apple limits calls per developer token, i.e. per app, and publishes no number either.
        return _budget(
            settings.redis_url or "memory://", settings.redis_prefix + "budget:", settings.apple_music_budget
        )
    return None
