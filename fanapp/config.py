"""Settings: one object read from the environment (see CONTRACT.md), validated at start-up."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the repository: templates, static, migrations

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production below
SPOTIFY_SCOPES = ("user-top-read", "user-read-recently-played", "user-library-read")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app (e.g. production without secrets)."""


def _normalise_db_url(url: str) -> str:
    # Heroku-style hosts hand out postgres:// URLs; SQLAlchemy wants a dialect name and we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment; field names match CONTRACT.md's variables."""

    env: str = "development"
    secret_key: str = DEV_SECRET_KEY
    database_url: str = ""
    public_base_url: str = ""
    spotify_client_id: str = ""
    spotify_client_secret: str = ""
    spotify_redirect_uri: str = "http://127.0.0.1:5000/callback/spotify"
    spotify_accounts_url: str = "https://accounts.spotify.com/"
    spotify_api_url: str = "https://api.spotify.com/v1/"
    redis_url: str = ""
    embed_allowed_origins: tuple[str, ...] = ()
    token_keys: tuple[str, ...] = ()
    lastfm_api_key: str = ""
    lastfm_api_url: str = "https://ws.audioscrobbler.com/2.0/"
    deezer_api_url: str = "https://api.deezer.com/"
    reccobeats_api_url: str = "https://api.reccobeats.com/v1/"
    # Seconds for every outbound HTTP call (connect, read): a web worker never waits longer on an upstream.
    upstream_timeout: float = 5.0
    # Saved-tracks pages fetched at import (50 songs a page); with 3 top ranges and 1 recent page
    # the import makes at most 4 + this many Spotify calls.
    saved_pages: int = 2
    trusted_proxies: int = 0
    rate_limits_enabled: bool = True
    # Seconds a worker reuses a rendered share page, JSON or embed (an unpublish shows within this).
    page_cache_seconds: float = 60.0
    # Imported histories (and unpublished drafts) are deleted after this many days (`flask purge`).
    retention_days: int = 30
    # Spotify calls allowed per rolling 30 s across all workers (Spotify does not publish its limit).
    spotify_budget: int = 120
    limit_connect: str = "20 per minute;200 per hour"
    limit_publish: str = "20 per minute;100 per hour"
    limit_missing: str = "30 per minute"
    limit_search: str = "30 per minute;300 per hour"
    # Every Redis key of this app starts with this (limits, pause flags, locks); tests use their own.
    redis_prefix: str = "fanapp:"

    @property
    def production(self) -> bool:
        """True when running as the public site (strict checks on)."""
        return self.env == "production"

    @property
    def spotify_enabled(self) -> bool:
        """Spotify is offered only when the app has credentials."""
        return bool(self.spotify_client_id and self.spotify_client_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, instance_path: str | None = None) -> Settings:
        """Read the settings from the environment (defaults from CONTRACT.md)."""
        env = os.environ if environ is None else environ
        default_db = f"sqlite:///{Path(instance_path or 'instance').resolve() / 'fanapp.sqlite3'}"
        d = cls()
        return cls(
            env=env.get("FANAPP_ENV", d.env),
            secret_key=env.get("SECRET_KEY", d.secret_key),
            database_url=_normalise_db_url(env.get("DATABASE_URL") or default_db),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
            spotify_client_id=env.get("SPOTIPY_CLIENT_ID", ""),
            spotify_client_secret=env.get("SPOTIPY_CLIENT_SECRET", ""),
            spotify_redirect_uri=env.get("SPOTIPY_REDIRECT_URI") or d.spotify_redirect_uri,
            spotify_accounts_url=_with_slash(env.get("SPOTIFY_ACCOUNTS_URL") or d.spotify_accounts_url),
            spotify_api_url=_with_slash(env.get("SPOTIFY_API_URL") or d.spotify_api_url),
            redis_url=env.get("REDIS_URL", ""),
            embed_allowed_origins=tuple(env.get("EMBED_ALLOWED_ORIGINS", "").split()),
            token_keys=tuple(k.strip() for k in env.get("TOKEN_KEYS", "").split(",") if k.strip()),
            lastfm_api_key=env.get("LASTFM_API_KEY", ""),
            lastfm_api_url=_with_slash(env.get("LASTFM_API_URL") or d.lastfm_api_url),
            deezer_api_url=_with_slash(env.get("DEEZER_API_URL") or d.deezer_api_url),
            reccobeats_api_url=_with_slash(env.get("RECCOBEATS_API_URL") or d.reccobeats_api_url),
            upstream_timeout=float(env.get("UPSTREAM_TIMEOUT", d.upstream_timeout)),
            saved_pages=int(env.get("SPOTIFY_SAVED_PAGES", d.saved_pages)),
            trusted_proxies=int(env.get("TRUSTED_PROXIES", d.trusted_proxies)),
            limit_connect=env.get("RATE_LIMIT_CONNECT", d.limit_connect),
            limit_publish=env.get("RATE_LIMIT_PUBLISH", d.limit_publish),
            limit_missing=env.get("RATE_LIMIT_MISSING", d.limit_missing),
            limit_search=env.get("RATE_LIMIT_SEARCH", d.limit_search),
            redis_prefix=env.get("REDIS_PREFIX", d.redis_prefix),
            page_cache_seconds=float(env.get("PAGE_CACHE_SECONDS", d.page_cache_seconds)),
            retention_days=int(env.get("HISTORY_RETENTION_DAYS", d.retention_days)),
            spotify_budget=int(env.get("SPOTIFY_CALL_BUDGET", d.spotify_budget)),
        ).validated()

    def override(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, commands)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"Unknown settings: {', '.join(sorted(unknown))}")
        if "database_url" in changes:
            changes["database_url"] = _normalise_db_url(changes["database_url"])
        return replace(self, **changes).validated()

    def validated(self) -> Settings:
        """Refuse combinations that must not run; fill the derived token key in development."""
        if self.env not in ("development", "production", "test"):
            raise ConfigError("FANAPP_ENV must be 'development', 'production' or 'test'.")
        if self.production:
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ConfigError("Set SECRET_KEY to a long random value in production.")
            if not self.token_keys:
                raise ConfigError("Set TOKEN_KEYS (Fernet keys, newest first) in production.")
            if not self.public_base_url.startswith("https://"):
                # Share links, link previews and cached pages must not depend on a request's Host header.
                raise ConfigError("Set PUBLIC_BASE_URL (https://…) in production.")
        try:
            from cryptography.fernet import Fernet

            for key in self.token_keys:
                Fernet(key.encode())
        except ValueError as exc:
            raise ConfigError("TOKEN_KEYS must be Fernet keys (32 url-safe base64-encoded bytes).") from exc
        if not self.token_keys:
            # Development only: a Fernet key derived from SECRET_KEY so the app runs with no set-up.
            derived = base64.urlsafe_b64encode(hashlib.sha256(self.secret_key.encode()).digest()).decode()
            return replace(self, token_keys=(derived,))
        return self


def current() -> Settings:
    """The running app's settings (inside a request or app context)."""
    from flask import current_app

    settings: Settings = current_app.config["SETTINGS"]
    return settings
