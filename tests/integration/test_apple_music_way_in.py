"""Apple Music, through the app and the local Apple Music double over real HTTP: the journey, every
failure, hostile names, matching on Spotify, the token never leaking, and Apple off when unset."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.test import TestResponse

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data.models import AppleMusicToken, Listener, Track
from fanapp.sources.apple.history import MAX_CALLS
from fanapp.upstream.budget import budget_of
from fanapp.upstream.pauses import pause_store
from tests.conftest import csrf_from, make_settings
from tests.fakes.apple_music import HOSTILE_NAMES, FakeAppleMusic, make_songs

MUSICKIT = "https://js-cdn.music.apple.com/musickit/v3/musickit.js"


@pytest.fixture
def apple() -> Iterator[FakeAppleMusic]:
    with FakeAppleMusic.running() as fake:
        yield fake


@pytest.fixture
def apple_settings(database_url: str, apple: FakeAppleMusic) -> Settings:
    return make_settings(database_url, **apple.settings(), upstream_timeout=1.0)


@pytest.fixture
def apple_app(apple_settings: Settings) -> Iterator[Flask]:
    app = create_app(apple_settings)
    app.testing = True
    yield app
    app.extensions["fanapp.engine"].dispose()


def connect(client: FlaskClient, token: str, *, follow: bool = False) -> TestResponse:
    """Landing -> POST /connect/apple-music with the token MusicKit JS would have given the page."""
    csrf = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(
        "/connect/apple-music", data={"csrf_token": csrf, "music_user_token": token}, follow_redirects=follow
    )


def rows(app: Flask, model: Any) -> list[Any]:
    with Session(app.extensions["fanapp.engine"]) as s:
        return list(s.exec(select(model)).all())


def test_the_journey_reads_the_history_with_both_tokens_on_every_call(
    apple_app: Flask, apple: FakeAppleMusic
) -> None:
    client = apple_app.test_client()
    token = apple.issue_user_token()
    r = connect(client, token)
    assert r.status_code == 303 and r.headers["Location"].startswith("/build/")

    calls = apple.api_calls()
    assert calls and len(calls) <= MAX_CALLS
    assert all(c.developer_token_ok and c.user_token == token for c in calls)
    assert all("origin" not in c.claims for c in calls)  # the server's token never leaves the server
    paths = {c.path for c in calls}
    assert paths == {
        "/v1/me/recent/played/tracks",
        "/v1/me/history/heavy-rotation",
        "/v1/me/library/songs",
        "/v1/me/library/recently-added",
    }
    assert [c.query["offset"] for c in calls if c.path.endswith("/tracks")] == ["0", "10", "20", "30", "40"]

    builder = BeautifulSoup(client.get(r.headers["Location"]).get_data(as_text=True), "html.parser")
    ids = {el["data-track-id"] for el in builder.select('[data-testid="history-track"]')}
    assert ids == {"apple:" + s.catalog_id for s in apple.songs}
    assert "last 50 plays without dates or play counts" in builder.get_text()
    tracks = {t.source_id: t for t in rows(apple_app, Track)}
    heavy = tracks["apple:" + apple.songs[-1].catalog_id]
    assert heavy.top_ranks.get("apple_heavy_rotation") and heavy.top_ranks.get("short_term")
    library_only = tracks["apple:" + apple.songs[60].catalog_id]
    assert library_only.isrc == apple.songs[60].isrc  # from the library song's catalog relationship
    assert library_only.image_url and library_only.image_url.endswith("/300x300bb.jpg")
    assert any(t.saved_at is not None for t in tracks.values())  # recently added albums date songs
    assert rows(apple_app, AppleMusicToken) == []  # used for the import, then dropped


def _failed_page(r: TestResponse) -> BeautifulSoup:
    assert [h.status_code for h in r.history] == [303]  # post/redirect/get: a reload never posts again
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    page = BeautifulSoup(r.get_data(as_text=True), "html.parser")
    assert page.select_one('[data-testid="try-demo"]') is not None
    assert "upload a Spotify data export, pick your songs by hand, or try the demo" in page.get_text()
    return page


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"status": 401, "times": None}, "turned down this site's connection"),
        ({"status": 403, "times": None}, "needs an active Apple Music subscription"),
        ({"status": 500, "times": None}, "had a problem (error 500)"),
        ({"status": 503, "times": None, "body": "<html>Service Unavailable</html>"}, "error 503"),
        ({"status": 200, "times": None, "body": "{not json"}, "could not read"),
        ({"delay": 2.5, "times": 1}, "did not answer in time"),
    ],
    ids=["401", "403", "500", "503-html", "garbage", "timeout"],
)
def test_every_failure_ends_on_a_clear_page_with_nothing_kept(
    apple_app: Flask, apple: FakeAppleMusic, fault: dict[str, Any], says: str
) -> None:
    apple.fail(**fault)
    page = _failed_page(connect(apple_app.test_client(), apple.issue_user_token(), follow=True))
    assert says in page.get_text()
    assert rows(apple_app, Track) == [] and rows(apple_app, AppleMusicToken) == []
    assert [listener.import_status for listener in rows(apple_app, Listener)] == ["failed"]


def test_a_revoked_user_token_is_a_403(apple_app: Flask, apple: FakeAppleMusic) -> None:
    token = apple.issue_user_token()
    apple.revoke(token)
    page = _failed_page(connect(apple_app.test_client(), token, follow=True))
    assert "did not let us read your music" in page.get_text()
    assert [c.user_token_ok for c in apple.api_calls()] == [False]  # one call, then it stopped


def test_an_account_with_nothing_in_it_gets_the_quiet_history_page(
    apple_app: Flask, apple: FakeAppleMusic
) -> None:
    apple.use([])
    client = apple_app.test_client()
    r = connect(client, apple.issue_user_token())
    page = client.get(r.headers["Location"]) if r.status_code == 303 else r
    assert "Your history is still quiet" in page.get_data(as_text=True)
    assert len(apple.api_calls()) == 4  # one page of each list, each empty
    assert rows(apple_app, AppleMusicToken) == []


def test_a_redirect_elsewhere_is_not_followed_with_the_tokens(
    apple_app: Flask, apple: FakeAppleMusic
) -> None:
    apple.fail(302, headers={"Location": apple.base_url + "/v1/me/steal"}, times=None)
    _failed_page(connect(apple_app.test_client(), apple.issue_user_token(), follow=True))
    assert [c.path for c in apple.calls] == ["/v1/me/recent/played/tracks"]


def test_nothing_half_imported_is_kept(apple_app: Flask, apple: FakeAppleMusic) -> None:
    apple.fault_prefix = "/v1/me/library/songs"  # recent plays and heavy rotation succeed first
    apple.fail(500, times=None)
    _failed_page(connect(apple_app.test_client(), apple.issue_user_token(), follow=True))
    assert any(c.path == "/v1/me/recent/played/tracks" for c in apple.api_calls())
    assert rows(apple_app, Track) == []


def test_a_429_pauses_apple_music_for_every_later_import(
    apple_app: Flask, apple_settings: Settings, apple: FakeAppleMusic
) -> None:
    apple.fail(429, headers={"Retry-After": "120"}, times=None)
    started = time.monotonic()
    page = _failed_page(connect(apple_app.test_client(), apple.issue_user_token(), follow=True))
    assert time.monotonic() - started < 5  # nobody sleeps on Retry-After
    assert "try again in about 2 minutes" in page.get_text()
    assert pause_store(apple_settings).paused_until("apple-music") is not None
    apple.faults.clear()
    calls = len(apple.calls)
    again = _failed_page(connect(apple_app.test_client(), apple.issue_user_token(), follow=True))
    assert "slow down" in again.get_text()
    assert len(apple.calls) == calls  # paused: no request reached Apple


def test_every_call_takes_one_from_the_apple_music_budget(
    apple_app: Flask, apple_settings: Settings, apple: FakeAppleMusic
) -> None:
    assert connect(apple_app.test_client(), apple.issue_user_token()).status_code == 303
    budget = budget_of(apple_settings, "apple-music")
    assert budget is not None
    assert budget.remaining("apple-music") == apple_settings.apple_music_budget - len(apple.api_calls())


def test_hostile_names_from_apple_are_stored_bounded_and_shown_escaped(
    database_url: str,
) -> None:
    with FakeAppleMusic.running(make_songs(names=HOSTILE_NAMES)) as apple:
        app = create_app(make_settings(database_url, **apple.settings()))
        app.testing = True
        try:
            client = app.test_client()
            r = connect(client, apple.issue_user_token())
            assert r.status_code == 303
            html = client.get(r.headers["Location"]).get_data(as_text=True)
            assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            tracks = rows(app, Track)
            assert all(len(t.title) <= 300 and all(len(a) <= 200 for a in t.artists) for t in tracks)
            assert {"{{7*7}} {% raw %}", "'; DROP TABLE track; --"} <= {t.title for t in tracks}
        finally:
            app.extensions["fanapp.engine"].dispose()


def test_songs_are_matched_to_spotify_by_isrc_with_the_apps_token(
    database_url: str, fake_spotify: Any
) -> None:
    catalogue = fake_spotify.catalogue[:12]
    songs = make_songs(40)
    for song, track in zip(songs, catalogue, strict=False):
        song.name, song.artist = track["name"], track["artists"][0]["name"]
        song.isrc = track["external_ids"]["isrc"]
    with FakeAppleMusic.running(songs) as apple:
        settings = make_settings(
            database_url,
            **apple.settings(),
            spotify_client_id=fake_spotify.client_id,
            spotify_client_secret=fake_spotify.client_secret,
            spotify_accounts_url=fake_spotify.accounts_url,
            spotify_api_url=fake_spotify.api_url,
        )
        app = create_app(settings)
        app.testing = True
        try:
            assert connect(app.test_client(), apple.issue_user_token()).status_code == 303
            matched = {t.source_id: t.spotify_id for t in rows(app, Track) if t.spotify_id}
            assert matched == {
                "apple:" + s.catalog_id: t["id"] for s, t in zip(songs, catalogue, strict=False)
            }
            searches = [c.query.get("q", "") for c in fake_spotify.calls if c.path == "/v1/search"]
            # Songs Apple gave an ISRC for are looked up by it; songs 3 and 7 come only as library songs
            # with no catalog song (no ISRC), and are found by title and artist.
            with_isrc = [s for i, s in enumerate(songs[:12]) if i not in (3, 7)]
            assert {f"isrc:{s.isrc}" for s in with_isrc} <= set(searches)
            assert all(c.user_token_ok for c in apple.api_calls())
        finally:
            app.extensions["fanapp.engine"].dispose()


# -- the form, the page, the policy ------------------------------------------------------------------


def test_the_landing_hands_musickit_an_origin_bound_token_and_the_csp_allows_exactly_musickit(
    apple_app: Flask, apple: FakeAppleMusic
) -> None:
    r = apple_app.test_client().get("/")
    page = BeautifulSoup(r.get_data(as_text=True), "html.parser")
    button = page.select_one('[data-testid="connect-apple-music"]')
    form = button.find_parent("form") if button else None
    assert form is not None and form["action"] == "/connect/apple-music"
    assert form["data-musickit-src"] == MUSICKIT
    claims = apple.check_developer_token("Bearer " + form["data-developer-token"], "http://localhost")
    assert claims is not None and claims["origin"] == ["http://localhost"]
    assert claims["exp"] - claims["iat"] <= 15_777_000
    assert (
        apple.check_developer_token("Bearer " + form["data-developer-token"], "https://evil.example") is None
    )
    assert "Apple asks for your permission in a window that needs JavaScript" in str(form.find("noscript"))
    assert "BEGIN PRIVATE KEY" not in r.get_data(as_text=True)
    assert not page.find("script", src=MUSICKIT)  # MusicKit JS is loaded only when asked
    assert "Apple Music access" in apple_app.test_client().get("/privacy").get_data(as_text=True)

    csp = dict(d.strip().split(" ", 1) for d in r.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"].split() == [
        "'self'",
        "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js",
        MUSICKIT,
    ]
    assert csp["connect-src"].split() == ["'self'", apple.base_url]
    assert "https://*.mzstatic.com" in csp["img-src"].split()
    embed_csp = apple_app.test_client().get("/embed/start").headers["Content-Security-Policy"]
    assert MUSICKIT not in embed_csp and apple.base_url not in embed_csp


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "needs JavaScript"),
        ("not a token; <script>", "did not come through"),
        ("x" * 5000, "did not come through"),
    ],
    ids=["no-javascript", "junk", "too-long"],
)
def test_a_post_without_a_usable_token_explains_and_keeps_nothing(
    apple_app: Flask, apple: FakeAppleMusic, token: str, says: str
) -> None:
    client = apple_app.test_client()
    r = connect(client, token)
    assert r.status_code == 303  # post/redirect/get: a reload never posts again
    assert r.headers["Location"].endswith("/#apple-music-error")
    page = BeautifulSoup(client.get(r.headers["Location"]).get_data(as_text=True), "html.parser")
    assert says in page.select_one("#apple-music-error").get_text()
    assert page.select_one('[data-testid="upload-export"]') is not None  # the other ways in are right there
    assert rows(apple_app, Listener) == [] and apple.calls == []


def test_a_post_without_csrf_is_refused(apple_app: Flask, apple: FakeAppleMusic) -> None:
    r = apple_app.test_client().post(
        "/connect/apple-music", data={"music_user_token": apple.issue_user_token()}
    )
    assert r.status_code == 400
    assert rows(apple_app, Listener) == [] and apple.calls == []


def test_apple_music_off_when_unset(client: FlaskClient) -> None:
    r = client.get("/")
    assert "apple" not in r.get_data(as_text=True).lower()
    assert "apple" not in r.headers["Content-Security-Policy"].replace("mzstatic", "").lower()
    assert client.get("/connect/apple-music").status_code == 404
    assert "apple" not in client.get("/privacy").get_data(as_text=True).lower()
    csrf = csrf_from(r.get_data(as_text=True))
    assert (
        client.post(
            "/connect/apple-music", data={"csrf_token": csrf, "music_user_token": "x" * 40}
        ).status_code
        == 404
    )


# -- the token never leaks ---------------------------------------------------------------------------


@pytest.mark.redis
def test_the_user_token_never_leaks_into_responses_cookies_logs_or_redis(
    database_url: str, apple: FakeAppleMusic, caplog: pytest.LogCaptureFixture
) -> None:
    import redis as redis_lib
    from rq import Queue, SimpleWorker

    from fanapp.importing import jobs

    caplog.set_level(logging.DEBUG)
    settings = make_settings(database_url, **apple.settings(), redis_url="redis://127.0.0.1:6379/0")
    app = create_app(settings)
    app.testing = True
    conn = redis_lib.Redis.from_url(settings.redis_url)
    seen: list[str] = []
    try:
        client = app.test_client()
        token = apple.issue_user_token()

        def visit(r: TestResponse) -> TestResponse:
            seen.append(r.get_data(as_text=True))
            seen.extend(f"{k}: {v}" for k, v in r.headers.items())
            return r

        landing = visit(client.get("/"))
        posted = visit(
            client.post(
                "/connect/apple-music",
                data={"csrf_token": csrf_from(landing.get_data(as_text=True)), "music_user_token": token},
            )
        )
        assert posted.status_code == 303  # queued: on to the progress page
        queue = Queue(settings.redis_prefix + jobs.QUEUE, connection=conn)
        payloads = [conn.hgetall(f"rq:job:{job_id}") for job_id in queue.job_ids]
        assert payloads
        seen.extend(_readable(v) for payload in payloads for v in payload.values())
        with app.app_context():
            SimpleWorker([queue], connection=conn).work(burst=True)
        location = posted.headers["Location"]
        for _ in range(5):
            r = visit(client.get(location))
            if r.status_code != 303:
                break
            location = r.headers["Location"]
        assert re.search(r"/build/\d+", location), location
        builder = visit(client.get(location))
        visit(
            client.post(location + "/publish", data={"csrf_token": csrf_from(builder.get_data(as_text=True))})
        )
        marker = settings.redis_prefix.rstrip(":")
        for key in conn.scan_iter(match=f"*{marker}*"):
            seen.append(_readable(key))
            kind = conn.type(key)
            if kind == b"string":
                seen.append(_readable(conn.get(key)))
            elif kind == b"hash":
                seen.extend(_readable(v) for v in conn.hgetall(key).values())
            elif kind in (b"list", b"zset", b"set"):
                members = (
                    conn.lrange(key, 0, -1)
                    if kind == b"list"
                    else conn.zrange(key, 0, -1)
                    if kind == b"zset"
                    else conn.smembers(key)
                )
                seen.extend(_readable(m) for m in members)
        cookie = client.get_cookie("session")
        assert cookie is not None
        seen.append(cookie.value)
        seen.append(caplog.text)
        seen.extend(str(record.args) for record in caplog.records)

        assert apple.api_calls() and all(c.user_token == token and c.user_token_ok for c in apple.api_calls())
        everything = "\n".join(seen)
        assert token not in everything
        key_body = "".join(apple.private_key_pem.splitlines()[1:-1])
        assert key_body[:40] not in everything
        assert rows(app, AppleMusicToken) == []
    finally:
        marker = settings.redis_prefix.rstrip(":")
        for key in conn.scan_iter(match=f"*{marker}*"):
            conn.delete(key)
        conn.close()
        app.extensions["fanapp.engine"].dispose()


def _readable(value: Any) -> str:
    """A Redis value as text, RQ's zlib-compressed pickles unpacked, so a token inside would show."""
    if isinstance(value, str):
        return value
    raw = bytes(value)
    with contextlib.suppress(zlib.error):
        raw = zlib.decompress(raw)
    return raw.decode("latin-1")


def test_the_double_refuses_what_apple_refuses(apple: FakeAppleMusic) -> None:
    from fanapp.sources.apple.developer import DeveloperTokens

    def signer(**changes: Any) -> DeveloperTokens:
        values = {"team_id": apple.team_id, "key_id": apple.key_id, "private_key": apple.private_key_pem}
        return DeveloperTokens(**{**values, **changes})

    assert apple.check_developer_token("Bearer " + signer().token(), None) is not None
    assert apple.check_developer_token("Bearer " + signer(team_id="OTHER12345").token(), None) is None
    assert apple.check_developer_token("Bearer " + signer(key_id="OTHERKEY12").token(), None) is None
    other = FakeAppleMusic()
    assert (
        apple.check_developer_token("Bearer " + signer(private_key=other.private_key_pem).token(), None)
        is None
    )
    six_months_and_a_day = jwt.encode(
        {"iss": apple.team_id, "iat": int(time.time()), "exp": int(time.time()) + 15_777_000 + 86_400},
        signer()._key,
        algorithm="ES256",
        headers={"kid": apple.key_id},
    )
    assert apple.check_developer_token("Bearer " + six_months_and_a_day, None) is None
    assert apple.check_developer_token("Bearer " + signer().token("https://fans.example"), None) is None


# -- saving an episode to Apple Music (asked for only then) -----------------------------------------


def _publish(client: FlaskClient, builder_path: str) -> str:
    builder = client.get(builder_path).get_data(as_text=True)
    r = client.post(builder_path + "/publish", data={"csrf_token": csrf_from(builder)})
    assert r.status_code == 303
    return str(r.headers["Location"])


def test_saving_to_apple_music_asks_only_then_and_keeps_nothing(
    apple_app: Flask, apple: FakeAppleMusic
) -> None:
    client = apple_app.test_client()
    share_path = _publish(client, connect(client, apple.issue_user_token()).headers["Location"])
    share = BeautifulSoup(apple_app.test_client().get(share_path).get_data(as_text=True), "html.parser")
    link = share.select_one('[data-testid="save-to-apple-music"]')
    assert link is not None and link["href"] == share_path + "/save-to-apple-music"
    order = [
        el["data-track-id"]
        for key in "ab"
        for el in share.select(f'[data-testid="character-{key}"] [data-testid="track"]')
    ]
    order += [el["data-track-id"] for el in share.select('[data-testid="mashup-track"]')]

    page = client.get(link["href"])
    form = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("form[data-apple-music]")
    assert form is not None and form.select_one('[data-testid="confirm-save-to-apple-music"]') is not None
    calls = len(apple.calls)
    token = apple.issue_user_token()
    form_data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "music_user_token": token}
    saved = client.post(link["href"], data=form_data)
    text = BeautifulSoup(saved.get_data(as_text=True), "html.parser")
    assert "Saved to your Apple Music" in text.get_text()
    [playlist] = apple.playlists
    assert text.select_one(f'a[href="https://music.apple.com/library/playlist/{playlist["id"]}"]') is not None
    assert playlist["tracks"] == [i.removeprefix("apple:") for i in order]
    assert playlist["attributes"]["name"].startswith("your Soundtrack: ")
    [call] = apple.calls[calls:]
    assert (call.method, call.path, call.user_token, call.developer_token_ok) == (
        "POST",
        "/v1/me/library/playlists",
        token,
        True,
    )
    assert rows(apple_app, AppleMusicToken) == [] and token not in saved.get_data(as_text=True)

    apple.revoke(token)
    refused = client.post(link["href"], data=form_data)
    assert "did not let us add a playlist" in refused.get_data(as_text=True)
    assert len(apple.playlists) == 1


def test_no_save_to_apple_music_for_episodes_without_apple_songs_or_with_apple_off(
    apple_app: Flask, client: FlaskClient
) -> None:
    from tests.conftest import publish_demo

    slug = publish_demo(apple_app.test_client())
    share = apple_app.test_client().get(f"/s/{slug}").get_data(as_text=True)
    assert 'data-testid="save-to-apple-music"' not in share
    assert "nothing to save there" in apple_app.test_client().get(f"/s/{slug}/save-to-apple-music").get_data(
        as_text=True
    )
    off = publish_demo(client)
    assert client.get(f"/s/{off}/save-to-apple-music").status_code == 404
