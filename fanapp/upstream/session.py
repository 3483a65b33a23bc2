"""The one guarded session every outbound client uses: spotipy's clients, Last.fm, the feature providers
and the cover fetcher.

Spotify counts calls per app in a rolling 30-second window and may answer 429 with a Retry-After of
hours. So, before each attempt (retries included): the upstream's pause flag is checked (and the call
refused at once while it is set), then one call is taken from the upstream's budget. A 429 never makes a
worker sleep: it sets the shared "paused until" flag for as long as Retry-After says. 5xx bursts and
broken connections are retried under the one policy (`fanapp.upstream.retry`). Every call has a timeout,
and its body is read against a cap in bytes and a deadline (`fanapp.upstream.reading`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import requests

from fanapp.config import Settings
from fanapp.errors import FanappError
from fanapp.upstream.budget import OutboundBudget, budget_of
from fanapp.upstream.pauses import PauseStore, pause_store
from fanapp.upstream.reading import BodyTooLarge, DeadlineExceeded, read_bounded
from fanapp.upstream.retry import DEFAULT_POLICY, RetryPolicy
from fanapp.upstream.retry_after import MAX_RETRY_AFTER, retry_after_seconds

__all__ = [
    "MAX_RETRY_AFTER",
    "BodyTooLarge",
    "DeadlineExceeded",
    "GuardedSession",
    "RetryPolicy",
    "UpstreamPaused",
    "guarded_session",
    "retry_after_seconds",
]

DEFAULT_TIMEOUT: Final = 5.0
# The largest answer we ask for is a page of 50 Spotify tracks with their market lists (under 1 MB);
# 8 MB leaves room for that and refuses a runaway answer.
MAX_BODY: Final = 8 * 1024 * 1024
# Names a visitor may read in a message about a paused upstream.
LABELS: Final = {"spotify": "Spotify", "lastfm": "Last.fm", "reccobeats": "ReccoBeats", "deezer": "Deezer"}

Timeout = float | tuple[float, float]


class UpstreamPaused(FanappError):
    """The upstream asked us to wait, or its budget is spent; no call was made.

    `retry_after` is the honest wait in seconds, `until` the same as epoch seconds.
    """

    def __init__(self, message: str, *, retry_after: int | None = None, until: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.until = until if until is not None else time.time() + (retry_after or 0)


def _within(timeout: Timeout, remaining: float) -> Timeout:
    """The per-read timeout, never longer than what is left of the call's deadline."""
    left = max(remaining, 0.001)
    if isinstance(timeout, tuple):
        return (min(timeout[0], left), min(timeout[1], left))
    return min(timeout, left)


def _longest(timeout: Timeout) -> float:
    return max(timeout) if isinstance(timeout, tuple) else timeout


class GuardedSession(requests.Session):
    """A requests session for one upstream: pause flag and budget before each attempt, the retry policy,
    bounded body reads, a timeout on every call, and the pause flag set on a 429.

    A 429 is returned to the caller (after setting the flag), as is the last 5xx once retries are spent,
    so each caller keeps its own error messages. Responses come back fully read: `.content`, `.json()`
    and `.text` work as usual, and `stream=True` from a caller changes nothing.
    """

    def __init__(
        self,
        upstream: str,
        *,
        pauses: PauseStore,
        budget: OutboundBudget | None = None,
        wait: float = 0.0,
        label: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_bytes: int = MAX_BODY,
        policy: RetryPolicy = DEFAULT_POLICY,
        retry_when: Callable[[requests.Response], bool] | None = None,
    ) -> None:
        """A session for `upstream` (the pause flag's and the budget's name).

        `wait`: how long an attempt may wait for room in the budget (jobs only; web requests pass 0).
        `timeout`: per connect and read, when the caller gives none. `deadline`: seconds for the whole
        call, attempts, pauses between them and body included (default: three timeouts).
        `retry_when`: says whether an answer that is not a 5xx is a temporary failure worth a retry.
        """
        super().__init__()
        self.upstream = upstream
        self.label = label or LABELS.get(upstream, upstream)
        self.pauses = pauses
        self.budget = budget
        self.wait = wait
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.policy = policy
        self.retry_when = retry_when
        self.prepaid = 0  # calls already taken from the budget by `reserve`

    def reserve(self, calls: int) -> None:
        """Take the next `calls` calls from the budget at once (waiting up to `wait` for room for all of
        them), so a job's calls are made together instead of each racing other jobs' for the room a
        window frees: a job that got some of its calls and waits a whole window for the rest keeps its
        worker and every visitor queued behind it. Raises `UpstreamPaused` as a call would."""
        if self.budget is None or calls <= 0:
            return
        calls = min(calls, self.budget.calls)
        if not self.budget.acquire(self.upstream, wait=self.wait, cost=calls):
            self._queueing()
        self.prepaid += calls

    def _queueing(self) -> None:
        assert self.budget is not None
        retry_after = max(1, int(self.budget.seconds_until_room(self.upstream)))
        raise UpstreamPaused(
            f"Many fans are connecting right now, so we are queueing calls to {self.label}.",
            retry_after=retry_after,
        )

    def _guard(self, wait: float) -> None:
        """Refuse while paused, else take one call from the budget (waiting up to `wait` for room), or
        from what `reserve` took."""
        until = self.pauses.paused_until(self.upstream)
        if until is not None:
            raise UpstreamPaused(
                f"{self.label} asked us to slow down, so we are waiting before we call it again.",
                retry_after=max(1, int(until - time.time())),
                until=until,
            )
        if self.prepaid > 0:
            self.prepaid -= 1
            return
        if self.budget is not None and not self.budget.acquire(self.upstream, wait=wait):
            self._queueing()

    @staticmethod
    def _retry_answer(response: requests.Response, busy: Callable[[requests.Response], bool] | None) -> bool:
        if response.status_code >= 500:
            return True
        return busy is not None and response.status_code != 429 and busy(response)

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        *,
        max_bytes: int | None = None,
        deadline: float | None = None,
        retry_when: Callable[[requests.Response], bool] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One guarded call (keyword arguments as `requests`'); `max_bytes`, `deadline` and `retry_when`
        override the session's for this call only.

        Raises `UpstreamPaused` (no request sent) while paused or over budget, `BodyTooLarge` and
        `DeadlineExceeded` for an answer too big or too slow, and `requests`' exceptions otherwise.
        """
        timeout: Timeout = kwargs.pop("timeout", None) or self.timeout
        kwargs.pop("stream", None)  # always streamed: the body is read here, within bounds
        cap = max_bytes if max_bytes is not None else self.max_bytes
        busy = retry_when or self.retry_when
        seconds = deadline if deadline is not None else self.deadline or 3 * _longest(timeout)
        ends: float | None = None  # starts once the first attempt may go: a job's wait for room is ours

        def attempt() -> requests.Response:
            nonlocal ends
            if ends is None:
                self._guard(self.wait)
                ends = time.monotonic() + seconds
            else:
                self._guard(min(self.wait, max(0.0, ends - time.monotonic())))
            remaining = ends - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(f"{self.upstream}: no time left for another attempt")
            response = super(GuardedSession, self).request(
                method,
                url,
                stream=True,
                timeout=_within(timeout, remaining),
                **kwargs,
            )
            if response.status_code == 429:  # before the body: a 429 whose body is unreadable still pauses
                self.pauses.pause(self.upstream, retry_after_seconds(response.headers.get("Retry-After")))
            try:
                body = read_bounded(response, max_bytes=cap, deadline=ends)
            except BaseException:
                response.close()
                raise
            # requests' own cache of a read body: .content, .json() and .text answer from it.
            response._content = body
            response._content_consumed = True  # type: ignore[attr-defined]
            return response

        def out_of_time(sleep: float) -> bool:
            return ends is not None and time.monotonic() + sleep >= ends

        return self.policy.call(
            attempt,
            method=method.decode() if isinstance(method, bytes) else method,
            retry_answer=lambda response: self._retry_answer(response, busy),
            out_of_time=out_of_time,
            name=self.upstream,
        )


def guarded_session(
    settings: Settings,
    upstream: str = "spotify",
    *,
    wait: float = 0.0,
    pauses: PauseStore | None = None,
    counted: bool = True,
    **options: Any,
) -> GuardedSession:
    """A session for `upstream` with the app's pause store and (for Spotify) its call budget.

    `pauses` replaces the app's store (tests); `counted=False`: calls honour the pause flag but take
    nothing from the budget (Spotify's accounts service, which its Web API window does not count);
    `options` are `GuardedSession`'s (timeout, deadline, …); the timeout defaults to `UPSTREAM_TIMEOUT`.
    """
    options.setdefault("timeout", settings.upstream_timeout)
    return GuardedSession(
        upstream,
        pauses=pauses if pauses is not None else pause_store(settings),
        budget=budget_of(settings, upstream) if counted else None,
        wait=wait,
        **options,
    )
