"""How long a queued import waits for a worker (each import takes the first worker free), and how often
its page asks again."""

from __future__ import annotations

import pytest

from fanapp.importing.jobs import _by_workers, poll_seconds


@pytest.mark.parametrize(
    ("started", "ahead", "expected"),
    [
        ([], 0, 2.0),  # a free worker takes it at once: one import's time
        ([], 3, 2.0),  # four workers free, three imports ahead: still at once
        ([0.0] * 4, 0, 4.0),  # four just started: the first ends in 2 s, then this one
        ([1.5, 0.5, 0.0, 0.0], 0, 2.5),  # the oldest is 1.5 s in: free in 0.5 s
        ([0.0] * 4, 4, 6.0),  # four ahead take the four freed workers; this one the next round
        ([9.0, 0.0, 0.0, 0.0], 0, 2.2),  # one already late: taken to end in a tenth of an import
        ([0.0, 0.0], 1, 2.0),  # two of four busy, one ahead: a free worker each
    ],
)
def test_each_import_takes_the_first_worker_free(started: list[float], ahead: int, expected: float) -> None:
    assert _by_workers(started, ahead, 4, 2.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("wait", "poll"), [(0.0, 1), (3.0, 1), (19.9, 1), (20.0, 2), (33.0, 3), (58.0, 4), (600.0, 4)]
)
def test_a_long_wait_is_polled_less_often(wait: float, poll: int) -> None:
    assert poll_seconds(wait) == poll
