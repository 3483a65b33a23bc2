"""The one guarded session: pause flag and budget before every attempt, the retry policy, Retry-After
parsed once, bounded body reads and a timeout on every call, against a small scripted local server."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import urllib3.util.retry
from hypothesis import given
from hypothesis import strategies as st

from fanapp.upstream.budget import OutboundBudget
from fanapp.upstream.pauses import MemoryPauses
from fanapp.upstream.retry_after import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER, retry_after_seconds
from fanapp.upstream.session import (
    BodyTooLarge,
    DeadlineExceeded,
    GuardedSession,
    RetryPolicy,
    UpstreamPaused,
)
from tests.fakes.http import BackgroundServer, drip

FAST = RetryPolicy(retries=2, backoff=0.01)


@dataclass
class Answer:
    """One scripted answer: a status and body, a dropped connection, a drip, or a hang."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    drip_every: float = 0.0  # send the body one byte at a time, this many seconds apart
    hang: float = 0.0  # wait this long before answering
    then: Callable[[], None] | None = None  # run when the request arrives


class Scripted:
    """A local server answering from a script (then 200 `{"ok": true}`), recording each request."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[str] = []
        self.sent: list[int] = []  # the dripped bytes sent so far
        self.stop = threading.Event()
        self.server = BackgroundServer(self.app)

    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.requests.append(environ["REQUEST_METHOD"])
        answer = self.script.pop(0) if self.script else Answer()
        if answer.then is not None:
            answer.then()
        if answer.drop:
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return []
        if answer.hang:
            self.stop.wait(answer.hang)
        headers = [("Content-Type", "application/json"), *answer.headers.items()]
        start_response(f"{answer.status} Scripted", headers)
        if answer.drip_every:
            return drip(answer.body, answer.drip_every, self.stop, self.sent)
        return [answer.body]

    @property
    def url(self) -> str:
        return self.server.base_url + "/api"


@pytest.fixture
def upstream() -> Iterator[Scripted]:
    scripted = Scripted()
    with scripted.server:
        try:
            yield scripted
        finally:
            scripted.stop.set()


def budget(calls: int) -> OutboundBudget:
    return OutboundBudget("memory://", prefix=f"test-{uuid.uuid4().hex}", budget=calls)


def session(pauses: MemoryPauses | None = None, **options: Any) -> GuardedSession:
    options.setdefault("policy", FAST)
    options.setdefault("timeout", 2.0)
    return GuardedSession("x", pauses=pauses or MemoryPauses(), **options)


# -- Retry-After, parsed once ------------------------------------------------------------------


def test_retry_after_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Moved here from enrich.features with its parser. urllib3's parser reads the clock itself, so the
    # HTTP-date case freezes urllib3's clock at `now` instead of passing `now` in.
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds("86400") == 86400.0
    assert retry_after_seconds("999999") == MAX_RETRY_AFTER
    assert retry_after_seconds("0") == 1.0
    assert retry_after_seconds(None) == DEFAULT_RETRY_AFTER
    assert retry_after_seconds("soon") == DEFAULT_RETRY_AFTER
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(urllib3.util.retry, "time", SimpleNamespace(time=now.timestamp))
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=120), usegmt=True)) == 120.0


@given(st.one_of(st.none(), st.text(max_size=60), st.integers(-(10**30), 10**30).map(str)))
def test_any_retry_after_is_a_wait_within_bounds(value: str | None) -> None:
    assert 1.0 <= retry_after_seconds(value) <= MAX_RETRY_AFTER


# -- before every attempt: the pause flag, then the budget ---------------------------------------


def test_every_attempt_retries_included_takes_one_call_from_the_budget(upstream: Scripted) -> None:
    spotify = budget(10)
    upstream.script = [Answer(503), Answer(502)]
    with session(budget=spotify) as s:
        assert s.get(upstream.url).json() == {"ok": True}
    assert len(upstream.requests) == 3
    assert spotify.remaining("x") == 7


def test_a_spent_budget_stops_the_retries_without_a_request(upstream: Scripted) -> None:
    upstream.script = [Answer(503), Answer(503)]
    with session(budget=budget(2)) as s, pytest.raises(UpstreamPaused, match="queueing"):
        s.get(upstream.url)
    assert len(upstream.requests) == 2


def test_the_pause_flag_is_checked_before_each_attempt(upstream: Scripted) -> None:
    pauses = MemoryPauses()
    # Another worker got a 429 while this one's first attempt was answered 503.
    upstream.script = [Answer(503, then=lambda: pauses.pause("x", 30))]
    with session(pauses) as s, pytest.raises(UpstreamPaused) as caught:
        s.get(upstream.url)
    assert len(upstream.requests) == 1
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 30


def test_a_429_is_never_retried_and_pauses_for_its_retry_after(upstream: Scripted) -> None:
    pauses = MemoryPauses()
    upstream.script = [Answer(429, headers={"Retry-After": "86400"})]
    with session(pauses) as s:
        assert s.get(upstream.url).status_code == 429
        with pytest.raises(UpstreamPaused, match="slow down"):
            s.get(upstream.url)
    assert len(upstream.requests) == 1
    until = pauses.paused_until("x")
    assert until is not None
    assert until - datetime.now(UTC).timestamp() == pytest.approx(86400, abs=60)


# -- the retry policy ---------------------------------------------------------------------------


def test_5xx_retries_are_bounded_and_the_last_answer_is_returned(upstream: Scripted) -> None:
    upstream.script = [Answer(500), Answer(502), Answer(503), Answer(200)]
    with session() as s:
        assert s.get(upstream.url).status_code == 503
    assert len(upstream.requests) == 3


def test_a_post_is_not_repeated(upstream: Scripted) -> None:
    upstream.script = [Answer(503)]
    with session() as s:
        assert s.post(upstream.url, data=b"{}").status_code == 503
    assert upstream.requests == ["POST"]


def test_a_dropped_connection_is_retried(upstream: Scripted) -> None:
    upstream.script = [Answer(drop=True)]
    with session() as s:
        assert s.get(upstream.url).json() == {"ok": True}
    assert len(upstream.requests) == 2


def test_a_refused_connection_is_not_retried() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
    spotify = budget(10)
    with session(budget=spotify) as s, pytest.raises(requests.ConnectionError):
        s.get(url)
    assert spotify.remaining("x") == 9  # one attempt


def test_an_answer_the_caller_calls_busy_is_retried(upstream: Scripted) -> None:
    upstream.script = [Answer(200, body=b'{"error": 16}')]

    def busy(response: requests.Response) -> bool:
        return bool(response.json().get("error") == 16)

    with session(retry_when=busy) as s:
        assert s.get(upstream.url).json() == {"ok": True}
    assert len(upstream.requests) == 2


# -- bounded reads and a timeout on every call -----------------------------------------------------


def test_a_declared_oversize_answer_is_refused_unread(upstream: Scripted) -> None:
    upstream.script = [Answer(body=b"x" * 5000, headers={"Content-Length": "5000"})]
    with session(max_bytes=1000) as s, pytest.raises(BodyTooLarge, match="5000"):
        s.get(upstream.url)


def test_an_endless_answer_stops_at_the_cap(upstream: Scripted) -> None:
    upstream.script = [Answer(body=b"x" * 300, drip_every=0.001)]  # no Content-Length: chunked
    with session(max_bytes=100) as s, pytest.raises(BodyTooLarge):
        s.get(upstream.url)


def test_a_slow_drip_is_abandoned_at_the_deadline(upstream: Scripted) -> None:
    # One byte every half second never trips the 2 s read timeout; the deadline stops it.
    upstream.script = [Answer(body=b"x" * 60, drip_every=0.5)]
    with session(deadline=1.5) as s, pytest.raises(DeadlineExceeded):
        s.get(upstream.url)
    sent = len(upstream.sent)
    assert sent < 15  # of 60: abandoned near the deadline (about 4), not after the whole answer


def test_every_call_has_a_timeout_even_when_the_caller_gives_none(upstream: Scripted) -> None:
    upstream.script = [Answer(hang=5)]
    with session(timeout=0.2) as s, pytest.raises(requests.Timeout):
        s.get(upstream.url)
    assert len(upstream.requests) == 1  # a timeout is not retried: the caller waited once already


def test_answers_are_read_and_decoded_as_requests_would(upstream: Scripted) -> None:
    payload = {"items": list(range(1000))}
    upstream.script = [
        Answer(body=gzip.compress(json.dumps(payload).encode()), headers={"Content-Encoding": "gzip"})
    ]
    with session() as s:
        response = s.get(upstream.url, stream=True)
    assert response.json() == payload
    assert b"".join(response.iter_content(100)) == response.content
