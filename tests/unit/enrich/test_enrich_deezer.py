"""The Deezer provider against the local Deezer double: tempo by ISRC, and every way it can go wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fanapp.enrich.providers import (
    Deezer,
    ProviderPaused,
    ProviderRateLimited,
    ProviderUnavailable,
    Throttle,
)
from fanapp.upstream.pauses import MemoryPauses
from tests.fakes.deezer import QUOTA_EXCEEDED, SERVICE_BUSY, FakeDeezer

KNOWN = "GBAYE0601498"
NO_BPM = "USUM71703861"
UNKNOWN = "FRZ110000000"


@pytest.fixture
def fake() -> Iterator[FakeDeezer]:
    with FakeDeezer.running() as double:
        double.add(KNOWN, bpm=123.4)
        double.add(NO_BPM, bpm=0)
        yield double


@pytest.fixture
def pauses() -> MemoryPauses:
    return MemoryPauses()


@pytest.fixture
def deezer(fake: FakeDeezer, pauses: MemoryPauses) -> Iterator[Deezer]:
    with Deezer(
        fake.base_url,
        pauses=pauses,
        timeout=0.5,
        throttle=Throttle(concurrency=4, min_interval=0),
        backoff=0.01,
    ) as provider:
        yield provider


def test_success(deezer: Deezer, fake: FakeDeezer) -> None:
    assert deezer.fetch([KNOWN]) == {KNOWN: {"tempo": 123.4}}
    assert fake.calls == [f"/track/isrc:{KNOWN}"]


def test_unknown_isrc_is_a_miss(deezer: Deezer, fake: FakeDeezer) -> None:
    # Deezer answers HTTP 200 with {"error": {"code": 800, "message": "no data"}}.
    assert deezer.fetch([UNKNOWN]) == {}
    assert len(fake.calls) == 1


def test_bpm_zero_is_a_miss(deezer: Deezer) -> None:
    assert deezer.fetch([NO_BPM]) == {}


def test_http_404_is_not_a_miss(deezer: Deezer, fake: FakeDeezer, pauses: MemoryPauses) -> None:
    # Deezer never answers 404 for "no data": a 404 means a wrong base URL, which must not cache misses.
    fake.fail(404, body={"error": "not found"})
    with pytest.raises(ProviderUnavailable, match="404"):
        deezer.fetch([KNOWN])
    assert pauses.paused_until("deezer") is None


@pytest.mark.parametrize("retry_after", [1, 86400])
def test_429_returns_at_once_and_pauses(
    deezer: Deezer,
    fake: FakeDeezer,
    pauses: MemoryPauses,
    retry_after: int,
    own_sleeps: list[float],
) -> None:
    fake.fail(429, headers={"Retry-After": str(retry_after)}, body={})
    sleeps = own_sleeps
    with pytest.raises(ProviderRateLimited) as caught:
        deezer.fetch([KNOWN])
    # At once: asked once, never retried, no wait toward the Retry-After (counted, not timed).
    assert len(fake.calls) == 1 and not [s for s in sleeps if s >= 0.5], (fake.calls, sleeps)
    assert caught.value.retry_after == retry_after
    until = pauses.paused_until("deezer")
    assert until is not None and until == pytest.approx(time.time() + retry_after, abs=2)
    with pytest.raises(ProviderPaused):
        deezer.fetch([KNOWN])
    assert len(fake.calls) == 1  # nothing more reached Deezer while paused


def test_pause_ends(deezer: Deezer, fake: FakeDeezer, pauses: MemoryPauses) -> None:
    fake.fail(429, headers={"Retry-After": "1"})
    with pytest.raises(ProviderRateLimited):
        deezer.fetch([KNOWN])
    time.sleep(1.05)
    assert deezer.fetch([KNOWN]) == {KNOWN: {"tempo": 123.4}}
    assert len(fake.calls) == 2


def test_quota_error_in_a_200_is_a_rate_limit(deezer: Deezer, fake: FakeDeezer, pauses: MemoryPauses) -> None:
    fake.fail(200, body=QUOTA_EXCEEDED)
    with pytest.raises(ProviderRateLimited) as caught:
        deezer.fetch([KNOWN])
    assert caught.value.retry_after == Deezer.quota_pause
    assert pauses.paused_until("deezer") is not None


def test_timeout_fails_fast_and_pauses_briefly(
    deezer: Deezer, fake: FakeDeezer, pauses: MemoryPauses
) -> None:
    fake.fail(delay=30)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="in time"):
        deezer.fetch([KNOWN])
    # Not a speed bound: a client that waited for the answer takes the whole 30 s delay.
    assert time.monotonic() - started < 15
    assert pauses.paused_until("deezer") is not None  # the next visitor does not wait again


def test_5xx_burst_is_retried(deezer: Deezer, fake: FakeDeezer) -> None:
    fake.fail(503, body={"error": "unavailable"}, times=2)
    assert deezer.fetch([KNOWN]) == {KNOWN: {"tempo": 123.4}}
    assert len(fake.calls) == 3


def test_service_busy_in_a_200_is_retried(deezer: Deezer, fake: FakeDeezer) -> None:
    fake.fail(200, body=SERVICE_BUSY)
    assert deezer.fetch([KNOWN]) == {KNOWN: {"tempo": 123.4}}
    assert len(fake.calls) == 2


def test_5xx_retries_are_bounded(deezer: Deezer, fake: FakeDeezer, pauses: MemoryPauses) -> None:
    fake.fail(500, times=None)
    with pytest.raises(ProviderUnavailable, match="500"):
        deezer.fetch([KNOWN])
    assert len(fake.calls) == Deezer.retries + 1
    assert pauses.paused_until("deezer") is not None


def test_unreachable(pauses: MemoryPauses) -> None:
    with FakeDeezer.running() as gone:
        url = gone.base_url
    with (
        Deezer(url, pauses=pauses, timeout=0.5, throttle=Throttle(1, 0)) as provider,
        pytest.raises(ProviderUnavailable, match="reached"),
    ):
        provider.fetch([KNOWN])


def test_only_canonical_isrcs(deezer: Deezer, fake: FakeDeezer) -> None:
    with pytest.raises(ValueError, match="ISRC"):
        deezer.fetch(["../../user/me"])
    with pytest.raises(ValueError, match="at most 1"):
        deezer.fetch([KNOWN, NO_BPM])
    assert fake.calls == []
