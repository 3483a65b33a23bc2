"""`RedisPauses` on the Redis at 127.0.0.1:6379: flags shared between workers, expiring on their own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from fanapp.config import Settings
from fanapp.enrich.providers import ProviderPaused, ProviderRateLimited, ReccoBeats, Throttle
from fanapp.upstream.pauses import RedisPauses, fail_fast_redis, pause_store
from tests.fakes.reccobeats import FakeReccoBeats

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"
SP_A = "4uLU6hMCjMI75M1A2tKUQC"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    mine = f"fanapp-test:{uuid.uuid4().hex}:pause:"
    try:
        yield mine
    finally:
        keys = list(client.scan_iter(match=mine + "*"))
        if keys:
            client.delete(*keys)


def test_pause_is_a_key_with_an_expiry(client: redis.Redis, prefix: str) -> None:
    pauses = RedisPauses(client, prefix)
    assert pauses.paused_until("reccobeats") is None
    until = pauses.pause("reccobeats", 86400)
    assert until == pytest.approx(time.time() + 86400, abs=5)
    assert client.pttl(prefix + "reccobeats") == pytest.approx(86_400_000, abs=10_000)
    assert pauses.paused_until("reccobeats") == pytest.approx(until, abs=0.01)

    other_worker = RedisPauses(client, prefix)
    assert other_worker.paused_until("reccobeats") == pytest.approx(until, abs=0.01)
    assert other_worker.paused_until("deezer") is None


def test_pause_never_shortens_and_resume_clears(client: redis.Redis, prefix: str) -> None:
    pauses = RedisPauses(client, prefix)
    long = pauses.pause("spotify", 3600)
    assert pauses.pause("spotify", 1) == pytest.approx(long, abs=0.01)
    assert client.pttl(prefix + "spotify") > 3_000_000
    pauses.resume("spotify")
    assert client.exists(prefix + "spotify") == 0
    assert pauses.paused_until("spotify") is None


def test_pause_expires(client: redis.Redis, prefix: str) -> None:
    pauses = RedisPauses(client, prefix)
    pauses.pause("deezer", 0.2)
    assert pauses.paused_until("deezer") is not None
    time.sleep(0.3)
    assert pauses.paused_until("deezer") is None
    assert client.exists(prefix + "deezer") == 0


def test_redis_down_falls_back_to_this_process() -> None:
    down = fail_fast_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        pauses = RedisPauses(down, "fanapp-test:down:")
        started = time.monotonic()
        assert pauses.paused_until("reccobeats") is None
        pauses.pause("reccobeats", 60)
        assert pauses.paused_until("reccobeats") is not None
        assert time.monotonic() - started < 1  # an outage costs no waiting
    finally:
        down.close()


def test_a_429_in_one_worker_stops_the_others(client: redis.Redis, prefix: str) -> None:
    with FakeReccoBeats.running() as fake:
        fake.add(SP_A)
        fake.fail(429, headers={"Retry-After": "86400"})
        workers = [
            ReccoBeats(
                fake.base_url, pauses=RedisPauses(client, prefix), timeout=0.5, throttle=Throttle(2, 0)
            )
            for _ in range(2)
        ]
        try:
            with pytest.raises(ProviderRateLimited):
                workers[0].fetch([SP_A])
            with pytest.raises(ProviderPaused):
                workers[1].fetch([SP_A])
        finally:
            for worker in workers:
                worker.close()
        assert len(fake.calls) == 1
    assert client.pttl(prefix + "reccobeats") > 86_000_000


def test_pause_store_uses_redis_when_configured() -> None:
    prefix = f"fanapp-test:{uuid.uuid4().hex}:"
    store = pause_store(Settings(env="test").override(redis_url=REDIS_URL, redis_prefix=prefix))
    assert isinstance(store, RedisPauses)
    assert store.key("deezer") == prefix + "pause:deezer"
    assert pause_store(Settings(env="test")) is not store
