"""The outbound rules every worker shares: the call budget and the pause flag (Redis and in-process)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from fanapp.upstream.budget import OutboundBudget
from fanapp.upstream.pauses import MemoryPauses, RedisPauses
from fanapp.upstream.session import GuardedSession, UpstreamPaused, retry_after_seconds

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"fanapp-test-{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"*{name}*"):
        client.delete(key)
    client.close()


@pytest.mark.redis
def test_budget_is_shared_by_workers_through_redis(prefix: str) -> None:
    worker_a = OutboundBudget(REDIS_URL, prefix=prefix, budget=5)
    worker_b = OutboundBudget(REDIS_URL, prefix=prefix, budget=5)
    taken = [w.try_acquire("spotify") for w in (worker_a, worker_b) * 3]
    assert taken == [True] * 5 + [False]
    assert 0 < worker_b.seconds_until_room("spotify") <= 30
    assert not worker_a.acquire("spotify", wait=0.2)  # bounded wait, then gives up


@pytest.mark.redis
@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_the_time_until_calls_can_be_made_follows_when_the_windows_calls_were_made(
    storage: str, prefix: str
) -> None:
    budget = OutboundBudget(REDIS_URL if storage == "redis" else "memory://", prefix=prefix, budget=10)
    assert [budget.try_acquire("spotify") for _ in range(4)] == [True] * 4
    time.sleep(1.0)  # the next calls are made a second after the first four
    assert [budget.try_acquire("spotify") for _ in range(4)] == [True] * 4
    assert budget.seconds_until_calls("spotify", 0) == 0.0
    assert budget.seconds_until_calls("spotify", 2) == 0.0  # room for two now
    # The third waits for the first call to leave (30 s after it), the seventh for the fifth (31 s).
    assert 28.5 <= budget.seconds_until_calls("spotify", 3) <= 29.1
    assert 29.5 <= budget.seconds_until_calls("spotify", 7) <= 30.1
    # Beyond a window's worth: the 13th waits for the 3rd made from now, itself made at ~29 s.
    assert 58.5 <= budget.seconds_until_calls("spotify", 13) <= 59.1
    # Taken three at once, as imports take theirs: the room for two now fits no batch. When the first
    # four calls leave (29 s), two batches fit; the third waits for the next calls (30 s), the fourth
    # for the first batch's, made at 29 s.
    assert 28.5 <= budget.seconds_until_calls("spotify", 1, size=3) <= 29.1
    assert 28.5 <= budget.seconds_until_calls("spotify", 2, size=3) <= 29.1
    assert 29.5 <= budget.seconds_until_calls("spotify", 3, size=3) <= 30.1
    assert 58.5 <= budget.seconds_until_calls("spotify", 4, size=3) <= 59.1


def test_budget_in_memory_without_redis() -> None:
    budget = OutboundBudget("memory://", prefix=f"t{uuid.uuid4().hex}", budget=2)
    assert [budget.try_acquire("x") for _ in range(3)] == [True, True, False]


@pytest.mark.redis
def test_a_429_pauses_every_worker_and_no_call_is_made_while_paused(prefix: str, fake_spotify: Any) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        pauses = RedisPauses(client, prefix=prefix + "pause:")
        first = GuardedSession("spotify", pauses=pauses, budget=None, wait=0)
        second = GuardedSession("spotify", pauses=pauses, budget=None, wait=0)
        fake_spotify.rate_limit("/v1/", retry_after=86400, times=None)
        started = time.monotonic()
        response = first.get(fake_spotify.api_url + "me", timeout=2)
        assert response.status_code == 429 and time.monotonic() - started < 2
        calls = len(fake_spotify.calls)
        with pytest.raises(UpstreamPaused) as caught:
            second.get(fake_spotify.api_url + "me", timeout=2)
        assert caught.value.retry_after and caught.value.retry_after > 86000
        assert len(fake_spotify.calls) == calls
        assert 86000 < client.ttl(prefix + "pause:spotify") <= 86400
        first.close()
        second.close()
    finally:
        client.close()


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("1") == 1
    assert retry_after_seconds("86400") == 86400
    assert retry_after_seconds("10000000") == 7 * 24 * 3600  # capped
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 60
    assert retry_after_seconds(None) == 60


def test_memory_pause_stops_calls(fake_spotify: Any) -> None:
    pauses = MemoryPauses()
    pauses.pause("spotify", 30)
    with (
        GuardedSession("spotify", pauses=pauses, budget=None, wait=0) as session,
        pytest.raises(UpstreamPaused),
    ):
        session.get(fake_spotify.api_url + "me", timeout=2)
    assert fake_spotify.calls == []
