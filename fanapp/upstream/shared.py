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
