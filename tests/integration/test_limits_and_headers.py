"""Inbound limits, the header sweep over every route, production settings, and a fuzz of the inputs."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fanapp import create_app
from fanapp.config import ConfigError, Settings
from tests.conftest import csrf_from, make_settings, publish_demo, start_demo


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        limit_connect="3 per minute",
        limit_missing="5 per minute",
        limit_publish="2 per minute",
        trusted_proxies=1,
    )


def test_connect_is_limited_with_retry_after(client: FlaskClient) -> None:
    def demo() -> Any:
        # Connecting rotates the session (and its CSRF token): take a fresh one each time.
        return client.post("/demo", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})

    assert [demo().status_code for _ in range(3)] == [303, 303, 303]
    r = demo()
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Traceback" not in r.get_data(as_text=True)


def test_slug_guessing_is_limited(client: FlaskClient) -> None:
    codes = [client.get(f"/s/{'A' * 21}{c}").status_code for c in "ABCDEF"]
    assert codes == [404] * 5 + [429]


def test_found_share_pages_do_not_count_against_the_guess_limit(client: FlaskClient) -> None:
    slug = publish_demo(client)
    assert all(client.get(f"/s/{slug}").status_code == 200 for _ in range(10))


def test_spoofed_forwarded_for_does_not_make_a_new_bucket(client: FlaskClient) -> None:
    # One trusted proxy: it appends the real client address; whatever the client wrote before is ignored.
    def guess(spoof: str) -> int:
        return client.get(f"/s/{'B' * 22}", headers={"X-Forwarded-For": f"{spoof}, 203.0.113.7"}).status_code

    codes = [guess(f"10.0.0.{i}") for i in range(6)]
    assert codes[-1] == 429
    # Another real client (another address appended by the proxy) has its own bucket.
    other = client.get(f"/s/{'B' * 22}", headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 404


def test_publish_is_limited(client: FlaskClient) -> None:
    builders = [start_demo(client) for _ in range(3)]
    statuses = []
    for builder in builders:
        token = csrf_from(client.get(builder).get_data(as_text=True))
        statuses.append(client.post(builder + "/publish", data={"csrf_token": token}).status_code)
    assert statuses == [303, 303, 429]


SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def _get_routes(app: Flask, slug: str, episode_id: str) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        path = rule.rule.replace("<slug>", slug).replace("<int:episode_id>", episode_id)
        path = path.replace("<int:listener_id>", "1").replace("<path:filename>", "css/app.css")
        paths.append(path)
    return paths


def test_header_sweep_over_every_route(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    app.testing = True
    client = app.test_client()
    slug = publish_demo(client)
    builder = start_demo(client)
    routes = _get_routes(app, slug, builder.rsplit("/", 1)[-1])
    assert len(routes) >= 12
    for path in routes:
        r = client.get(path)
        r.close()
        # 503 only where Spotify is off on purpose (no credentials in this app).
        assert r.status_code < 500 or (r.status_code == 503 and "spotify" in path), path
        for header in SECURITY_HEADERS:
            assert header in r.headers, (path, header)
        csp = r.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        if path.startswith("/embed/"):
            assert "X-Frame-Options" not in r.headers
        else:
            assert r.headers["X-Frame-Options"] == "DENY", path
            assert "frame-ancestors 'none'" in csp
    app.extensions["fanapp.engine"].dispose()


def test_htmx_is_pinned_with_sri_and_hardened(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    pattern = r'<script src="(https://cdn[^"]+)" integrity="(sha384-[^"]+)" crossorigin="anonymous"'
    tag = re.search(pattern, html)
    assert tag and "htmx.org@2.0." in tag.group(1)
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', html)
    assert config
    assert '"allowEval":false' in config.group(1) and '"historyCacheSize":0' in config.group(1)
    assert '"includeIndicatorStyles":false' in config.group(1)
    assert "<script>" not in html  # no inline script anywhere


def test_production_settings(database_url: str) -> None:
    base = {"FANAPP_ENV": "production", "DATABASE_URL": database_url}
    with pytest.raises(ConfigError):
        Settings.from_env(environ=base)
    with pytest.raises(ConfigError):
        Settings.from_env(environ={**base, "SECRET_KEY": "x" * 40})  # no TOKEN_KEYS
    from cryptography.fernet import Fernet

    secrets = {"SECRET_KEY": "s" * 40, "TOKEN_KEYS": Fernet.generate_key().decode()}
    with pytest.raises(ConfigError):
        Settings.from_env(environ={**base, **secrets})  # no PUBLIC_BASE_URL
    prod = Settings.from_env(environ={**base, **secrets, "PUBLIC_BASE_URL": "https://fans.example"})
    app = create_app(prod)

    @app.get("/boom-for-test")
    def boom() -> str:
        raise RuntimeError("secret internals")

    client = app.test_client()
    r = client.get("/")
    assert "max-age=" in r.headers["Strict-Transport-Security"]
    cookie = r.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.debug is False
    r = client.get("/boom-for-test")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    app.extensions["fanapp.engine"].dispose()


EXPECTED = {200, 302, 303, 304, 400, 404, 405, 429, 501}
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/", "/s/{}", "/s/{}.json", "/oembed", "/embed/start", "/embed/s/{}", "/privacy"]),
    slug=texts,
    query=st.dictionaries(
        st.sampled_from(["url", "format", "maxwidth", "maxheight", "q", "utm_source", "c"]), texts
    ),
)
def test_fuzz_queries_never_500(app: Flask, path: str, slug: str, query: dict[str, str]) -> None:
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    safe_slug = "".join(ch for ch in slug if ch in string.ascii_letters + string.digits + "-_")[:40] or "x"
    r = client.get(path.format(safe_slug), query_string=query)
    assert r.status_code != 500 and r.status_code in EXPECTED


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["add", "remove", "move", "rename"]),
    form=st.dictionaries(st.sampled_from(["track", "character", "song", "direction", "name"]), texts),
)
def test_fuzz_builder_forms_never_500(builder_client: Any, action: str, form: dict[str, str]) -> None:
    client, builder, token = builder_client
    r = client.post(f"{builder}/{action}", data={**form, "csrf_token": token})
    assert r.status_code != 500 and r.status_code in EXPECTED


@pytest.fixture
def builder_client(app: Flask) -> tuple[FlaskClient, str, str]:
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    builder = start_demo(client)
    return client, builder, csrf_from(client.get(builder).get_data(as_text=True))
