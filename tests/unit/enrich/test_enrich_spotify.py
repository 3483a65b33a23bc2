"""The Spotify audio-features provider against a small local double of `GET /audio-features`.

The double's objects are checked against Spotify's OpenAPI document (AudioFeaturesObject), so it cannot
drift from the real API's field names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask, Response, jsonify, request

from fanapp.enrich.providers import (
    ProviderPaused,
    ProviderRateLimited,
    ProviderUnavailable,
    SpotifyFeatures,
    Throttle,
)
from fanapp.upstream.pauses import MemoryPauses
from tests.fakes.http import BackgroundServer, Fault
from tests.fakes.spotify import audio_features_object

SP_A = "4uLU6hMCjMI75M1A2tKUQC"
SP_B = "7ouMYWpwJ422jRcDASZB7P"
TOKEN = "test-access-token"  # a made-up token for the double
SPEC = Path("/work/shared/reference/spotify-web-api.openapi.yml")


class FakeAudioFeatures:
    """`GET /v1/audio-features?ids=…` with a bearer token, a catalogue, faults and the calls it got."""

    def __init__(self) -> None:
        self.catalogue: dict[str, dict[str, Any]] = {SP_A: audio_features_object(SP_A)}
        self.faults: list[Fault] = []
        self.calls: list[dict[str, str]] = []
        self.base_url = ""
        self.stop = threading.Event()
        self.app = Flask("fake_spotify_audio_features")
        self.app.add_url_rule("/v1/audio-features", view_func=self.view)

    def view(self) -> Response:
        self.calls.append(
            {"ids": request.args.get("ids", ""), "auth": request.headers.get("Authorization", "")}
        )
        if self.faults:
            fault = self.faults.pop(0)
            self.stop.wait(fault.delay)
            response = jsonify(fault.body or {"error": {"status": fault.status, "message": "fault"}})
            response.status_code = fault.status
            response.headers.update(fault.headers)
            return response
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            response = jsonify({"error": {"status": 401, "message": "Invalid access token"}})
            response.status_code = 401
            return response
        ids = request.args.get("ids", "").split(",")
        return jsonify({"audio_features": [self.catalogue.get(i) for i in ids]})


@pytest.fixture
def fake() -> Iterator[FakeAudioFeatures]:
    double = FakeAudioFeatures()
    with BackgroundServer(double.app) as server:
        double.base_url = server.base_url + "/v1/"
        try:
            yield double
        finally:
            double.stop.set()


@pytest.fixture
def pauses() -> MemoryPauses:
    return MemoryPauses()


def provider(fake: FakeAudioFeatures, pauses: MemoryPauses, token: Any = lambda: TOKEN) -> SpotifyFeatures:
    return SpotifyFeatures(
        fake.base_url, token=token, pauses=pauses, timeout=0.5, throttle=Throttle(2, 0), backoff=0.01
    )


def test_double_matches_the_spec() -> None:
    spec = yaml.safe_load(SPEC.read_text("utf-8"))
    documented = set(spec["components"]["schemas"]["AudioFeaturesObject"]["properties"])
    assert set(audio_features_object(SP_A)) == documented


def test_success_with_bearer_token(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    with provider(fake, pauses) as spotify:
        result = spotify.fetch([SP_A, SP_B])
    assert result == {
        SP_A: {
            "tempo": 118.211,
            "key": 9.0,
            "mode": 0.0,
            "energy": 0.842,
            "valence": 0.428,
            "danceability": 0.585,
            "acousticness": 0.00242,
            "instrumentalness": 0.00686,
            "speechiness": 0.0556,
        }
    }  # SP_B came back as null: a miss
    assert fake.calls == [{"ids": f"{SP_A},{SP_B}", "auth": f"Bearer {TOKEN}"}]


def test_403_disables_audio_features_for_an_hour(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    fake.faults.append(Fault(403))
    with provider(fake, pauses) as spotify:
        with pytest.raises(ProviderPaused, match="403"):
            spotify.fetch([SP_A])
        with pytest.raises(ProviderPaused):
            spotify.fetch([SP_A])
    until = pauses.paused_until(SpotifyFeatures.forbidden_key)
    assert until is not None and until == pytest.approx(time.time() + 3600, abs=5)
    assert pauses.paused_until("spotify") is None  # the rest of the Web API is not paused
    assert len(fake.calls) == 1


@pytest.mark.parametrize("retry_after", [1, 86400])
def test_429_pauses_spotify(fake: FakeAudioFeatures, pauses: MemoryPauses, retry_after: int) -> None:
    fake.faults.append(Fault(429, headers={"Retry-After": str(retry_after)}))
    with provider(fake, pauses) as spotify:
        with pytest.raises(ProviderRateLimited):
            spotify.fetch([SP_A])
        with pytest.raises(ProviderPaused):
            spotify.fetch([SP_A])
    assert pauses.paused_until("spotify") == pytest.approx(time.time() + retry_after, abs=2)
    assert len(fake.calls) == 1


def test_expired_token(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    with (
        provider(fake, pauses, token=lambda: "stale") as spotify,
        pytest.raises(ProviderUnavailable, match="401"),
    ):
        spotify.fetch([SP_A])
    assert pauses.paused_until("spotify") is None


def test_no_token_means_no_call(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    def broken() -> str | None:
        raise RuntimeError("cannot decrypt")

    for token in (lambda: None, broken):
        with (
            provider(fake, pauses, token=token) as spotify,
            pytest.raises(ProviderUnavailable, match="token"),
        ):
            spotify.fetch([SP_A])
    assert fake.calls == []


def test_timeout(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    fake.faults.append(Fault(200, delay=30))
    started = time.monotonic()
    with provider(fake, pauses) as spotify, pytest.raises(ProviderUnavailable, match="in time"):
        spotify.fetch([SP_A])
    # Not a speed bound: a client that waited for the answer takes the whole 30 s delay.
    assert time.monotonic() - started < 15


def test_5xx_burst_then_success(fake: FakeAudioFeatures, pauses: MemoryPauses) -> None:
    fake.faults.extend([Fault(500), Fault(503)])
    with provider(fake, pauses) as spotify:
        assert set(spotify.fetch([SP_A])) == {SP_A}
    assert len(fake.calls) == 3
