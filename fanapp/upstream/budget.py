"""The app-wide call budget: at most N calls per rolling window to one upstream, shared by every worker."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

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

    @property
    def calls(self) -> int:
        """How many calls the window allows."""
        return int(self._item.amount)

    def try_acquire(self, upstream: str, cost: int = 1) -> bool:
        """Take `cost` calls from the budget if there is room for all of them; never waits."""
        return bool(self._limiter.hit(self._item, upstream, cost=cost))

    def remaining(self, upstream: str) -> int:
        """Calls left in the current window (operators, tests)."""
        _reset, remaining = self._limiter.get_window_stats(self._item, upstream)
        return int(remaining)

    def seconds_until_room(self, upstream: str) -> float:
        """How long until the oldest call in the window leaves it."""
        reset, _remaining = self._limiter.get_window_stats(self._item, upstream)
        return max(0.0, float(reset) - time.time())

    def seconds_until_calls(self, upstream: str, batches: int, size: int = 1) -> float:
        """How long until `batches` more batches of `size` calls, each batch taken at once (as an
        import takes its calls, `GuardedSession.reserve`), can all have been made: each as soon as
        the window has room for it, i.e. once enough of the calls before it have left the window.

        Reads when the calls in the window were made (what the `limits` library keeps for its moving
        window: a Redis list of timestamps, newest first, or its memory entries); where that cannot be
        read, as if they had all been made when the oldest was (`seconds_until_room`).
        """
        budget, window = self._item.amount, self._item.get_expiry()
        size = max(1, min(size, budget))
        now = time.time()
        made = self._call_times(upstream, now - window)
        if made is None:
            made = [now + self.seconds_until_room(upstream) - window] * (budget - self.remaining(upstream))
        grants = sorted(made)[-budget:] if budget else []  # every call's time, oldest first
        at = now
        for _ in range(batches):
            # Room for `size` calls at once: at most `budget - size` of the calls before are in the window.
            before = len(grants) - (budget - size)
            at = now if before <= 0 else max(now, grants[before - 1] + window)
            grants += [at] * size
        return max(0.0, at - now) if batches > 0 else 0.0

    def _call_times(self, upstream: str, since: float) -> list[float] | None:
        storage: Any = self._limiter.storage
        key = self._item.key_for(upstream)
        try:
            if hasattr(storage, "prefixed_key") and hasattr(storage, "get_connection"):
                found = storage.get_connection().lrange(storage.prefixed_key(key), 0, -1)
                times = [float(t) for t in found]
            elif isinstance(getattr(storage, "events", None), dict):
                times = [entry.atime for entry in storage.events.get(key, [])]
            else:
                return None
        except (AttributeError, TypeError, ValueError):  # another storage, or another library version
            return None
        return [t for t in times if t >= since]

    def acquire(self, upstream: str, *, wait: float, cost: int = 1) -> bool:
        """Take `cost` calls at once, waiting up to `wait` seconds for room (jobs may wait; web requests
        pass 0)."""
        deadline = time.monotonic() + wait
        while True:
            if self.try_acquire(upstream, cost):
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
