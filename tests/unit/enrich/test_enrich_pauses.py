"""The in-process pause store and the per-upstream throttle."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from fanapp.enrich.providers import ProviderUnavailable, Throttle
from fanapp.upstream.pauses import MemoryPauses


class FakeClock:
    """Epoch seconds that only move when told."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_memory_pause_until_and_expiry() -> None:
    clock = FakeClock()
    pauses = MemoryPauses(clock)
    assert pauses.paused_until("deezer") is None
    until = pauses.pause("deezer", 5)
    assert until == clock.now + 5
    assert pauses.paused_until("deezer") == until
    assert pauses.paused_until("reccobeats") is None
    clock.now += 5
    assert pauses.paused_until("deezer") is None


def test_memory_pause_never_shortens() -> None:
    clock = FakeClock()
    pauses = MemoryPauses(clock)
    long = pauses.pause("spotify", 3600)
    assert pauses.pause("spotify", 1) == long
    assert pauses.paused_until("spotify") == long


def test_memory_resume() -> None:
    pauses = MemoryPauses()
    pauses.pause("reccobeats", 60)
    pauses.resume("reccobeats")
    assert pauses.paused_until("reccobeats") is None


def test_throttle_caps_concurrency_and_fails_fast() -> None:
    throttle = Throttle(concurrency=1, min_interval=0)
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with throttle.slot("x", wait=1):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable, match="too many calls"), throttle.slot("x", wait=0.1):
            pass
        assert time.monotonic() - started < 1
    finally:
        release.set()
        holder.join(5)
    with throttle.slot("x", wait=0.1):
        pass


def test_throttle_spaces_calls() -> None:
    throttle = Throttle(concurrency=4, min_interval=0.05)
    starts: list[float] = []
    for _ in range(4):
        with throttle.slot("x", wait=1):
            starts.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Half the interval: the point is that calls are spaced at all (unthrottled they are microseconds
    # apart); a busy machine can delay when a start is recorded, never make the throttle wait less.
    assert all(gap >= 0.025 for gap in gaps), gaps
