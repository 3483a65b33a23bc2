"""`enrich_tracks` end to end: the provider chain against the local doubles, a SQLite database, the cache."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from sqlmodel import Session, SQLModel, select

from fanapp.config import Settings
from fanapp.data.models import FeatureCache, Listener, Track
from fanapp.data.session import make_engine
from fanapp.enrich import EnrichReport, MemoryPauses, ProviderCounts, enrich_tracks
from fanapp.enrich.features import FEATURES, Features
from fanapp.enrich.providers import KeyKind
from fanapp.tracks import spotify_id
from fanapp.upstream.budget import budget_for
from tests.fakes.deezer import FakeDeezer
from tests.fakes.http import BackgroundServer
from tests.fakes.reccobeats import FakeReccoBeats

SP_A = "4uLU6hMCjMI75M1A2tKUQC"  # ReccoBeats knows it
SP_B = "7ouMYWpwJ422jRcDASZB7P"  # ReccoBeats does not; Deezer has its tempo
SP_C = "3n3Ppam7vgaVa1iaRUc9Lp"  # ReccoBeats knows it; the track already has a tempo
SP_D = "0VjIjW4GlUZAMYd2vXMi3b"  # nobody knows it; Deezer's bpm is 0
ISRC_A = "USUM71703861"
ISRC_B = "GBAYE0601498"
ISRC_D = "USRC11700001"
ALL = FEATURES  # the one vocabulary (the engine's)


@pytest.fixture
def db_session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'enrich.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def recco() -> Iterator[FakeReccoBeats]:
    with FakeReccoBeats.running() as fake:
        fake.add(SP_A, tempo=128.0, key=1, mode=1)
        fake.add(SP_C, tempo=90.0, key=4, mode=0)
        yield fake


@pytest.fixture
def deezer() -> Iterator[FakeDeezer]:
    with FakeDeezer.running() as fake:
        fake.add(ISRC_A, bpm=64.0)  # would be wrong for SP_A: ReccoBeats' answer must win
        fake.add(ISRC_B, bpm=97.5)
        fake.add(ISRC_D, bpm=0)
        yield fake


@pytest.fixture
def settings(recco: FakeReccoBeats, deezer: FakeDeezer) -> Settings:
    # 2 s: the doubles answer in milliseconds, but at 0.5 s a loaded machine turned an answer into a
    # timeout; the timeout test below delays 30 s, far past it.
    return Settings(env="test").override(
        reccobeats_api_url=recco.base_url, deezer_api_url=deezer.base_url, upstream_timeout=2.0
    )


def listener_with(session: Session, songs: Sequence[dict[str, Any]]) -> list[Track]:
    listener = Listener(source="spotify")
    session.add(listener)
    session.commit()
    assert listener.id is not None
    tracks = [
        Track(listener_id=listener.id, title=f"Song {i}", spotify_id=spotify_id(song["source_id"]), **song)
        for i, song in enumerate(songs)
    ]
    session.add_all(tracks)
    session.commit()
    return tracks


SONGS: list[dict[str, Any]] = [
    {"source_id": SP_A, "isrc": ISRC_A},
    {"source_id": SP_B, "isrc": ISRC_B},
    {"source_id": SP_C, "isrc": None, "features": {"tempo": {"value": 91.0, "source": "demo"}}},
    {"source_id": SP_D, "isrc": ISRC_D},
    {"source_id": "local:0123456789abcdef", "isrc": None},
    {"source_id": "demo-1", "features": {k: {"value": 0.5, "source": "demo"} for k in ALL}},
]


def sources(track: Track) -> dict[str, str]:
    return {name: f["source"] for name, f in track.features.items()}


def test_fills_what_is_missing_without_overwriting(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, deezer: FakeDeezer
) -> None:
    a, b, c, d, local, demo = listener_with(db_session, SONGS)
    demo_before = dict(demo.features)

    report = enrich_tracks(db_session, [a, b, c, d, local, demo], settings=settings, pauses=MemoryPauses())

    assert a.features["tempo"] == {"value": 128.0, "source": "reccobeats"}
    assert set(sources(a).values()) == {"reccobeats"} and set(a.features) == set(ALL)
    assert b.features == {"tempo": {"value": 97.5, "source": "deezer"}}
    assert c.features["tempo"] == {"value": 91.0, "source": "demo"}  # kept
    assert c.features["key"] == {"value": 4.0, "source": "reccobeats"}
    assert d.features == {}  # bpm 0 is no tempo
    assert local.features == {}
    assert demo.features == demo_before

    assert recco.calls == [[SP_A, SP_B, SP_C, SP_D]]  # one batch, only tracks missing something
    assert deezer.calls == [f"/track/isrc:{ISRC_B}", f"/track/isrc:{ISRC_D}"]  # only tracks missing tempo
    assert report.providers == {
        "reccobeats": ProviderCounts(asked=4, found=2),
        "deezer": ProviderCounts(asked=2, found=1),
    }
    assert (report.considered, report.filled, report.still_missing) == (5, 3, 3)
    assert report.complete and report.notes == [] and report.resume_at is None

    # Stored, not just changed in memory.
    db_session.expire_all()
    stored = db_session.exec(select(Track).where(Track.id == b.id)).one()
    assert stored.features == {"tempo": {"value": 97.5, "source": "deezer"}}
    cached = {(r.provider, r.lookup_key): r.found for r in db_session.exec(select(FeatureCache))}
    assert cached == {
        ("reccobeats", SP_A): True,
        ("reccobeats", SP_B): False,
        ("reccobeats", SP_C): True,
        ("reccobeats", SP_D): False,
        ("deezer", ISRC_B): True,
        ("deezer", ISRC_D): False,
    }


def test_second_enrich_is_answered_by_the_cache(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, deezer: FakeDeezer
) -> None:
    first = listener_with(db_session, SONGS)
    enrich_tracks(db_session, first, settings=settings, pauses=MemoryPauses())
    calls = (len(recco.calls), len(deezer.calls))

    second = listener_with(db_session, SONGS)  # another visitor with the same songs
    report = enrich_tracks(db_session, second, settings=settings, pauses=MemoryPauses())

    assert (len(recco.calls), len(deezer.calls)) == calls  # no provider was asked again
    assert [t.features for t in second] == [t.features for t in first]
    assert report.providers == {
        "reccobeats": ProviderCounts(cached=4),
        "deezer": ProviderCounts(cached=2),
    }
    assert report.filled == 3


def test_rate_limit_pauses_one_provider_and_the_journey_goes_on(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, deezer: FakeDeezer
) -> None:
    pauses = MemoryPauses()
    recco.fail(429, headers={"Retry-After": "86400"})
    started = time.monotonic()
    report = enrich_tracks(db_session, listener_with(db_session, SONGS), settings=settings, pauses=pauses)

    # Not a speed bound: far below the day the Retry-After asks for (or any sleep toward it).
    assert time.monotonic() - started < 30
    assert report.providers["reccobeats"] == ProviderCounts(paused=4)
    # Deezer still filled the tempos it knows, including SP_A's (wrong, but the only one on offer).
    assert report.providers["deezer"] == ProviderCounts(asked=3, found=2)
    assert not report.complete
    assert report.resume_at is not None
    assert report.resume_at == pytest.approx(datetime.now(UTC) + timedelta(days=1), abs=timedelta(seconds=10))
    assert len(report.notes) == 1 and "ReccoBeats" in report.notes[0]
    assert not db_session.exec(select(FeatureCache).where(FeatureCache.provider == "reccobeats")).all()

    report = enrich_tracks(db_session, listener_with(db_session, SONGS), settings=settings, pauses=pauses)
    assert len(recco.calls) == 1  # paused: nothing more reached ReccoBeats
    assert report.providers["reccobeats"] == ProviderCounts(paused=4)


def test_timeout_is_a_failure_not_an_error(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, deezer: FakeDeezer
) -> None:
    recco.fail(delay=30)
    started = time.monotonic()
    tracks = listener_with(db_session, SONGS)
    report = enrich_tracks(db_session, tracks, settings=settings, pauses=MemoryPauses())
    # Not a speed bound: a client that waited for the answer takes the whole 30 s delay.
    assert time.monotonic() - started < 15
    assert report.providers["reccobeats"] == ProviderCounts(failed=4)
    assert tracks[1].features["tempo"]["source"] == "deezer"
    assert "ReccoBeats" in report.notes[0]


def test_many_songs_are_batched(db_session: Session, settings: Settings, recco: FakeReccoBeats) -> None:
    ids = [f"{i:022d}" for i in range(45)]
    for track_id in ids[:10]:
        recco.add(track_id)
    report = enrich_tracks(
        db_session,
        listener_with(db_session, [{"source_id": i} for i in ids]),
        settings=settings,
        pauses=MemoryPauses(),
    )
    assert [len(c) for c in recco.calls] == [40, 5]
    assert report.providers["reccobeats"] == ProviderCounts(asked=45, found=10)


def test_budget_spent_means_no_calls(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, deezer: FakeDeezer
) -> None:
    report = enrich_tracks(
        db_session, listener_with(db_session, SONGS), settings=settings, pauses=MemoryPauses(), budget=0
    )
    assert recco.calls == [] and deezer.calls == []
    assert report.providers["reccobeats"] == ProviderCounts(skipped=4)
    assert not db_session.exec(select(FeatureCache)).all()


class Broken:
    """A provider with a bug: it must not break the journey either."""

    name = "broken"
    label = "Broken"
    key_kind: KeyKind = "spotify_id"
    supplies = frozenset({"tempo"})
    max_batch = 10

    def fetch(self, keys: Sequence[str]) -> dict[str, Features]:
        raise KeyError("bug")


def test_a_broken_provider_never_raises(db_session: Session, settings: Settings) -> None:
    report = enrich_tracks(
        db_session, listener_with(db_session, SONGS), settings=settings, providers=[Broken()]
    )
    assert report.providers["broken"] == ProviderCounts(failed=3)  # SP_C already has a tempo
    assert report.filled == 0


@pytest.fixture
def spotify_403() -> Iterator[tuple[str, list[str]]]:
    """Spotify's answer to a new app asking for audio features."""
    calls: list[str] = []
    app = Flask("spotify_403")

    @app.get("/v1/audio-features")
    def audio_features() -> tuple[Response, int]:
        calls.append("audio-features")
        return jsonify({"error": {"status": 403, "message": "Forbidden"}}), 403

    with BackgroundServer(app) as server:
        yield server.base_url + "/v1/", calls


def test_spotify_refusal_falls_back_to_reccobeats(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, spotify_403: tuple[str, list[str]]
) -> None:
    url, calls = spotify_403
    settings = settings.override(spotify_api_url=url)
    pauses = MemoryPauses()
    song = [{"source_id": SP_A, "isrc": ISRC_A}]
    report = enrich_tracks(
        db_session,
        listener_with(db_session, song),
        settings=settings,
        pauses=pauses,
        spotify_token=lambda: "t",
    )
    assert report.providers["spotify"] == ProviderCounts(paused=1)
    assert report.providers["reccobeats"] == ProviderCounts(asked=1, found=1)
    assert report.notes == []  # nothing is missing, so nothing to tell the visitor

    tracks = listener_with(db_session, [{"source_id": SP_C}])
    report = enrich_tracks(db_session, tracks, settings=settings, pauses=pauses, spotify_token=lambda: "t")
    assert calls == ["audio-features"]  # refused once, then not asked for an hour
    assert report.providers["spotify"] == ProviderCounts(paused=1)
    assert tracks[0].features["key"]["source"] == "reccobeats"


def test_spotify_audio_features_are_refused_once_the_shared_spotify_budget_is_spent(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, spotify_403: tuple[str, list[str]]
) -> None:
    url, calls = spotify_403
    settings = settings.override(
        spotify_api_url=url, spotify_budget=1, redis_prefix=f"fanapp-test-{uuid.uuid4().hex}:"
    )
    assert budget_for(settings).try_acquire("spotify")  # the import's other Spotify calls spent it
    report = enrich_tracks(
        db_session,
        listener_with(db_session, [{"source_id": SP_A, "isrc": ISRC_A}]),
        settings=settings,
        pauses=MemoryPauses(),
        spotify_token=lambda: "t",
    )
    assert calls == []  # Spotify was not asked: the app is at its limit
    assert report.providers["spotify"] == ProviderCounts(paused=1)
    assert report.providers["reccobeats"] == ProviderCounts(asked=1, found=1)


def test_spotify_audio_features_take_one_call_from_the_shared_spotify_budget(
    db_session: Session, settings: Settings, recco: FakeReccoBeats, spotify_403: tuple[str, list[str]]
) -> None:
    url, calls = spotify_403
    settings = settings.override(
        spotify_api_url=url, spotify_budget=5, redis_prefix=f"fanapp-test-{uuid.uuid4().hex}:"
    )
    enrich_tracks(
        db_session,
        listener_with(db_session, [{"source_id": SP_A, "isrc": ISRC_A}]),
        settings=settings,
        pauses=MemoryPauses(),
        spotify_token=lambda: "t",
    )
    assert calls == ["audio-features"]
    assert budget_for(settings).remaining("spotify") == 4


def test_report_defaults() -> None:
    assert EnrichReport().complete
