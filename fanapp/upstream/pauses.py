"""Pause flags: "do not call this upstream until then", shared by every caller that uses the same store.

A 429 (or Spotify's 403 for withdrawn endpoints) sets a flag instead of sleeping in a web worker; every
later call checks it first and gives up at once while it is set. `MemoryPauses` holds the flags in this
process; `RedisPauses` shares them between workers and machines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fanapp.config import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class PauseStore(Protocol):
    """Where "paused until" flags live; times are Unix epoch seconds so they mean the same everywhere."""

    def paused_until(self, upstream: str) -> float | None:
        """When `upstream` may be called again, or None when it is not paused."""
        ...

    def pause(self, upstream: str, seconds: float) -> float:
        """Pause `upstream` for `seconds` (never shortening a longer pause); returns the end time."""
        ...

    def resume(self, upstream: str) -> None:
        """Lift the pause on `upstream` (operators, tests)."""
        ...


class MemoryPauses:
    """Pause flags in this process only (the fallback when there is no Redis)."""

    def __init__(self, clock: Clock = time.time) -> None:
        """An empty store; `clock` returns epoch seconds (tests pass a fake one)."""
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def paused_until(self, upstream: str) -> float | None:
        """When `upstream` may be called again, or None when it is not paused."""
        with self._lock:
            until = self._until.get(upstream)
            if until is None:
                return None
            if until <= self._clock():
                del self._until[upstream]
                return None
            return until

    def pause(self, upstream: str, seconds: float) -> float:
        """Pause `upstream` for `seconds`, keeping a longer pause already set; returns the end time."""
        with self._lock:
            until = max(self._clock() + max(seconds, 0.0), self._until.get(upstream, 0.0))
            self._until[upstream] = until
            return until

    def resume(self, upstream: str) -> None:
        """Lift the pause on `upstream`."""
        with self._lock:
            self._until.pop(upstream, None)


class RedisPauses:
    """Pause flags in Redis, one key per upstream (`SET <prefix><upstream> <until> PX <ms>`).

    The key expires with the pause, so nothing needs cleaning up. When Redis is unreachable the flags
    fall back to this process (logged), so a Redis outage never turns a pause into a stampede here
    nor breaks the journey.
    """

    def __init__(self, client: redis.Redis, prefix: str = "fanapp:pause:", clock: Clock = time.time) -> None:
        """Use `client` (give it short socket timeouts) and keys starting with `prefix`."""
        self._client = client
        self.prefix = prefix
        self._clock = clock
        self._fallback = MemoryPauses(clock)

    def key(self, upstream: str) -> str:
        """The Redis key holding `upstream`'s flag."""
        return self.prefix + upstream

    def _read(self, upstream: str) -> float | None:
        raw = self._client.get(self.key(upstream))
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            return None

    def paused_until(self, upstream: str) -> float | None:
        """When `upstream` may be called again, or None when it is not paused."""
        local = self._fallback.paused_until(upstream)
        try:
            shared = self._read(upstream)
        except redis.RedisError as exc:
            log.warning("pause store: Redis unavailable (%s); using this process's flags", type(exc).__name__)
            return local
        candidates = [t for t in (local, shared) if t is not None and t > self._clock()]
        return max(candidates) if candidates else None

    def pause(self, upstream: str, seconds: float) -> float:
        """Pause `upstream` for `seconds`, keeping a longer pause already set; returns the end time."""
        until = self._clock() + max(seconds, 0.0)
        try:
            # GET then SET is not atomic: two workers racing both write a pause, and the shorter one may
            # win. That only means an upstream is asked once more a little early, which re-pauses it.
            current = self._read(upstream)
            if current is not None and current >= until:
                return current
            self._client.set(self.key(upstream), f"{until:.3f}", px=max(1, round(seconds * 1000)))
        except redis.RedisError as exc:
            log.warning(
                "pause store: Redis unavailable (%s); pausing in this process only", type(exc).__name__
            )
            return self._fallback.pause(upstream, seconds)
        return until

    def resume(self, upstream: str) -> None:
        """Lift the pause on `upstream` everywhere."""
        self._fallback.resume(upstream)
        try:
            self._client.delete(self.key(upstream))
        except redis.RedisError as exc:
            log.warning("pause store: Redis unavailable (%s); could not resume", type(exc).__name__)


@cache
def process_pauses(prefix: str = "fanapp:") -> MemoryPauses:
    """This process's pause store for one key prefix (each test app has its own prefix)."""
    return MemoryPauses()


def fail_fast_redis(url: str) -> redis.Redis:
    """A Redis client for pause flags: half-second timeouts and no retries.

    The flag is checked before every upstream call and must never be the slow part: redis-py's default
    policy retries a refused connection with backoff for seconds.
    """
    return redis.Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), retries=0)
    )


@cache
def _redis_pauses(url: str, prefix: str) -> RedisPauses:
    return RedisPauses(fail_fast_redis(url), prefix=prefix)


def pause_store(settings: Settings) -> PauseStore:
    """The app's pause store: shared through Redis when REDIS_URL is set, else this process's own.

    Redis keys are `<REDIS_PREFIX>pause:<upstream>`; one client per URL and prefix in this process.
    """
    if settings.redis_url:
        return _redis_pauses(settings.redis_url, settings.redis_prefix + "pause:")
    return process_pauses(settings.redis_prefix)
