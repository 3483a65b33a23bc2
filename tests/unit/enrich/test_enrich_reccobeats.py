"""The ReccoBeats provider against the local ReccoBeats double: features by Spotify id, and failures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fanapp.enrich.providers import (
    ProviderPaused,
    ProviderRateLimited,
    ProviderUnavailable,
    ReccoBeats,
    Throttle,
)
from fanapp.upstream.pauses import MemoryPauses
from tests.fakes.reccobeats import FakeReccoBeats

SP_A = "4uLU6hMCjMI75M1A2tKUQC"
SP_B = "7ouMYWpwJ422jRcDASZB7P"
SP_UNKNOWN = "0000000000000000000000"


@pytest.fixture
def fake() -> Iterator[FakeReccoBeats]:
    with FakeReccoBeats.running() as double:
        double.add(SP_A, tempo=101.0, key=7, mode=0, energy=0.8, valence=0.3)
        double.add(SP_B)
        yield double


@pytest.fixture
def pauses() -> MemoryPauses:
    return MemoryPauses()


@pytest.fixture
def recco(fake: FakeReccoBeats, pauses: MemoryPauses) -> Iterator[ReccoBeats]:
    with ReccoBeats(
        fake.base_url,
        pauses=pauses,
        timeout=0.5,
        throttle=Throttle(concurrency=2, min_interval=0),
        backoff=0.01,
    ) as provider:
        yield provider


def test_success_and_missing_ids(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    result = recco.fetch([SP_A, SP_B, SP_UNKNOWN])
    assert set(result) == {SP_A, SP_B}  # unknown ids are simply absent
    assert result[SP_A] == {
        "tempo": 101.0,
        "key": 7.0,
        "mode": 0.0,
        "energy": 0.8,
        "valence": 0.3,
        "danceability": 0.64,
        "acousticness": 0.12,
        "instrumentalness": 0.0001,
        "speechiness": 0.04,
    }
    assert fake.calls == [[SP_A, SP_B, SP_UNKNOWN]]  # one call for the batch


def test_all_missing(recco: ReccoBeats) -> None:
    assert recco.fetch([SP_UNKNOWN]) == {}


def test_batch_limit(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    ids = [f"{i:022d}" for i in range(ReccoBeats.max_batch)]
    assert recco.fetch(ids) == {}
    with pytest.raises(ValueError, match="at most 40"):
        recco.fetch([*ids, SP_A])
    assert len(fake.calls) == 1


def test_404_and_400_are_not_misses(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    fake.fail(404, body={"error": "Not Found"})
    with pytest.raises(ProviderUnavailable, match="404"):
        recco.fetch([SP_A])
    fake.fail(400, body={"error": "Bad Request"})
    with pytest.raises(ProviderUnavailable, match="400"):
        recco.fetch([SP_A])


def test_unreadable_answer(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    fake.fail(200, body=["not", "the", "shape"])
    with pytest.raises(ProviderUnavailable):
        recco.fetch([SP_A])


@pytest.mark.parametrize("retry_after", [1, 86400])
def test_429_returns_at_once_and_pauses(
    recco: ReccoBeats,
    fake: FakeReccoBeats,
    pauses: MemoryPauses,
    retry_after: int,
    own_sleeps: list[float],
) -> None:
    fake.fail(429, headers={"Retry-After": str(retry_after)}, body={"error": "Too Many Requests"})
    sleeps = own_sleeps
    with pytest.raises(ProviderRateLimited) as caught:
        recco.fetch([SP_A])
    # At once: asked once, never retried, no wait toward the Retry-After (counted, not timed).
    assert len(fake.calls) == 1 and not [s for s in sleeps if s >= 0.5], (fake.calls, sleeps)
    assert caught.value.retry_after == retry_after
    until = pauses.paused_until("reccobeats")
    assert until is not None and until == pytest.approx(time.time() + retry_after, abs=2)
    for _ in range(3):
        with pytest.raises(ProviderPaused):
            recco.fetch([SP_A, SP_B])
    assert len(fake.calls) == 1


def test_429_without_retry_after_still_pauses(
    recco: ReccoBeats, fake: FakeReccoBeats, pauses: MemoryPauses
) -> None:
    fake.fail(429)
    with pytest.raises(ProviderRateLimited):
        recco.fetch([SP_A])
    assert pauses.paused_until("reccobeats") is not None


def test_timeout(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    fake.fail(delay=30)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="in time"):
        recco.fetch([SP_A])
    # Not a speed bound: a client that waited for the answer takes the whole 30 s delay.
    assert time.monotonic() - started < 15


def test_5xx_burst_then_success(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    fake.fail(502, times=2)
    assert set(recco.fetch([SP_A, SP_B])) == {SP_A, SP_B}
    assert len(fake.calls) == 3


def test_5xx_retries_are_bounded(recco: ReccoBeats, fake: FakeReccoBeats, pauses: MemoryPauses) -> None:
    fake.fail(500, times=None)
    with pytest.raises(ProviderUnavailable, match="500"):
        recco.fetch([SP_A])
    assert len(fake.calls) == ReccoBeats.retries + 1
    with pytest.raises(ProviderPaused):
        recco.fetch([SP_A])
    assert len(fake.calls) == ReccoBeats.retries + 1


def test_only_spotify_ids(recco: ReccoBeats, fake: FakeReccoBeats) -> None:
    with pytest.raises(ValueError, match="Spotify track ids"):
        recco.fetch(["local:abcdef"])
    assert fake.calls == []
