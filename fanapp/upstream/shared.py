"""State every worker shares through Redis (one client per URL), with in-process fallbacks: named locks."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from functools import cache
from typing import Any

import redis

from fanapp.config import Settings


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


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def process_lock(name: str) -> threading.Lock:
    """A named lock in this process (the fallback for Redis locks when there is no Redis)."""
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


# -- the serving path: short timeouts and a circuit breaker ---------------------------------------
# Public pages consult Redis on every request (the render store, take-down news). A stalled Redis must
# not make them wait: their client gives up after a quarter of a second, and after a failure the
# breaker skips Redis altogether for a few seconds (pages then render from the database, which is the
# truth), trying again with one call when that time is up.

SERVING_TIMEOUT = 0.25  # seconds for one Redis call on the serving path


@cache
def serving_redis(url: str) -> redis.Redis:
    """The serving path's Redis client: quick to give up, never retried (the breaker decides)."""
    return redis.Redis.from_url(
        url, socket_timeout=SERVING_TIMEOUT, socket_connect_timeout=SERVING_TIMEOUT, retry_on_timeout=False
    )


class Breaker:
    """A circuit breaker: closed (calls go through) until a call fails, then open for `cooldown`
    seconds (calls are refused at once); after that calls go through again, and a failure reopens it."""

    def __init__(self, cooldown: float = 2.0, timer: Any = None) -> None:
        """Stay open `cooldown` seconds after a failure (by `timer`, `time.monotonic` by default)."""
        import time

        self.cooldown = cooldown
        self.timer = timer or time.monotonic
        self._open_until = float("-inf")
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True while calls are refused."""
        return self.timer() < self._open_until

    def allow(self) -> bool:
        """Whether to make a call now."""
        return not self.open

    def failed(self) -> None:
        """A call failed: refuse calls for `cooldown` seconds."""
        with self._lock:
            self._open_until = self.timer() + self.cooldown

    def call(self, fn: Any, *args: Any, default: Any = None) -> Any:
        """`fn(*args)`, or `default` when the breaker is open or the call raises a Redis error."""
        if not self.allow():
            return default
        try:
            return fn(*args)
        except (redis.RedisError, OSError):
            self.failed()
            return default
