"""Operators sign in with ADMIN_TOKEN: no pages without it, refusals, CSRF, a rate limit, and a session
of its own that expires."""

from __future__ import annotations

import logging
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fanapp import create_app
from fanapp.config import ConfigError, Settings
from fanapp.web import admin
from tests.conftest import csrf_from, make_settings

TOKEN = secrets.token_hex(32)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """An app with operators switched on, and a low sign-in limit to reach."""
    return make_settings(database_url, admin_token=TOKEN, limit_admin_login="3 per minute")


def sign_in(client: FlaskClient, token: str = TOKEN) -> TestResponse:
    """Post the sign-in form with its CSRF token."""
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"csrf_token": csrf_from(page), "token": token})


def test_without_admin_token_there_are_no_operator_pages(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    client = app.test_client()
    for path in ("/admin/", "/admin/login", "/admin/reports", "/admin/funnel.csv"):
        assert client.get(path).status_code == 404, path
    assert client.post("/admin/login", data={"token": "x"}).status_code in (400, 404)
    app.extensions["fanapp.engine"].dispose()


def test_a_short_admin_token_is_refused_at_start_up(database_url: str) -> None:
    with pytest.raises(ConfigError, match="ADMIN_TOKEN") as caught:
        make_settings(database_url, admin_token="short-secret")
    assert "short-secret" not in str(caught.value)  # never repeated into the logs


def test_the_dashboard_asks_for_sign_in_first(client: FlaskClient) -> None:
    response = client.get("/admin/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")


def test_a_wrong_token_is_refused_and_opens_nothing(client: FlaskClient) -> None:
    response = sign_in(client, "not-" + TOKEN)
    assert response.status_code == 403
    assert "not the operator token" in response.get_data(as_text=True)
    assert admin.COOKIE not in response.headers.get("Set-Cookie", "")
    assert client.get("/admin/").status_code == 303


def test_sign_in_without_csrf_is_refused(client: FlaskClient) -> None:
    client.get("/admin/login")
    response = client.post("/admin/login", data={"token": TOKEN})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 303


def test_the_right_token_opens_a_separate_strict_session(client: FlaskClient, app: Flask) -> None:
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(admin.COOKIE + "="))
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age="):
        assert attribute in cookie
    assert "Secure" not in cookie  # only in production
    assert TOKEN not in cookie
    page = client.get("/admin/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_secure_in_production(database_url: str) -> None:
    settings = make_settings(
        database_url,
        admin_token=TOKEN,
        env="production",
        secret_key=secrets.token_hex(32),
        token_keys=("x" * 43 + "=",),
        public_base_url="https://fans.example",
    )
    app = create_app(settings)
    client = app.test_client()
    response = sign_in(client)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(admin.COOKIE + "="))
    assert "Secure" in cookie
    app.extensions["fanapp.engine"].dispose()


def test_the_session_expires(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client)
    assert client.get("/admin/").status_code == 200
    monkeypatch.setattr(admin, "SESSION_SECONDS", -1)
    assert client.get("/admin/").status_code == 303


def test_a_forged_or_old_token_session_opens_nothing(client: FlaskClient, app: Flask) -> None:
    client.set_cookie(admin.COOKIE, "forged", path="/admin")
    assert client.get("/admin/").status_code == 303
    with app.test_request_context():
        stale = admin._serializer().dumps({"t": admin._token_mark("an-older-token" * 3)})
    client.set_cookie(admin.COOKIE, stale, path="/admin")
    assert client.get("/admin/").status_code == 303


def test_sign_in_attempts_are_rate_limited(client: FlaskClient) -> None:
    # One limiter per process: a client address of this test's own keeps other tests' sign-ins out of it.
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.9"
    codes = [sign_in(client, "wrong").status_code for _ in range(4)]
    assert codes[:3] == [403, 403, 403]
    assert codes[3] == 429
    assert sign_in(client).status_code == 429  # even the right token waits


def test_operator_actions_are_logged_without_personal_data(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fanapp.operator"):
        sign_in(client, "wrong")
        sign_in(client)
    lines = [r.getMessage() for r in caplog.records if r.name == "fanapp.operator"]
    assert lines == ["operator action=sign-in-refused", "operator action=sign-in"]
    assert not any(TOKEN in line or "127.0.0.1" in line for line in lines)


def test_next_only_leads_back_into_admin(client: FlaskClient) -> None:
    page = client.get("/admin/login?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in page
