"""LastfmSource against the local Last.fm double: signals, every failure's message, and call counts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fanapp.sources import History, SourceError
from fanapp.sources.lastfm import (
    EMPTY_PROFILE_NOTE,
    InvalidUsernameError,
    LastfmApiKeyError,
    LastfmSource,
    LastfmUnavailableError,
    PrivateProfileError,
    RateLimitedError,
    UnknownUserError,
    normalise_username,
)
from fanapp.upstream.pauses import MemoryPauses
from fanapp.upstream.session import GuardedSession
from tests.fakes.lastfm import FakeLastfm


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm.running() as running:
        yield running


def source(fake: FakeLastfm, username: str = "rj", **kwargs: object) -> LastfmSource:
    options: dict[str, object] = {"api_key": fake.api_key, "base_url": fake.api_url, "timeout": 2.0}
    options.update(kwargs)
    return LastfmSource(username, **options)  # type: ignore[arg-type]


def fetch(src: LastfmSource) -> tuple[History, list[str]]:
    stages: list[str] = []
    return src.fetch(stages.append), stages


def test_import_maps_ranks_plays_and_times(fake: FakeLastfm) -> None:
    history, stages = fetch(source(fake, "RJ", period="6month"))

    assert history.display_name == "RJ"
    assert history.external_id == "lastfm:rj"
    by_title = {t.title: t for t in history.tracks}
    assert set(by_title) == {
        "Karma Police",
        "Glory Box",
        "Jóga",
        "Teardrop",
        "Running Up That Hill",
        "Digital Love",
    }
    glory = by_title["Glory Box"]
    # 6month chart: Glory Box 41 plays, rank 1; overall chart: rank 2 after Karma Police.
    assert glory.top_ranks["lastfm_6month"] == 1 == glory.top_ranks["medium_term"]
    assert glory.top_ranks["lastfm_overall"] == 2 == glory.top_ranks["long_term"]
    assert glory.play_count == 250  # the all-time scrobble count wins over the 6-month one
    assert glory.spotify_url is None
    assert glory.artists == ["Portishead"]

    karma = by_title["Karma Police"]
    assert karma.source_id == "lastfm:63b3a8ca-26f2-4e2b-b867-647a6ec2bebd"  # the MBID
    assert karma.album == "OK Computer"
    assert karma.image_url and karma.image_url.startswith("https://") and "300x300" in karma.image_url
    assert karma.duration_ms == 200_000
    # Running Up That Hill has no all-time chart entry in the double; only the 6-month rank maps.
    assert set(by_title["Running Up That Hill"].top_ranks) == {"lastfm_6month", "medium_term"}

    # 2 pages of 200 scrobbles of the 260: 400 would be capped, here all 260 are read, none "now playing".
    assert sum(len(t.play_times) for t in history.tracks) == 260
    assert all(p.tzinfo is not None for t in history.tracks for p in t.play_times)
    assert len({t.source_id for t in history.tracks}) == len(history.tracks)

    assert fake.methods_called() == [
        "user.getInfo",
        "user.getTopTracks",
        "user.getTopTracks",
        "user.getRecentTracks",
        "user.getRecentTracks",
    ]
    assert [c.get("period") for c in fake.calls[1:3]] == ["6month", "overall"]
    assert {c["limit"] for c in fake.calls[3:]} == {"200"}
    assert all(c["format"] == "json" and c["api_key"] == fake.api_key for c in fake.calls)
    assert stages[0] == "Looking up your Last.fm profile"
    assert any("top tracks (last 6 months)" in s for s in stages)
    assert any("no Spotify player" in n for n in history.notes)
    assert "Top tracks come from your Last.fm charts (last 6 months and all time)" in history.notes[0]


@pytest.mark.parametrize(
    ("period", "short", "long_"),
    [("7day", "short_term", None), ("1month", "short_term", None), ("12month", None, "long_term")],
)
def test_each_period_maps_to_a_spotify_range(
    fake: FakeLastfm, period: str, short: str | None, long_: str | None
) -> None:
    history, _ = fetch(source(fake, period=period))
    ranked = [t for t in history.tracks if f"lastfm_{period}" in t.top_ranks]
    assert ranked
    for t in ranked:
        expected = short or long_
        assert t.top_ranks[expected] <= t.top_ranks[f"lastfm_{period}"]  # type: ignore[index]


def test_overall_period_makes_one_chart_call(fake: FakeLastfm) -> None:
    fetch(source(fake, period="overall"))
    assert fake.methods_called().count("user.getTopTracks") == 1


def test_unknown_period_is_a_programming_error(fake: FakeLastfm) -> None:
    with pytest.raises(ValueError, match="period"):
        source(fake, period="3weeks")


def test_unknown_user(fake: FakeLastfm) -> None:
    with pytest.raises(UnknownUserError) as caught:
        fetch(source(fake, "nobodyhere"))
    assert "could not find a Last.fm user" in caught.value.message
    assert len(fake.calls) == 1


def test_private_user(fake: FakeLastfm) -> None:
    with pytest.raises(PrivateProfileError) as caught:
        fetch(source(fake, "privateuser"))
    assert "private" in caught.value.message
    assert "Hide recent listening information" in caught.value.message


def test_hidden_recent_listening_still_imports_the_charts(fake: FakeLastfm) -> None:
    history, _ = fetch(source(fake, "quietuser"))
    assert history.tracks
    assert not any(t.play_times for t in history.tracks)
    assert any("hides its recent listening" in n for n in history.notes)


def test_empty_profile_is_an_empty_history_with_a_friendly_note(fake: FakeLastfm) -> None:
    history, _ = fetch(source(fake, "emptyuser"))
    assert history.tracks == []
    assert history.notes == [EMPTY_PROFILE_NOTE]
    assert fake.methods_called() == ["user.getInfo"]  # nothing more to ask


def test_single_results_sent_as_objects(fake: FakeLastfm) -> None:
    history, _ = fetch(source(fake, "single"))
    assert len(history.tracks) == 1
    song = history.tracks[0]
    assert song.title == "Feeling Good"
    assert len(song.play_times) == 1
    assert song.top_ranks["lastfm_6month"] == 1


@pytest.mark.parametrize("failure", ["outage", "outage_html"])
def test_outage_is_retried_briefly_then_explained(fake: FakeLastfm, failure: str) -> None:
    fake.failure = failure
    started = time.monotonic()
    with pytest.raises(LastfmUnavailableError) as caught:
        fetch(source(fake))
    assert time.monotonic() - started < 5
    assert "Nothing was imported" in caught.value.message
    assert len(fake.calls) == 3  # one call and two retries


def test_rate_limit_fails_fast_with_retry_after(fake: FakeLastfm) -> None:
    fake.failure = "rate_limit"
    with pytest.raises(RateLimitedError) as caught:
        fetch(source(fake))
    assert caught.value.retry_after == 60
    assert "try again in a minute" in caught.value.message
    assert len(fake.calls) == 1


@pytest.mark.parametrize("status", [429, 200])
def test_rate_limit_pauses_every_later_call(fake: FakeLastfm, status: int) -> None:
    # As for Spotify: the shared pause flag stops later calls before they are sent.
    session = GuardedSession("lastfm", pauses=MemoryPauses(), budget=None, wait=0)
    fake.failure = "rate_limit" if status == 429 else "rate_limit_200"
    with pytest.raises(RateLimitedError):
        fetch(source(fake, session=session))
    fake.failure = None
    with pytest.raises(RateLimitedError) as caught:
        fetch(source(fake, session=session))
    assert len(fake.calls) == 1
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
    assert "Spotify" not in caught.value.message
    session.pauses.resume("lastfm")
    history, _ = fetch(source(fake, session=session))
    assert history.tracks


def test_timeout(fake: FakeLastfm) -> None:
    fake.delay = 3.0
    started = time.monotonic()
    with pytest.raises(LastfmUnavailableError) as caught:
        fetch(source(fake, timeout=0.3))
    assert time.monotonic() - started < 2
    assert "did not answer in time" in caught.value.message


@pytest.mark.parametrize("failure", ["garbage", "huge"])
def test_unreadable_or_endless_answer(fake: FakeLastfm, failure: str) -> None:
    fake.failure = failure
    with pytest.raises(LastfmUnavailableError, match="could not read"):
        fetch(source(fake))


def test_refused_key_is_not_the_visitors_fault(fake: FakeLastfm) -> None:
    with pytest.raises(LastfmApiKeyError) as caught:
        fetch(source(fake, api_key="wrong"))
    assert "refused its key" in caught.value.message


def test_missing_key_sends_nothing(fake: FakeLastfm) -> None:
    with pytest.raises(LastfmApiKeyError):
        fetch(source(fake, api_key=""))
    assert fake.calls == []


def test_unreachable_host() -> None:
    src = LastfmSource("rj", api_key="k", base_url="http://127.0.0.1:9/2.0/", timeout=0.5)
    with pytest.raises(LastfmUnavailableError, match=r"could not reach Last\.fm"):
        src.fetch(lambda _: None)


@pytest.mark.parametrize(
    "username",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "a" * 1000,
        "x" * 16,
        "r",
        "1abc",
        "rj&method=auth.getSession",
        "rj/../../admin",
        "rj rj",
        "",
        "   ",
        "ŕj",
    ],
)
def test_bad_usernames_are_refused_before_any_request(fake: FakeLastfm, username: str) -> None:
    with pytest.raises(InvalidUsernameError) as caught:
        source(fake, username)
    assert isinstance(caught.value, SourceError)
    assert len(username.strip()) < 3 or username not in caught.value.message  # never echoed back
    assert len(caught.value.message) < 300
    assert fake.calls == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("rj", "rj"),
        ("  RJ_fan-2 ", "RJ_fan-2"),
        ("https://www.last.fm/user/rj", "rj"),
        ("last.fm/de/user/Some_One/library", "Some_One"),
    ],
)
def test_usernames_and_profile_addresses(typed: str, expected: str) -> None:
    assert normalise_username(typed) == expected


def test_non_text_username_is_refused() -> None:
    with pytest.raises(InvalidUsernameError):
        normalise_username(None)
