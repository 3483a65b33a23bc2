"""The Spotify journey through the double with the real spotipy client, and its refusals and failures."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from fanapp.data.models import Listener, SpotifyToken, Track
from tests.conftest import connect_spotify, csrf_from


@pytest.fixture
def client(spotify_app: Flask) -> FlaskClient:
    return spotify_app.test_client()


def api_paths(fake: Any) -> list[str]:
    return [call[1] for call in fake.calls]


def test_authorize_redirect_has_state_pkce_and_exact_scopes(client: FlaskClient, fake_spotify: Any) -> None:
    r = client.get("/connect/spotify")
    assert r.status_code == 302
    url = urlparse(r.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake_spotify.accounts_url + "authorize"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["response_type"] == "code"
    assert q["redirect_uri"] == "http://127.0.0.1:5000/callback/spotify"
    assert q["scope"].split() == ["user-top-read", "user-read-recently-played", "user-library-read"]
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32
    assert "Set-Cookie" in r.headers


def test_full_spotify_journey(client: FlaskClient, fake_spotify: Any, spotify_app: Flask) -> None:
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 303, r.get_data(as_text=True)[:800]

    # PKCE: the verifier sent to the token endpoint matches the challenge sent to authorize.
    exchange = fake_spotify.token_requests[0]
    assert exchange.grant_type == "authorization_code"
    verifier = exchange.params["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == fake_spotify.authorize_requests[0]["code_challenge"]

    paths = api_paths(fake_spotify)
    assert paths.count("/v1/me/top/tracks") == 3
    assert "/v1/me/player/recently-played" in paths
    assert "/v1/me/tracks" in paths
    assert len(paths) <= 9  # me + 3 top + recent + 2 saved pages + audio features (see README)

    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        listener = s.exec(select(Listener)).one()
        assert listener.source == "spotify" and listener.import_status == "done"
        tracks = s.exec(select(Track)).all()
        ids = [t.source_id for t in tracks]
        assert len(ids) == len(set(ids))  # deduplicated
        assert any(len(t.top_ranks) >= 2 for t in tracks)  # top in several ranges, kept
        assert any(t.play_times for t in tracks) and any(t.saved_at for t in tracks)
        # No feature needs Spotify after the import: no token is held.
        assert s.exec(select(SpotifyToken)).first() is None

    builder = client.get(r.headers["Location"])
    page = BeautifulSoup(builder.get_data(as_text=True), "html.parser")
    a_ids = [t["data-track-id"] for t in page.select('[data-testid="character-a"] [data-testid="track"]')]
    assert len(a_ids) == 3
    assert all(len(i) == 22 for i in a_ids)  # Spotify track ids
    r = client.post(
        r.headers["Location"] + "/publish", data={"csrf_token": csrf_from(builder.get_data(as_text=True))}
    )
    share = client.application.test_client().get(r.headers["Location"])
    assert share.status_code == 200
    html = share.get_data(as_text=True)
    assert "https://open.spotify.com/track/" in html
    assert fake_spotify.user["id"] not in html
    assert fake_spotify.user["email"] not in html
    assert fake_spotify.user["display_name"] not in html  # the box was not ticked


def test_display_name_only_when_ticked(client: FlaskClient, fake_spotify: Any) -> None:
    r = connect_spotify(client, fake_spotify)
    builder = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="show_name"' in builder
    published = client.post(
        r.headers["Location"] + "/publish", data={"csrf_token": csrf_from(builder), "show_name": "on"}
    )
    share = client.get(published.headers["Location"]).get_data(as_text=True)
    assert fake_spotify.user["display_name"] in share
    assert fake_spotify.user["id"] not in share


@pytest.mark.parametrize("state", [None, "", "forged-state-value-that-is-long-enough-to-look-real"])
def test_callback_with_bad_state_is_refused_without_token_request(
    client: FlaskClient, fake_spotify: Any, state: str | None
) -> None:
    client.get("/connect/spotify")
    query = "code=abc" + (f"&state={state}" if state is not None else "")
    r = client.get(f"/callback/spotify?{query}")
    assert r.status_code == 400
    assert fake_spotify.token_requests == []


def test_replayed_state_is_refused(client: FlaskClient, fake_spotify: Any) -> None:
    start = client.get("/connect/spotify")
    import requests

    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    path = callback.removeprefix("http://127.0.0.1:5000")
    first = client.get(path)
    assert first.status_code == 303
    before = len(fake_spotify.token_requests)
    # The same browser reloading the spent return goes where it went, and nothing is exchanged again.
    again = client.get(path)
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert len(fake_spotify.token_requests) == before
    # Anyone else replaying it is refused.
    assert client.application.test_client().get(path).status_code == 400
    assert len(fake_spotify.token_requests) == before


def test_state_from_another_browser_is_refused(client: FlaskClient, fake_spotify: Any) -> None:
    import requests

    start = client.get("/connect/spotify")
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    attacker = client.application.test_client()
    attacker.get("/connect/spotify")
    assert attacker.get(callback.removeprefix("http://127.0.0.1:5000")).status_code == 400
    assert fake_spotify.token_requests == []


def test_denied_consent_explains(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.deny_next_authorize = True
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 200
    assert "did not allow" in r.get_data(as_text=True)
    assert fake_spotify.token_requests == []


def _failed_page(client: FlaskClient, fake: Any) -> str:
    r = connect_spotify(client, fake)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-testid="try-demo"' in html  # the demo is offered
    return html


def test_user_not_allowed_403(client: FlaskClient, fake_spotify: Any, spotify_app: Flask) -> None:
    fake_spotify.forbid_user()
    assert "development mode" in _failed_page(client, fake_spotify)
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        assert s.exec(select(Listener)).one().import_status == "failed"
        assert s.exec(select(Track)).first() is None


def test_rate_limited_429(client: FlaskClient, fake_spotify: Any, spotify_app: Flask) -> None:
    fake_spotify.rate_limit("/v1/me/top/tracks", retry_after=86400, times=None)
    html = _failed_page(client, fake_spotify)
    assert "busy" in html
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        assert s.exec(select(Track)).first() is None  # nothing half-imported


def test_server_errors_5xx(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.add_fault("/v1/me/tracks", 503, times=None)
    html = _failed_page(client, fake_spotify)
    assert "error 503" in html


def test_short_5xx_burst_is_retried(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.add_fault("/v1/me/player/recently-played", 502, times=1)
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 303


def test_timeout(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.add_fault("/v1/me/top/tracks", 200, times=None, delay=3.0)
    assert "in time" in _failed_page(client, fake_spotify)


def test_malformed_json(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.add_fault("/v1/me/player/recently-played", 200, times=None, body="{not json")
    assert "could not read" in _failed_page(client, fake_spotify)


def test_empty_history_gets_a_friendly_page(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.empty_library()
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 200
    assert "still quiet" in r.get_data(as_text=True)


def test_token_exchange_refused(client: FlaskClient, fake_spotify: Any) -> None:
    fake_spotify.add_fault("/accounts/api/token", 400, times=1, body='{"error": "invalid_grant"}')
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 200
    assert "refused" in r.get_data(as_text=True)
