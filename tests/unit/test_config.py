"""Settings: the variable names of CONTRACT.md, their defaults, what is refused and how it is said."""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fanapp.config import DEV_SECRET_KEY, ROOT, ConfigError, Settings

# Every variable an operator can set, with the field it fills (CONTRACT.md and README's Configuration).
VARIABLES = {
    "FANAPP_ENV": "env",
    "SECRET_KEY": "secret_key",
    "DATABASE_URL": "database_url",
    "PUBLIC_BASE_URL": "public_base_url",
    "SPOTIPY_CLIENT_ID": "spotify_client_id",
    "SPOTIPY_CLIENT_SECRET": "spotify_client_secret",
    "SPOTIPY_REDIRECT_URI": "spotify_redirect_uri",
    "SPOTIFY_ACCOUNTS_URL": "spotify_accounts_url",
    "SPOTIFY_API_URL": "spotify_api_url",
    "REDIS_URL": "redis_url",
    "EMBED_ALLOWED_ORIGINS": "embed_allowed_origins",
    "TOKEN_KEYS": "token_keys",
    "LASTFM_API_KEY": "lastfm_api_key",
    "LASTFM_API_URL": "lastfm_api_url",
    "DEEZER_API_URL": "deezer_api_url",
    "RECCOBEATS_API_URL": "reccobeats_api_url",
    "APPLE_MUSIC_TEAM_ID": "apple_music_team_id",
    "APPLE_MUSIC_KEY_ID": "apple_music_key_id",
    "APPLE_MUSIC_PRIVATE_KEY": "apple_music_private_key",
    "APPLE_MUSIC_API_URL": "apple_music_api_url",
    "APPLE_MUSICKIT_JS_URL": "apple_musickit_js_url",
    "APPLE_MUSIC_CALL_BUDGET": "apple_music_budget",
    "UPSTREAM_TIMEOUT": "upstream_timeout",
    "SPOTIFY_SAVED_PAGES": "saved_pages",
    "TRUSTED_PROXIES": "trusted_proxies",
    "PAGE_CACHE_SECONDS": "page_cache_seconds",
    "HISTORY_RETENTION_DAYS": "retention_days",
    "SPOTIFY_CALL_BUDGET": "spotify_budget",
    "RATE_LIMIT_CONNECT": "limit_connect",
    "RATE_LIMIT_PUBLISH": "limit_publish",
    "RATE_LIMIT_MISSING": "limit_missing",
    "RATE_LIMIT_SEARCH": "limit_search",
    "RATE_LIMIT_ADMIN_LOGIN": "limit_admin_login",
    "RATE_LIMIT_REPORT": "limit_report",
    "ADMIN_TOKEN": "admin_token",
    "CONTENT_PACK": "content_pack",
    "RATE_LIMIT_DELETE": "limit_delete",
    "IMPORT_WORKERS": "import_workers",
    "IMPORT_STALL_SECONDS": "import_stall_seconds",
    "REDIS_PREFIX": "redis_prefix",
    "CDN_PURGE_URL": "cdn_purge_url",
    "CDN_PURGE_KIND": "cdn_purge_kind",
    "CDN_PURGE_TOKEN": "cdn_purge_token",
    "IMAGE_STORE_MB": "image_store_mb",
    "DB_STATEMENT_TIMEOUT": "db_statement_timeout",
    "DB_POOL_TIMEOUT": "db_pool_timeout",
}

DEV = {"FANAPP_ENV": "development"}

PRODUCTION = {
    "FANAPP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "TOKEN_KEYS": Fernet.generate_key().decode(),
    "PUBLIC_BASE_URL": "https://fans.example",
}


def test_each_variable_sets_its_field_and_nothing_else_is_read() -> None:
    fields = {
        name: field.validation_alias
        for name, field in Settings.model_fields.items()
        if field.validation_alias
    }
    assert {alias: name for name, alias in fields.items()} == VARIABLES
    # Field names, other spellings and unrelated variables are not settings.
    environ = {"ENV": "production", "env": "production", "secret_key": "x" * 40, "fanapp_env": "nope"}
    environ |= {"RATE_LIMITS_ENABLED": "false", "SPOTIFY_CLIENT_ID": "by-the-wrong-name", "HOME": "/root"}
    settings = Settings.from_env(environ={**environ, **DEV})
    assert settings.env == "development"
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.rate_limits_enabled is True
    assert settings.spotify_client_id == ""


def test_a_start_without_secrets_outside_development_is_refused_saying_what_to_set() -> None:
    # FANAPP_ENV unset (as in the Procfile) is production: no dev key, no derived token key.
    message = _refusal({})
    assert "SECRET_KEY" in message and "TOKEN_KEYS" in message
    assert "FANAPP_ENV=development" in message
    only_keys = _refusal({"SECRET_KEY": "s" * 40, "PUBLIC_BASE_URL": "https://fans.example"})
    assert "TOKEN_KEYS" in only_keys and "Set SECRET_KEY" not in only_keys
    assert Settings(env="test").token_keys  # tests and commands say what they are
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings()


def test_defaults_match_the_contract(tmp_path: Path) -> None:
    assert Settings.model_fields["env"].default == "production"
    s = Settings.from_env(environ=DEV, instance_path=str(tmp_path))
    assert s.env == "development" and not s.production
    assert s.secret_key == DEV_SECRET_KEY
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'fanapp.sqlite3'}"
    assert s.public_base_url == "" and s.redis_url == ""
    assert s.spotify_redirect_uri == "http://127.0.0.1:5000/callback/spotify"
    assert s.spotify_accounts_url == "https://accounts.spotify.com/"
    assert s.spotify_api_url == "https://api.spotify.com/v1/"
    assert s.lastfm_api_url == "https://ws.audioscrobbler.com/2.0/"
    assert s.deezer_api_url == "https://api.deezer.com/"
    assert s.reccobeats_api_url == "https://api.reccobeats.com/v1/"
    assert s.embed_allowed_origins == ()
    assert (s.upstream_timeout, s.saved_pages, s.trusted_proxies) == (5.0, 2, 0)
    assert (s.page_cache_seconds, s.retention_days, s.spotify_budget) == (60.0, 30, 120)
    assert s.limit_connect == "20 per minute;200 per hour"
    assert s.limit_publish == "20 per minute;100 per hour"
    assert s.limit_missing == "30 per minute"
    assert s.limit_search == "30 per minute;300 per hour"
    assert s.limit_delete == "5 per minute;30 per hour"
    assert s.redis_prefix == "fanapp:"
    assert (s.cdn_purge_url, s.cdn_purge_kind, s.cdn_purge_token) == ("", "varnish", "")
    assert (s.image_store_mb, s.db_statement_timeout, s.db_pool_timeout) == (1024, 5.0, 2.0)
    assert s.rate_limits_enabled is True
    assert not s.spotify_enabled
    assert not s.apple_music_enabled and s.apple_music_budget == 200
    assert s.apple_music_api_url == "https://api.music.apple.com/v1/"
    assert s.apple_musickit_js_url == "https://js-cdn.music.apple.com/musickit/v3/musickit.js"
    assert (ROOT / "fanapp" / "config.py").is_file()


def test_the_constructor_holds_what_it_is_given_never_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FANAPP_ENV", "development")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert Settings(env="test").env == "test"
    assert Settings(env="test").redis_url == ""
    assert Settings(FANAPP_ENV="test", REDIS_PREFIX="p:").redis_prefix == "p:"  # by variable name too


def test_values_are_read_typed_and_normalised() -> None:
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    s = Settings.from_env(
        environ={
            **DEV,
            "DATABASE_URL": "postgres://u@db/fan",
            "PUBLIC_BASE_URL": "https://fans.example/",
            "SPOTIFY_ACCOUNTS_URL": "http://127.0.0.1:8001",
            "SPOTIFY_API_URL": "http://127.0.0.1:8001/v1",
            "LASTFM_API_URL": "http://127.0.0.1:8002/2.0",
            "DEEZER_API_URL": "http://127.0.0.1:8003",
            "RECCOBEATS_API_URL": "http://127.0.0.1:8004/v1/",
            "EMBED_ALLOWED_ORIGINS": "  https://a.example\thttps://b.example  ",
            "TOKEN_KEYS": f" {key_a} ,, {key_b},",
            "UPSTREAM_TIMEOUT": "2.5",
            "SPOTIFY_SAVED_PAGES": "4",
            "SPOTIFY_CALL_BUDGET": "60",
            "HISTORY_RETENTION_DAYS": "7",
            "RATE_LIMIT_CONNECT": "5 per minute",
            "SPOTIPY_CLIENT_ID": "id",
            "SPOTIPY_CLIENT_SECRET": "secret",
        }
    )
    assert s.database_url == "postgresql+psycopg://u@db/fan"
    assert Settings.from_env(
        environ={**DEV, "DATABASE_URL": "postgresql://u@db/fan"}
    ).database_url.startswith("postgresql+psycopg://")
    assert s.public_base_url == "https://fans.example"
    assert s.spotify_accounts_url == "http://127.0.0.1:8001/"
    assert s.spotify_api_url == "http://127.0.0.1:8001/v1/"
    assert s.lastfm_api_url == "http://127.0.0.1:8002/2.0/"
    assert s.deezer_api_url == "http://127.0.0.1:8003/"
    assert s.reccobeats_api_url == "http://127.0.0.1:8004/v1/"
    assert s.embed_allowed_origins == ("https://a.example", "https://b.example")
    assert s.token_keys == (key_a, key_b)
    assert (s.upstream_timeout, s.saved_pages, s.spotify_budget, s.retention_days) == (2.5, 4, 60, 7)
    assert s.limit_connect == "5 per minute"
    assert s.spotify_enabled


def test_blank_urls_mean_the_default() -> None:
    blank = dict.fromkeys(
        ("DATABASE_URL", "SPOTIPY_REDIRECT_URI", "SPOTIFY_ACCOUNTS_URL", "SPOTIFY_API_URL", "LASTFM_API_URL"),
        "",
    )
    s = Settings.from_env(environ={**blank, **DEV}, instance_path="/srv/fanapp")
    assert s.database_url == "sqlite:////srv/fanapp/fanapp.sqlite3"
    assert s.spotify_redirect_uri == "http://127.0.0.1:5000/callback/spotify"
    assert s.spotify_accounts_url == "https://accounts.spotify.com/"
    assert s.spotify_api_url == "https://api.spotify.com/v1/"
    assert s.lastfm_api_url == "https://ws.audioscrobbler.com/2.0/"


def test_development_derives_a_token_key_from_the_secret_key() -> None:
    a = Settings.from_env(environ={**DEV, "SECRET_KEY": "a" * 40})
    b = Settings.from_env(environ={**DEV, "SECRET_KEY": "b" * 40})
    assert len(a.token_keys) == 1 and a.token_keys != b.token_keys
    Fernet(a.token_keys[0].encode())  # a usable key
    # The same key as ever: tokens stored by a development database stay readable.
    assert a.token_keys[0] == base64.urlsafe_b64encode(hashlib.sha256(b"a" * 40).digest()).decode()
    assert Settings.from_env(environ={**DEV, "SECRET_KEY": "a" * 40}).token_keys == a.token_keys
    given = Fernet.generate_key().decode()
    assert Settings.from_env(environ={**DEV, "TOKEN_KEYS": given}).token_keys == (given,)


def test_settings_are_frozen_hashable_and_compared_by_value() -> None:
    a, b = Settings.from_env(environ=DEV), Settings.from_env(environ=DEV)
    assert a == b and hash(a) == hash(b)
    assert a != a.override(redis_prefix="other:")
    with pytest.raises(ValueError, match="frozen"):
        a.env = "production"  # type: ignore[misc]

    @functools.cache
    def built(settings: Settings) -> object:
        return object()

    assert built(a) is built(b)
    assert built(a) is not built(a.override(redis_prefix="other:"))


def test_override_changes_by_field_name_and_validates_again() -> None:
    base = Settings.from_env(environ=DEV)
    changed = base.override(database_url="postgres://u@db/fan", spotify_budget=3, upstream_timeout=1)
    assert changed.database_url == "postgresql+psycopg://u@db/fan"
    assert (changed.spotify_budget, changed.upstream_timeout) == (3, 1.0)
    assert changed.token_keys == base.token_keys
    assert base.spotify_budget == 120  # the original is untouched
    with pytest.raises(ConfigError, match="Unknown settings: FANAPP_ENV, bogus"):
        base.override(bogus=1, FANAPP_ENV="test")
    with pytest.raises(ConfigError, match="SPOTIFY_CALL_BUDGET"):
        base.override(spotify_budget="lots")
    with pytest.raises(ConfigError, match="production"):
        base.override(env="production")  # the dev secret key stays refused


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("FANAPP_ENV", "prod", "'development', 'production' or 'test'"),
        ("UPSTREAM_TIMEOUT", "soon", "valid number"),
        ("UPSTREAM_TIMEOUT", "0", "greater than 0"),
        ("SPOTIFY_SAVED_PAGES", "2.5", "valid integer"),
        ("SPOTIFY_CALL_BUDGET", "-1", "greater than or equal to 0"),
        ("HISTORY_RETENTION_DAYS", "a month", "valid integer"),
        ("TRUSTED_PROXIES", "-1", "greater than or equal to 0"),
        ("PAGE_CACHE_SECONDS", "a minute", "valid number"),
        ("RATE_LIMIT_CONNECT", "20/min", "min"),
        ("RATE_LIMIT_MISSING", "lots", "lots"),
    ],
)
def test_a_wrong_value_is_refused_saying_which_variable_and_what_to_set(
    variable: str, value: str, said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environ={**DEV, variable: value})
    message = str(refused.value)
    assert f"{variable}:" in message and said in message
    assert f"(got {value!r})" in message
    assert "set it to" in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environ={**DEV, "UPSTREAM_TIMEOUT": "soon", "SPOTIFY_CALL_BUDGET": "many"})
    assert "UPSTREAM_TIMEOUT:" in str(refused.value) and "SPOTIFY_CALL_BUDGET:" in str(refused.value)


def test_secrets_are_never_repeated_in_the_message() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environ={**DEV, "TOKEN_KEYS": "not-a-fernet-key-but-secret"})
    message = str(refused.value)
    assert "TOKEN_KEYS:" in message and "Fernet" in message
    assert "not-a-fernet-key-but-secret" not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_production_requires_secrets_and_an_https_base() -> None:
    assert Settings.from_env(environ=PRODUCTION).production
    for missing, said in (
        ("SECRET_KEY", "Set SECRET_KEY to a long random value in production."),
        ("TOKEN_KEYS", "Set TOKEN_KEYS (Fernet keys, newest first) in production."),
        ("PUBLIC_BASE_URL", "Set PUBLIC_BASE_URL (https://…) in production."),
    ):
        environ = {k: v for k, v in PRODUCTION.items() if k != missing}
        with pytest.raises(ConfigError, match=r"Set " + missing):
            Settings.from_env(environ=environ)
        assert said in _refusal({k: v for k, v in PRODUCTION.items() if k != missing})
    for unsafe in (
        {"SECRET_KEY": DEV_SECRET_KEY},
        {"SECRET_KEY": "short"},
        {"PUBLIC_BASE_URL": "http://fans.example"},
    ):
        with pytest.raises(ConfigError, match="in production"):
            Settings.from_env(environ={**PRODUCTION, **unsafe})
    # All that is missing is said at once.
    message = _refusal({"FANAPP_ENV": "production"})
    assert "SECRET_KEY" in message and "TOKEN_KEYS" in message and "PUBLIC_BASE_URL" in message


def _refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environ=environ)
    return str(refused.value)


def test_an_api_purger_needs_its_token() -> None:
    with pytest.raises(ConfigError, match="CDN_PURGE_TOKEN"):
        Settings.from_env(
            environ={
                "FANAPP_ENV": "development",
                "CDN_PURGE_URL": "https://api.fastly.com/service/x/purge",
                "CDN_PURGE_KIND": "fastly",
            }
        )
    varnish = Settings.from_env(
        environ={"FANAPP_ENV": "development", "CDN_PURGE_URL": "http://127.0.0.1:6081/"}
    )
    assert varnish.cdn_purge_kind == "varnish" and varnish.cdn_purge_token == ""
