"""The Spotify double driven the way fanapp drives Spotify: the real spotipy client over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import spotipy
from PIL import Image
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyOAuth, SpotifyOauthError, SpotifyPKCE

from tests.fakes.http import BackgroundServer
from tests.fakes.spotify import (
    DEFAULT_REDIRECT_URI,
    DEV_MODE_FORBIDDEN,
    HOSTILE_NAMES,
    FakeSpotify,
    parse_timestamp,
)

ROOT = Path(__file__).resolve().parents[2]
APP_SCOPE = (
    "user-read-private user-top-read user-read-recently-played user-library-read "
    "playlist-modify-public playlist-modify-private"
)
BASE62_ID = re.compile(r"^[0-9A-Za-z]{22}$")


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    """A running double with the default library."""
    with FakeSpotify.running() as running:
        yield running


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """An HTTP session closed after the test (spotipy and raw requests share it)."""
    with requests.Session() as http:
        yield http


class Clients:
    """Builds real spotipy clients configured the way fanapp does, and closes their sessions."""

    def __init__(self, fake: FakeSpotify) -> None:
        self.fake = fake
        self.built: list[spotipy.Spotify] = []

    def __call__(self, token: str | None = None, **options: Any) -> spotipy.Spotify:
        """A client for ``token`` (default: one with every app scope); ``options`` override settings."""
        token = token or self.fake.issue_token(APP_SCOPE)["access_token"]
        settings: dict[str, Any] = {"requests_timeout": 5, "retries": 0, "status_retries": 0} | options
        client = spotipy.Spotify(auth=token, **settings)
        client.prefix = self.fake.api_url  # spotipy 2.26's constructor has no prefix argument
        self.built.append(client)
        return client

    def close(self) -> None:
        """Close every session spotipy opened (it would otherwise wait for garbage collection)."""
        for client in self.built:
            client._session.close()


@pytest.fixture
def clients(fake: FakeSpotify) -> Iterator[Clients]:
    """Factory for spotipy clients aimed at ``fake``."""
    factory = Clients(fake)
    yield factory
    factory.close()


@pytest.fixture
def sp(clients: Clients) -> spotipy.Spotify:
    """spotipy with a user token carrying every scope fanapp asks for."""
    return clients()


def challenge_for(verifier: str) -> str:
    """The S256 PKCE challenge for ``verifier``."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(
    fake: FakeSpotify, session: requests.Session, verifier: str, **overrides: Any
) -> requests.Response:
    """Hit the authorize endpoint as a browser would, without following the redirect."""
    params = {
        "client_id": fake.client_id,
        "response_type": "code",
        "redirect_uri": fake.redirect_uri,
        "scope": APP_SCOPE,
        "state": "state-123",
        "code_challenge_method": "S256",
        "code_challenge": challenge_for(verifier),
    } | overrides
    return session.get(fake.accounts_url + "authorize", params=params, allow_redirects=False, timeout=5)


def redirect_query(response: requests.Response) -> dict[str, str]:
    """The query of a 302 back to the app, after checking it goes to the registered redirect URI."""
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(DEFAULT_REDIRECT_URI + "?")
    return dict(parse_qsl(urlsplit(location).query))


def exchange(
    fake: FakeSpotify, session: requests.Session, code: str, verifier: str | None, **overrides: Any
) -> requests.Response:
    """POST an authorization_code grant as a public (PKCE) client."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": fake.redirect_uri,
        "client_id": fake.client_id,
        "code_verifier": verifier,
    } | overrides
    return session.post(fake.accounts_url + "api/token", data=form, timeout=5)


def refresh(fake: FakeSpotify, session: requests.Session, token: str) -> requests.Response:
    """POST a refresh_token grant with HTTP Basic client authentication."""
    form = {"grant_type": "refresh_token", "refresh_token": token}
    auth = (fake.client_id, fake.client_secret)
    return session.post(fake.accounts_url + "api/token", data=form, auth=auth, timeout=5)


def pkce_manager(fake: FakeSpotify, session: requests.Session, state: str = "s-1") -> SpotifyPKCE:
    """spotipy's own PKCE manager aimed at the double's accounts service."""
    manager = SpotifyPKCE(
        client_id=fake.client_id,
        redirect_uri=fake.redirect_uri,
        scope=APP_SCOPE,
        state=state,
        cache_handler=MemoryCacheHandler(),
        open_browser=False,
        requests_session=session,
        requests_timeout=5,
    )
    manager.OAUTH_AUTHORIZE_URL = fake.accounts_url + "authorize"
    manager.OAUTH_TOKEN_URL = fake.accounts_url + "api/token"
    return manager


# -- library through spotipy -----------------------------------------------------------------------


def test_top_tracks_per_time_range_overlap(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    ids = {}
    for time_range, expected in (("short_term", 20), ("medium_term", 35), ("long_term", 50)):
        page = sp.current_user_top_tracks(limit=50, time_range=time_range)
        assert page["total"] == len(page["items"]) == expected
        ids[time_range] = [t["id"] for t in page["items"]]
        assert all(BASE62_ID.match(i) for i in ids[time_range])
        assert len(set(ids[time_range])) == expected
    assert set(ids["short_term"]) & set(ids["medium_term"]) and set(ids["medium_term"]) & set(
        ids["long_term"]
    )
    assert ids["short_term"] != ids["long_term"][:20]
    call = fake.calls[-1]
    assert (call.method, call.path) == ("GET", "/v1/me/top/tracks")
    assert call.query == {"time_range": "long_term", "limit": "50", "offset": "0"}
    assert call.headers["Authorization"].startswith("Bearer ")


def test_top_tracks_follow_next(sp: spotipy.Spotify) -> None:
    first = sp.current_user_top_tracks(limit=20, time_range="medium_term")
    second = sp.next(first)
    assert second is not None and len(second["items"]) == 15 and second["next"] is None
    assert second["previous"] and second["offset"] == 20
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}


def test_recently_played_newest_first_with_repeats(sp: spotipy.Spotify) -> None:
    page = sp.current_user_recently_played(limit=50)
    items = page["items"]
    assert len(items) == 50
    played = [parse_timestamp(i["played_at"]) for i in items]
    assert played == sorted(played, reverse=True) and len(set(played)) == 50
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", i["played_at"]) for i in items)
    assert len({i["track"]["id"] for i in items}) < 50
    assert all(i["context"]["uri"] == i["track"]["album"]["uri"] for i in items)
    assert page["next"] is None
    assert page["cursors"]["before"] == str(round(played[-1].timestamp() * 1000))


def test_recently_played_cursor_pagination(sp: spotipy.Spotify) -> None:
    page, seen = sp.current_user_recently_played(limit=20), []
    while page is not None:
        seen += [i["played_at"] for i in page["items"]]
        page = sp.next(page)
    assert len(seen) == len(set(seen)) == 50
    assert seen == sorted(seen, reverse=True)
    with pytest.raises(spotipy.SpotifyException) as both:
        sp._get("me/player/recently-played", before=1, after=1)
    assert both.value.http_status == 400


def test_saved_tracks_two_pages_via_next(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    first = sp.current_user_saved_tracks(limit=50)
    assert len(first["items"]) == 50 and first["total"] == 60
    assert urlsplit(first["next"]).netloc == urlsplit(fake.base_url).netloc
    second = sp.next(first)
    assert second is not None and len(second["items"]) == 10 and second["next"] is None
    items = first["items"] + second["items"]
    assert len({i["track"]["id"] for i in items}) == 60
    added = [parse_timestamp(i["added_at"]) for i in items]
    assert added == sorted(added, reverse=True)
    assert fake.calls[-1].query == {"offset": "50", "limit": "50"}


def test_search_substring_and_field_filters(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    track = fake.catalogue[5]
    word = track["name"].split()[0]
    found = sp.search(word.upper(), type="track", limit=10)["tracks"]["items"]
    assert track["id"] in [t["id"] for t in found]
    isrc = track["external_ids"]["isrc"]
    assert [t["id"] for t in sp.search(f"isrc:{isrc}", type="track")["tracks"]["items"]] == [track["id"]]
    artist = track["artists"][0]["name"]
    by_artist = sp.search(f'artist:"{artist}"', type="track", limit=10)["tracks"]["items"]
    assert by_artist and all(artist in [a["name"] for a in t["artists"]] for t in by_artist)
    assert sp.search("zzzz-no-such-song", type="track")["tracks"]["total"] == 0
    with pytest.raises(spotipy.SpotifyException) as too_many:
        sp.search("a", type="track", limit=11)  # Spotify caps search at 10 per page for new apps
    assert too_many.value.http_status == 400


def test_search_next_url_is_followable(sp: spotipy.Spotify) -> None:
    first = sp.search("e", type="track", limit=5)["tracks"]
    second = sp.next(first)
    assert second is not None and second["tracks"]["offset"] == 5
    assert second["tracks"]["total"] == first["total"]


def test_track_lookup(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    track = fake.catalogue[0]
    assert sp.track(track["uri"]) == track
    for bad, status in (("0" * 22, 404), ("short", 400)):
        with pytest.raises(spotipy.SpotifyException) as missing:
            sp._get(f"tracks/{bad}")
        assert missing.value.http_status == status


def test_me_omits_withdrawn_fields_unless_asked(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    me = sp.me()
    assert me["id"] == fake.user["id"] and me["display_name"] and me["account_id"]
    assert not {"email", "country", "product"} & me.keys()
    fake.legacy_user_fields = True
    assert sp.me()["email"] == fake.user["email"]


def test_audio_features_forbidden_unless_enabled(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    ids = [t["id"] for t in fake.catalogue[:3]]
    with pytest.warns(DeprecationWarning), pytest.raises(spotipy.SpotifyException) as forbidden:
        sp.audio_features(ids)
    assert forbidden.value.http_status == 403
    fake.audio_features_enabled = True
    with pytest.warns(DeprecationWarning):
        features = sp.audio_features(ids)
    assert [f["id"] for f in features] == ids
    assert all(0 <= f["valence"] <= 1 and 0 <= f["energy"] <= 1 and f["tempo"] > 0 for f in features)


def test_playlist_create_and_add_items(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    playlist = sp.current_user_playlist_create("Soundtrack: Episode 1", public=False, description="mash-up")
    assert playlist["owner"]["id"] == fake.user["id"] and playlist["public"] is False
    uris = [t["uri"] for t in fake.catalogue[:4]]
    first = sp.playlist_add_items(playlist["id"], uris[:3])
    second = sp.playlist_add_items(playlist["id"], uris[3:], position=0)
    assert first["snapshot_id"] != second["snapshot_id"]
    stored = fake.playlists[playlist["id"]]
    assert (stored.name, stored.public, stored.description) == ("Soundtrack: Episode 1", False, "mash-up")
    assert stored.uris == [uris[3], *uris[:3]]
    with pytest.raises(spotipy.SpotifyException) as bad_uri:
        sp.playlist_add_items(playlist["id"], ["spotify:track:nope"])
    assert bad_uri.value.http_status == 400


def test_playlist_via_users_route_and_tracks_alias(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    with pytest.warns(DeprecationWarning):
        playlist = sp.user_playlist_create(fake.user["id"], "Mash-up")
    sp._post(f"playlists/{playlist['id']}/tracks", payload={"uris": [fake.catalogue[9]["uri"]]})
    assert fake.playlists[playlist["id"]].uris == [fake.catalogue[9]["uri"]]
    with pytest.warns(DeprecationWarning), pytest.raises(spotipy.SpotifyException) as other_user:
        sp.user_playlist_create("someoneelse", "Mash-up")
    assert other_user.value.http_status == 403


def test_scopes_are_enforced(fake: FakeSpotify, clients: Clients) -> None:
    narrow = clients(fake.issue_token("user-read-private")["access_token"])
    for call in (
        narrow.current_user_top_tracks,
        narrow.current_user_recently_played,
        narrow.current_user_saved_tracks,
    ):
        with pytest.raises(spotipy.SpotifyException) as denied:
            call()
        assert (denied.value.http_status, denied.value.msg.split("\n ")[-1]) == (
            403,
            "Insufficient client scope",
        )
    fake.enforce_scopes = False
    assert narrow.current_user_top_tracks()["items"]


# -- Web API authentication ------------------------------------------------------------------------


def test_bearer_token_required(fake: FakeSpotify, session: requests.Session) -> None:
    with session.get(fake.api_url + "me", timeout=5) as anonymous:
        assert anonymous.status_code == 401
        assert anonymous.json() == {"error": {"status": 401, "message": "No token provided"}}
    assert "Authorization" not in fake.calls[-1].headers
    with session.get(fake.api_url + "me", headers={"Authorization": "Bearer forged"}, timeout=5) as forged:
        assert (forged.status_code, forged.json()["error"]["message"]) == (401, "Invalid access token")
    with session.get(fake.api_url + "me", auth=("a", "b"), timeout=5) as basic:
        assert basic.status_code == 400


def test_expired_access_token(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    sp.me()
    fake.expire_access_tokens()
    with pytest.raises(spotipy.SpotifyException) as expired:
        sp.me()
    assert expired.value.http_status == 401 and "The access token expired" in expired.value.msg


def test_client_credentials_token_has_no_user(
    fake: FakeSpotify, session: requests.Session, clients: Clients
) -> None:
    form = {"grant_type": "client_credentials"}
    auth = (fake.client_id, fake.client_secret)
    with session.post(fake.accounts_url + "api/token", data=form, auth=auth, timeout=5) as granted:
        token = granted.json()
    assert set(token) == {"access_token", "token_type", "expires_in"}
    app_only = clients(token["access_token"])
    assert app_only.search("a", type="track")["tracks"]["items"]
    with pytest.raises(spotipy.SpotifyException) as no_user:
        app_only.me()
    assert no_user.value.http_status == 401
    with session.post(
        fake.accounts_url + "api/token", data=form | {"client_id": fake.client_id}, timeout=5
    ) as public:
        assert (public.status_code, public.json()["error"]) == (400, "invalid_client")


# -- accounts: authorize and PKCE ------------------------------------------------------------------


def test_pkce_flow_with_spotipy(fake: FakeSpotify, session: requests.Session) -> None:
    manager = pkce_manager(fake, session, state="csrf-42")
    query = redirect_query(session.get(manager.get_authorize_url(), allow_redirects=False, timeout=5))
    assert query["state"] == "csrf-42"
    access = manager.get_access_token(query["code"], check_cache=False)
    client = spotipy.Spotify(auth_manager=manager, requests_session=session, retries=0, status_retries=0)
    client.prefix = fake.api_url
    assert client.me()["id"] == fake.user["id"]
    assert fake.calls[-1].headers["Authorization"] == f"Bearer {access}"
    recorded = fake.authorize_requests[-1]
    assert recorded["code_challenge_method"] == "S256" and recorded["state"] == "csrf-42"
    assert set(recorded["scope"].split()) == set(APP_SCOPE.split())
    assert [r.grant_type for r in fake.token_requests] == ["authorization_code"]
    assert fake.token_requests[-1].params["code_verifier"] == manager.code_verifier


def test_pkce_verifier_mismatch_and_missing(fake: FakeSpotify, session: requests.Session) -> None:
    verifier = secrets.token_urlsafe(48)
    code = redirect_query(authorize(fake, session, verifier))["code"]
    with exchange(fake, session, code, secrets.token_urlsafe(48)) as wrong:
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_grant", "error_description": "code_verifier was incorrect"}
    code = redirect_query(authorize(fake, session, verifier))["code"]
    with exchange(fake, session, code, None) as missing:
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_code_is_single_use_and_bound_to_redirect_uri(fake: FakeSpotify, session: requests.Session) -> None:
    verifier = secrets.token_urlsafe(48)
    code = redirect_query(authorize(fake, session, verifier))["code"]
    with exchange(fake, session, code, verifier) as first:
        assert first.status_code == 200
        token = first.json()
    assert set(token) == {"access_token", "token_type", "scope", "expires_in", "refresh_token"}
    with exchange(fake, session, code, verifier) as replay:
        assert replay.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    code = redirect_query(authorize(fake, session, verifier))["code"]
    with exchange(fake, session, code, verifier, redirect_uri="http://127.0.0.1:5000/other") as moved:
        assert moved.json()["error"] == "invalid_grant"


def test_confidential_client_basic_auth(fake: FakeSpotify, session: requests.Session) -> None:
    verifier = secrets.token_urlsafe(48)
    code = redirect_query(authorize(fake, session, verifier))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": fake.redirect_uri,
        "code_verifier": verifier,
    }
    url = fake.accounts_url + "api/token"
    with session.post(url, data=form, auth=(fake.client_id, "wrong"), timeout=5) as wrong_secret:
        assert wrong_secret.json() == {
            "error": "invalid_client",
            "error_description": "Invalid client secret",
        }
    code = redirect_query(authorize(fake, session, verifier))["code"]
    with session.post(
        url, data=form | {"code": code}, auth=(fake.client_id, fake.client_secret), timeout=5
    ) as ok:
        assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert fake.token_requests[-1].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "user-top-read admin"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"state": None}, "invalid_request"),
    ],
)
def test_authorize_redirects_request_errors(
    fake: FakeSpotify, session: requests.Session, overrides: dict[str, Any], error: str
) -> None:
    query = redirect_query(authorize(fake, session, "v" * 43, **overrides))
    assert query["error"] == error and "code" not in query


@pytest.mark.parametrize(
    "overrides", [{"client_id": "someone-else"}, {"redirect_uri": "http://127.0.0.1:5000/callback/spotify/"}]
)
def test_authorize_rejects_unknown_client_or_redirect(
    fake: FakeSpotify, session: requests.Session, overrides: dict[str, str]
) -> None:
    with authorize(fake, session, "v" * 43, **overrides) as page:
        assert page.status_code == 400 and "INVALID_CLIENT" in page.text
        assert page.headers["Content-Type"].startswith("text/html")


def test_deny_next_authorize(fake: FakeSpotify, session: requests.Session) -> None:
    fake.deny_next_authorize = True
    assert redirect_query(authorize(fake, session, "v" * 43)) == {
        "error": "access_denied",
        "state": "state-123",
    }
    assert "code" in redirect_query(authorize(fake, session, "v" * 43))


# -- accounts: refresh tokens ----------------------------------------------------------------------


def test_refresh_without_rotation(fake: FakeSpotify, session: requests.Session, clients: Clients) -> None:
    token = fake.issue_token()
    for _ in range(2):
        with refresh(fake, session, token["refresh_token"]) as refreshed:
            body = refreshed.json()
        assert refreshed.status_code == 200 and "refresh_token" not in body
        assert body["access_token"] != token["access_token"]
        assert clients(body["access_token"]).me()["id"] == fake.user["id"]
    assert [r.grant_type for r in fake.token_requests] == ["refresh_token", "refresh_token"]


def test_rotating_refresh_tokens(fake: FakeSpotify, session: requests.Session) -> None:
    fake.rotate_refresh_tokens = True
    old = fake.issue_token()["refresh_token"]
    with refresh(fake, session, old) as rotated:
        new = rotated.json()["refresh_token"]
    assert new != old
    with refresh(fake, session, old) as stale:
        assert stale.status_code == 400
        assert stale.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    with refresh(fake, session, new) as fresh:
        assert fresh.status_code == 200


def test_refresh_through_spotipy_managers(fake: FakeSpotify, session: requests.Session) -> None:
    fake.rotate_refresh_tokens = True
    old = fake.issue_token()["refresh_token"]
    confidential = SpotifyOAuth(
        fake.client_id,
        fake.client_secret,
        fake.redirect_uri,
        cache_handler=MemoryCacheHandler(),
        requests_session=session,
    )
    confidential.OAUTH_TOKEN_URL = fake.accounts_url + "api/token"
    rotated = confidential.refresh_access_token(old)["refresh_token"]
    assert rotated != old
    manager = pkce_manager(fake, session)
    assert manager.refresh_access_token(rotated)["refresh_token"] != rotated
    fake.invalid_grant_on_refresh = True
    with pytest.raises(SpotifyOauthError) as revoked:
        manager.refresh_access_token(fake.issue_token()["refresh_token"])
    assert revoked.value.error == "invalid_grant"


# -- fault modes -----------------------------------------------------------------------------------


def test_fault_applies_to_prefix_then_recovers(fake: FakeSpotify, session: requests.Session) -> None:
    fault = fake.add_fault("/v1/me/top/tracks", 503, times=2)
    headers = {"Authorization": f"Bearer {fake.issue_token()['access_token']}"}
    statuses = []
    for path in ("me", "me/top/tracks", "me/top/tracks", "me/top/tracks"):
        with session.get(fake.api_url + path, headers=headers, timeout=5) as response:
            statuses.append(response.status_code)
    assert statuses == [200, 503, 503, 200]  # other paths are untouched
    assert fault.served == 2 and fault.remaining == 0
    assert len(fake.calls) == 4  # faulted requests are recorded too


def test_fault_forever_with_custom_response_until_reset(fake: FakeSpotify, session: requests.Session) -> None:
    fake.add_fault("/v1/", 418, times=None, headers={"X-Fault": "yes"}, body=b"teapot")
    for _ in range(3):
        with session.get(fake.api_url + "me", timeout=5) as response:
            assert (response.status_code, response.text, response.headers["X-Fault"]) == (
                418,
                "teapot",
                "yes",
            )
    fake.reset_faults()
    with session.get(fake.api_url + "me", timeout=5) as response:
        assert response.status_code == 401


def test_delay_only_and_json_bodies(fake: FakeSpotify, session: requests.Session) -> None:
    headers = {"Authorization": f"Bearer {fake.issue_token()['access_token']}"}
    fake.add_fault("/v1/me", 200, delay=0.2)  # a 2xx without a body only delays the real response
    started = time.monotonic()
    with session.get(fake.api_url + "me", headers=headers, timeout=5) as delayed:
        assert delayed.json()["id"] == fake.user["id"] and time.monotonic() - started >= 0.2
    fake.add_fault("/accounts/api/token", 400, body='{"error": "invalid_grant"}')
    with refresh(fake, session, "whatever") as refused:
        assert refused.headers["Content-Type"].startswith("application/json")
        assert refused.json() == {"error": "invalid_grant"}
    fake.add_fault("/v1/me", 200, body="{not json")
    with session.get(fake.api_url + "me", timeout=5) as truncated:
        assert truncated.headers["Content-Type"].startswith("application/json")


def test_rate_limit(fake: FakeSpotify, session: requests.Session) -> None:
    fake.rate_limit(retry_after=1)
    for path in ("me", "me/tracks", "search?q=a&type=track"):
        with session.get(fake.api_url + path, timeout=5) as limited:
            assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
            assert limited.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}


def test_spotipy_without_retries_reports_any_retryable_status_as_429(
    fake: FakeSpotify, clients: Clients
) -> None:
    """With its own session and retries=0, spotipy turns 429/5xx into "429 Max Retries" and drops headers.

    Passing a status_forcelist that never matches keeps the real status and Retry-After.
    """
    fake.server_errors("/v1/me", statuses=(502,), times=1)
    with pytest.raises(spotipy.SpotifyException) as masked:
        clients().me()
    assert (masked.value.http_status, masked.value.headers) == (429, {})
    assert "Max Retries" in masked.value.msg and "502" in str(masked.value.reason)
    fake.rate_limit("/v1/me", retry_after=7, times=1)
    with pytest.raises(spotipy.SpotifyException) as honest:
        clients(status_forcelist=(599,)).me()
    assert (honest.value.http_status, honest.value.headers["Retry-After"]) == (429, "7")


def test_spotipy_retries_honour_a_single_rate_limit(fake: FakeSpotify, clients: Clients) -> None:
    fake.rate_limit("/v1/me", retry_after=0, times=1)
    assert clients(retries=1, status_retries=1).me()["id"] == fake.user["id"]
    assert [c.path for c in fake.calls] == ["/v1/me/", "/v1/me/"]


def test_server_errors_cycle_then_recover(fake: FakeSpotify, session: requests.Session) -> None:
    fake.server_errors("/v1/me/tracks")
    statuses = []
    for _ in range(4):
        with session.get(fake.api_url + "me/tracks", timeout=5) as response:
            statuses.append(response.status_code)
    assert statuses == [500, 502, 503, 401]
    fake.server_errors("/accounts/api/token", statuses=(502,), times=None)
    with pytest.raises(SpotifyOauthError):
        pkce_manager(fake, session).refresh_access_token(fake.issue_token()["refresh_token"])
    assert fake.token_requests[-1].grant_type == "refresh_token"


def test_slow_responses(fake: FakeSpotify, session: requests.Session, sp: spotipy.Spotify) -> None:
    fake.slow("/v1/me/tracks", 0.3, times=1)
    started = time.monotonic()
    assert sp.current_user_saved_tracks()["items"]
    assert time.monotonic() - started >= 0.3
    fake.slow("/v1/me", 5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(fake.api_url + "me", timeout=0.2)


def test_stop_does_not_wait_for_slow_requests(fake: FakeSpotify) -> None:
    fake.slow("/v1/", 30)
    outcome: list[object] = []

    def call() -> None:
        try:
            with requests.get(fake.api_url + "me", timeout=10) as response:
                outcome.append(response.status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    fake.stop()
    worker.join(timeout=10)
    assert time.monotonic() - started < 3 and outcome


def test_malformed_json(fake: FakeSpotify, session: requests.Session, sp: spotipy.Spotify) -> None:
    fake.malformed_json("/v1/me/top/tracks", times=2)
    with session.get(fake.api_url + "me/top/tracks", timeout=5) as response:
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.JSONDecodeError):
            response.json()
    assert sp.current_user_top_tracks() is None  # spotipy swallows the decode error: callers must check


def test_forbid_user_dev_mode(fake: FakeSpotify, session: requests.Session, sp: spotipy.Spotify) -> None:
    fake.forbid_user()
    with session.get(fake.api_url + "me", timeout=5) as response:
        assert (response.status_code, response.text) == (403, DEV_MODE_FORBIDDEN)
    for call in (sp.me, sp.current_user_top_tracks):
        with pytest.raises(spotipy.SpotifyException) as forbidden:
            call()
        assert forbidden.value.http_status == 403 and DEV_MODE_FORBIDDEN in forbidden.value.msg
        assert forbidden.value.reason is None  # plain text body: there is no JSON error object to read
    fake.reset_faults()
    assert sp.me()["id"]


def test_foreign_next_url_in_every_paging_payload(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    fake.foreign_next_url = "http://evil.example/steal"
    assert sp.current_user_top_tracks(limit=50, time_range="short_term")["next"] == fake.foreign_next_url
    assert sp.current_user_saved_tracks(limit=50)["next"] == fake.foreign_next_url
    assert sp.current_user_recently_played(limit=10)["next"] == fake.foreign_next_url
    assert sp.search("a", type="track")["tracks"]["next"] == fake.foreign_next_url
    fake.reset_faults()
    assert sp.current_user_top_tracks(limit=50, time_range="short_term")["next"] is None


def test_concurrent_requests(fake: FakeSpotify) -> None:
    headers = {"Authorization": f"Bearer {fake.issue_token()['access_token']}"}

    def fetch(index: int) -> int:
        path = ("me", "me/top/tracks", "me/tracks", "me/player/recently-played")[index % 4]
        with requests.get(fake.api_url + path, headers=headers, timeout=5) as response:
            return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(fetch, range(64)))
    assert statuses == [200] * 64 and len(fake.calls) == 64


# -- library helpers, images, determinism ----------------------------------------------------------


def test_default_library_is_deterministic_and_varied() -> None:
    one, same, other = FakeSpotify(seed=1), FakeSpotify(seed=1), FakeSpotify(seed=2)
    assert [t["id"] for t in one.catalogue] == [t["id"] for t in same.catalogue]
    assert [t["id"] for t in one.catalogue] != [t["id"] for t in other.catalogue]
    assert one.recent == same.recent and one.user == same.user
    catalogue = one.catalogue
    assert len({t["id"] for t in catalogue}) == len(catalogue) >= 60
    years = {int(t["album"]["release_date"][:4]) for t in catalogue}
    assert min(years) >= 1975 and max(years) <= 2025 and len(years) > 15
    assert 0 < sum(t["explicit"] for t in catalogue) < len(catalogue)
    assert any(len(t["artists"]) > 1 for t in catalogue)
    assert all(re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", t["external_ids"]["isrc"]) for t in catalogue)
    assert all(
        t["external_urls"]["spotify"] == f"https://open.spotify.com/track/{t['id']}" for t in catalogue
    )


def test_custom_library(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    anthem = fake.make_track(
        "Episode One Theme",
        ["Cast of Soundtrack", "Guest Star"],
        album="Season One",
        year=2019,
        isrc="USABC1900001",
    )
    ballad = fake.make_track("Quiet Ballad", "Cast of Soundtrack", explicit=True)
    assert BASE62_ID.match(anthem["id"]) and anthem["album"]["album_type"] == "album"
    assert ballad["album"]["album_type"] == "single" and ballad["album"]["images"][0]["url"].startswith(
        fake.base_url
    )
    fake.set_library(
        [anthem, ballad],
        top={"short_term": [ballad, anthem["id"]]},
        recent=[(anthem, "2025-01-01T10:00:00.000Z"), (ballad, "2025-01-02T10:00:00.000Z")],
        saved=[(anthem, "2024-06-01T00:00:00Z")],
    )
    assert [t["id"] for t in sp.current_user_top_tracks(time_range="short_term")["items"]] == [
        ballad["id"],
        anthem["id"],
    ]
    assert sp.current_user_top_tracks(time_range="long_term")["items"] == []
    assert [i["track"]["id"] for i in sp.current_user_recently_played()["items"]] == [
        ballad["id"],
        anthem["id"],
    ]
    assert sp.current_user_saved_tracks()["items"] == [{"added_at": "2024-06-01T00:00:00Z", "track": anthem}]
    assert sp.search("isrc:USABC1900001", type="track")["tracks"]["items"] == [anthem]


def test_empty_library(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    fake.empty_library()
    assert sp.current_user_top_tracks(time_range="long_term")["items"] == []
    recent = sp.current_user_recently_played()
    assert (recent["items"], recent["cursors"], recent["next"]) == ([], None, None)
    saved = sp.current_user_saved_tracks()
    assert (saved["items"], saved["total"], saved["next"]) == ([], 0, None)


def test_hostile_names_round_trip(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    fake.set_hostile_names()
    items = sp.current_user_top_tracks(limit=50, time_range="long_term")["items"]
    names = (
        {t["name"] for t in items}
        | {a["name"] for t in items for a in t["artists"]}
        | {t["album"]["name"] for t in items}
    )
    assert names <= set(HOSTILE_NAMES)
    assert {"<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}"} <= names


def test_cover_images(fake: FakeSpotify, session: requests.Session) -> None:
    url = fake.catalogue[0]["album"]["images"][1]["url"]
    with session.get(url, timeout=5) as first, session.get(url, timeout=5) as again:
        assert first.headers["Content-Type"] == "image/jpeg" and first.content == again.content
    image = Image.open(io.BytesIO(first.content))
    assert (image.format, image.size) == ("JPEG", (300, 300))
    with session.get(fake.image_url("someone-else", 64), timeout=5) as other:
        assert Image.open(io.BytesIO(other.content)).size == (64, 64)
        assert other.content != first.content
    with session.get(fake.base_url + "/images/..%2Fsecret.jpg", timeout=5) as traversal:
        assert traversal.status_code == 404


def test_background_server_serves_any_wsgi_app() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    with BackgroundServer(app) as server:
        assert server.running
        with requests.get(server.base_url + "/ping", timeout=5) as response:
            assert response.text == "/ping"
        base_url = server.base_url
    assert not server.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(base_url + "/ping", timeout=1)


def test_standalone_entry_point() -> None:
    command = [sys.executable, "-m", "tests.fakes.spotify", "--port", "0"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                env[name] = value
            if "SPOTIFY_API_URL" in env:
                break
        try:
            assert env["SPOTIPY_REDIRECT_URI"] == "http://127.0.0.1:5000/callback/spotify"
            assert env["SPOTIFY_ACCOUNTS_URL"].endswith("/accounts/") and env["SPOTIPY_CLIENT_ID"]
            with requests.get(env["SPOTIFY_API_URL"] + "me", timeout=5) as response:
                assert response.status_code == 401
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
