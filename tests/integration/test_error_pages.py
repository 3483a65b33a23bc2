"""Every error a visitor can meet is a page in the app's look that says what happened and what to do next;
htmx gets a fragment, the JSON routes get JSON, and control characters are a 400 on every input."""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask, abort, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fanapp import create_app
from fanapp.errors import FanappError
from fanapp.site.limits import connect_limit, limiter
from tests.conftest import csrf_from, make_settings, publish_demo, start_demo

STATUSES = [400, 403, 404, 410, 413, 429, 500, 503]


def _with_test_routes(app: Flask) -> Flask:
    """Routes that fail on purpose, added before the first request (as a view deep in the app would)."""

    @app.get("/__fail/<int:code>")
    def fail(code: int) -> str:
        if code == 500:
            raise RuntimeError("a bug, with a secret=hunter2 in its message")
        abort(code)

    @app.get("/__upstream")
    def upstream() -> str:
        raise FanappError("Spotify did not answer in time.", retry_after=90)

    @app.post("/__json")
    def json_body() -> dict[str, Any]:
        return {"got": request.get_json()}

    @app.get("/__limited")
    @limiter.limit(connect_limit)
    def limited() -> str:
        return "ok"

    return app


@pytest.fixture
def live_app(database_url: str) -> Iterator[Flask]:
    """An app as in production (errors are not re-raised to the test), with routes that fail on purpose."""
    settings = make_settings(database_url, limit_connect="2 per minute", limit_search="10000 per minute")
    application = _with_test_routes(create_app(settings))
    application.testing = False
    yield application
    application.extensions["fanapp.engine"].dispose()


def assert_designed(response: Any, status: int, *, stored: bool = False) -> BeautifulSoup:
    """The app's own page: its stylesheet, an `error-message` that says what happened and what next."""
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one('link[rel="stylesheet"][href$="/static/css/app.css"]'), "not in the app's look"
    message = page.select_one('[data-testid="error-message"]')
    assert message is not None
    text = message.get_text(" ", strip=True)
    assert len(text) > 40  # what happened, and what to do next
    assert "Traceback" not in response.get_data(as_text=True)
    if not stored:
        assert response.headers["Cache-Control"] == "no-store"  # no cache keeps a passing failure
    return page


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_a_designed_page(live_app: Flask, status: int) -> None:
    page = assert_designed(live_app.test_client().get(f"/__fail/{status}"), status)
    assert str(status) in page.get_text()


@pytest.mark.parametrize("status", STATUSES)
def test_htmx_gets_a_fragment(live_app: Flask, status: int) -> None:
    r = live_app.test_client().get(f"/__fail/{status}", headers={"HX-Request": "true"})
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert "<html" not in html and "<body" not in html
    assert BeautifulSoup(html, "html.parser").select_one('[data-testid="error-message"][role="alert"]')
    assert "HX-Request" in r.headers["Vary"]


def test_a_bug_is_a_500_that_leaks_nothing(live_app: Flask) -> None:
    r = live_app.test_client().get("/__fail/500")
    assert_designed(r, 500)
    assert "hunter2" not in r.get_data(as_text=True) and "RuntimeError" not in r.get_data(as_text=True)


def test_an_upstream_failure_says_what_and_when(live_app: Flask) -> None:
    r = live_app.test_client().get("/__upstream")
    page = assert_designed(r, 503)
    assert "Spotify did not answer in time." in page.select_one('[data-testid="error-message"]').get_text()
    assert "2 minutes" in page.get_text()
    assert r.headers["Retry-After"] == "90"


def test_real_404_and_csrf_400(live_app: Flask) -> None:
    client = live_app.test_client()
    page = assert_designed(client.get("/s/AAAAAAAAAAAAAAAAAAAAAA"), 404)
    assert "no published episode" in page.get_text()
    page = assert_designed(client.post("/demo"), 400)
    assert "CSRF" not in page.get_text() and "expired" in page.get_text()


def test_flask_limiters_429_is_designed(live_app: Flask) -> None:
    client = live_app.test_client()
    assert [client.get("/__limited").status_code for _ in range(2)] == [200, 200]
    r = client.get("/__limited")
    page = assert_designed(r, 429)
    assert "per 1 minute" not in page.get_text()  # not the limiter's own words
    assert int(r.headers["Retry-After"]) > 0
    assert "Wait" in page.select_one('[data-testid="error-message"]').get_text()


def test_werkzeugs_413_is_designed(live_app: Flask) -> None:
    client = live_app.test_client()
    token = csrf_from(client.get("/").get_data(as_text=True))
    r = client.post("/demo", data={"csrf_token": token, "padding": "x" * (3 * 1024 * 1024)})
    page = assert_designed(r, 413)
    assert "200 MB" in page.get_text()


def test_spotify_off_is_a_designed_503(live_app: Flask) -> None:
    assert_designed(live_app.test_client().get("/connect/spotify"), 503, stored=True)


@pytest.mark.parametrize(
    "path",
    ["/s/AAAAAAAAAAAAAAAAAAAAAA.json", "/oembed?url=https%3A%2F%2Felsewhere.example%2Fs%2Fabc&format=json"],
)
def test_json_routes_answer_errors_as_json(live_app: Flask, path: str) -> None:
    r = live_app.test_client().get(path)
    assert r.status_code == 404
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == 404 and body["message"] and body["next"]


def test_an_api_client_asking_for_json_gets_json(live_app: Flask) -> None:
    r = live_app.test_client().get("/__fail/429", headers={"Accept": "application/json"})
    assert r.status_code == 429 and r.get_json()["status"] == 429


# -- control characters: a 400 on every input, never a 500 ---------------------------------------------


HEADERS = ["referer", "host", "htmx-header"]
BODIES = ["query", "path", "form", "json", "filename", "search"]


# A header's bytes above 0x7f are obs-text (RFC 9110), not control characters: C1 is tried in text only.
@pytest.mark.parametrize(
    ("where", "char"),
    [(w, c) for w in BODIES + HEADERS for c in ("\x00", "\x1b", "\x7f")] + [(w, "\x85") for w in BODIES],
)
def test_control_characters_are_refused_everywhere(live_app: Flask, where: str, char: str) -> None:
    client = live_app.test_client()
    token = csrf_from(client.get("/").get_data(as_text=True))
    bad = f"abc{char}def"
    if where == "query":
        r = client.get("/", query_string={"utm_campaign": bad})
    elif where == "search":
        r = client.get("/pick/", query_string={"q": bad})
    elif where == "path":
        r = client.get("/s/" + bad.replace("\x00", "%00"))
    elif where == "form":
        r = client.post("/demo", data={"csrf_token": token, "name": bad})
    elif where == "json":
        r = client.post(
            "/__json",
            data=json.dumps({"name": bad}),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
    elif where == "referer":
        r = client.get("/", headers={"Referer": "http://127.0.0.1/" + bad})
    elif where == "host":
        r = client.get("/", headers={"Host": bad})
    elif where == "htmx-header":
        r = client.get("/", headers={"HX-Request": "true", "HX-Current-URL": bad})
    else:
        data = {"csrf_token": token, "files": [(io.BytesIO(b"[]"), f"Streaming{char}History.json")]}
        r = client.post("/upload", data=data, content_type="multipart/form-data")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    if where == "json":
        assert r.mimetype == "application/json" or "error-message" in r.get_data(as_text=True)
    elif where != "htmx-header":
        page = assert_designed(r, 400)
        assert "control character" in page.get_text()


def test_tabs_and_line_breaks_are_still_fine_in_text(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    r = client.post(
        builder_url + "/rename", data={"csrf_token": token, "character": "a", "name": "Tab\tName"}
    )
    assert r.status_code == 303


def test_an_http_exception_subclass_keeps_its_headers(live_app: Flask) -> None:
    r = live_app.test_client().post("/s/AAAAAAAAAAAAAAAAAAAAAA")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert BeautifulSoup(r.get_data(as_text=True), "html.parser").select_one('[data-testid="error-message"]')


# -- rough edges: one Date header, plural words -------------------------------------------------------


def _wsgi_headers(app: Flask, path: str, **environ: str) -> list[tuple[str, str]]:
    """The headers the app hands the WSGI server (which adds its own Date, as gunicorn always does)."""
    from werkzeug.test import EnvironBuilder

    seen: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.extend(headers)
        return lambda data: None

    env = EnvironBuilder(path=path, environ_overrides=environ).get_environ()
    for _chunk in app.wsgi_app(env, start_response):  # type: ignore[arg-type]
        pass
    return seen


def test_share_responses_leave_the_date_header_to_the_server(app: Flask, client: FlaskClient) -> None:
    slug = publish_demo(client)
    # (Images take the same path; not rendered here, as other tests count the files in the image store.)
    for path in (f"/s/{slug}", f"/s/{slug}.json", f"/embed/s/{slug}"):
        first = _wsgi_headers(app, path)
        assert [k for k, _ in first if k.lower() == "date"] == [], path
        etag = dict(first).get("ETag")
        if etag:  # the conditional answer (Werkzeug's make_conditional adds a Date) too
            again = _wsgi_headers(app, path, HTTP_IF_NONE_MATCH=etag)
            assert [k for k, _ in again if k.lower() == "date"] == [], path


def test_counts_say_1_episode(client: FlaskClient) -> None:
    from fanapp.site.templating import count

    assert [count(1, "episode"), count(2, "episode"), count(1200, "song")] == [
        "1 episode",
        "2 episodes",
        "1,200 songs",
    ]
    assert count(1, "history") == "1 history" and count(3, "history") == "3 histories"
    publish_demo(client)
    token = csrf_from(client.get("/my-data/").get_data(as_text=True))
    r = client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=True)
    text = BeautifulSoup(r.get_data(as_text=True), "html.parser").get_text()
    assert "1 imported history and 1 episode." in text


def test_the_oembed_discovery_link_encodes_the_share_link(client: FlaskClient) -> None:
    slug = publish_demo(client)
    page = BeautifulSoup(client.get(f"/s/{slug}").get_data(as_text=True), "html.parser")
    href = page.select_one('link[rel="alternate"][type="application/json+oembed"]')["href"]
    query = href.split("?", 1)[1]
    assert query.startswith("url=http%3A%2F%2Flocalhost%2Fs%2F") and "/" not in query and ":" not in query
    answer = client.get(href.removeprefix("http://localhost"))
    assert answer.status_code == 200 and answer.get_json()["type"] == "rich"


def test_a_taken_down_episode_is_a_designed_410_page_and_json(app: Flask, client: FlaskClient) -> None:
    from sqlmodel import Session, select

    from fanapp import episodes
    from fanapp.data.models import Episode

    slug = publish_demo(client)
    with Session(app.extensions["fanapp.engine"]) as s:
        episode_id = s.exec(select(Episode.id).where(Episode.slug == slug)).one()
        episodes.take_down(s, episode_id=episode_id)
    page = assert_designed(client.get(f"/s/{slug}"), 410)
    assert "taken down" in page.get_text().lower()
    data = client.get(f"/s/{slug}.json")
    assert data.status_code == 410 and data.get_json()["status"] == 410


def test_nul_bytes_never_reach_postgresql(pg_url: str) -> None:
    """On PostgreSQL (which cannot store a NUL byte) every way a visitor can type text answers 400."""
    from fanapp.data import migrate

    migrate.upgrade(pg_url)
    application = create_app(make_settings(pg_url))
    application.testing = False  # as in production: a database error would be a 500 here
    try:
        client = application.test_client()
        builder_url = start_demo(client)
        token = csrf_from(client.get(builder_url).get_data(as_text=True))
        answers = [
            client.post(
                builder_url + "/rename", data={"csrf_token": token, "character": "a", "name": "A\x00B"}
            ),
            client.post(
                builder_url + "/add", data={"csrf_token": token, "track": "demo-001\x00", "character": "a"}
            ),
            client.get(builder_url, query_string={"q": "love\x00"}),
            client.get("/pick/", query_string={"q": "\x00"}),
            client.post("/pick/add", data={"csrf_token": token, "track": "demo-001\x00"}),
            client.get("/s/abc\x00def".replace("\x00", "%00")),
            client.get("/oembed", query_string={"url": "http://localhost/s/a\x00b"}),
            client.get("/", headers={"Referer": "http://localhost/\x00"}),
        ]
        assert [r.status_code for r in answers] == [400] * len(answers)
        renamed = client.get(builder_url).get_data(as_text=True)
        assert "A\x00B" not in renamed
    finally:
        application.extensions["fanapp.engine"].dispose()


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=30))
def test_any_search_text_is_a_page_or_a_400_never_a_500(live_app: Flask, text: str) -> None:
    """Whatever a visitor types into the pick search: a control character is a 400 that says so, and any
    other text is an ordinary page (the limits are off here)."""
    r = live_app.test_client().get("/pick/", query_string={"q": text})
    has_control = any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)
    if has_control:
        assert r.status_code == 400
        assert "control character" in r.get_data(as_text=True)
    else:
        assert r.status_code == 200, (repr(text), r.status_code)
