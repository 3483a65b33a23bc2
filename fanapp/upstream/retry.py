"""The one retry policy for every outbound call, on tenacity.

Retried: a 5xx, an answer the caller calls "busy" (Deezer's code 700 and Last.fm's 8/11/16 come with
HTTP 200), and a connection that broke after it was made (a pooled keep-alive connection the server had
closed: the case a retry fixes). Never retried: a 429 (it sets the pause flag instead; nobody sleeps on
it), a timeout (the caller has already waited its timeout once), a refused connection or an unknown host
(nobody listens there; a retry a moment later only adds waiting), and methods that are not idempotent
(a POST that created a playlist before the 5xx would create a second one).

Why tenacity and not urllib3's `Retry`: urllib3 retries inside the transport adapter, below
`GuardedSession.request`, so its retries would skip the pause flag and the call budget; it cannot look at
a body (Deezer's and Last.fm's errors in a 200) either. Here each attempt is a whole guarded call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import requests
import tenacity
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.util import Retry

log = logging.getLogger(__name__)

T = TypeVar("T")

# urllib3's own list of methods safe to repeat: GET, HEAD, PUT, DELETE, OPTIONS, TRACE.
IDEMPOTENT: Final = Retry.DEFAULT_ALLOWED_METHODS


def broken_connection(exc: BaseException) -> bool:
    """True for a connection that failed after it was made (reset, dropped, cut off mid-body)."""
    if isinstance(exc, requests.Timeout):
        return False
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.exceptions.SSLError):
        return False
    cause = exc.args[0] if exc.args else None
    return not (isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError))


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more attempts after the first, `backoff` * 2**n seconds apart (0.2 s, 0.4 s by default)."""

    retries: int = 2
    backoff: float = 0.2

    def call(
        self,
        attempt: Callable[[], T],
        *,
        method: str,
        retry_answer: Callable[[T], bool],
        out_of_time: Callable[[float], bool],
        name: str,
    ) -> T:
        """Run `attempt` under the policy and return its last answer (or raise its last exception).

        `retry_answer` says whether an answer is a temporary failure; `out_of_time(sleep)` whether
        sleeping `sleep` seconds before another attempt would pass the call's deadline.
        """
        idempotent = method.upper() in IDEMPOTENT

        def again(state: tenacity.RetryCallState) -> bool:
            if not idempotent or state.outcome is None:
                return False
            if state.outcome.failed:
                exc = state.outcome.exception()
                return exc is not None and broken_connection(exc)
            return retry_answer(state.outcome.result())

        def give_up(state: tenacity.RetryCallState) -> bool:
            return state.attempt_number > self.retries or out_of_time(state.upcoming_sleep)

        def last_outcome(state: tenacity.RetryCallState) -> T:
            assert state.outcome is not None
            result: T = state.outcome.result()  # raises the last exception, if that is how it ended
            return result

        def note(state: tenacity.RetryCallState) -> None:
            # Only the upstream's name and what went wrong: URLs carry API keys (Last.fm) and ids.
            outcome = state.outcome
            what = (
                type(outcome.exception()).__name__
                if outcome is not None and outcome.failed
                else getattr(outcome.result() if outcome is not None else None, "status_code", "?")
            )
            log.info("upstream %s: %s, attempt %d, retrying", name, what, state.attempt_number)

        retrying = tenacity.Retrying(
            retry=again,
            stop=give_up,
            wait=tenacity.wait_exponential(multiplier=self.backoff, exp_base=2, min=0),
            before_sleep=note,
            retry_error_callback=last_outcome,
        )
        return retrying(attempt)


DEFAULT_POLICY: Final = RetryPolicy()
