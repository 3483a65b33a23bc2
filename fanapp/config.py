"""Settings: one object read from the environment (see CONTRACT.md), validated at start-up.

Each field names its environment variable (`validation_alias`), so this class is also the list of what an
operator can set. `Settings(...)` holds exactly what it is given and defaults for the rest (tests,
commands); `Settings.from_env()` reads an environment, `os.environ` unless a mapping is passed. What
cannot run is refused with a :class:`ConfigError` naming the variable and what to set it to.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from limits import parse_many
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent  # the repository: templates, static, migrations

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production below

# Never repeated in an error message: start-up errors end up in deployment logs.
_SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "spotify_client_secret",
        "token_keys",
        "lastfm_api_key",
        "apple_music_private_key",
        "admin_token",
        "cdn_purge_token",
    }
)
_LIMITS = "Flask-Limiter limits, e.g. '20 per minute;200 per hour'"
# Apple's team and key identifiers are 10 characters of upper-case letters and digits.
_APPLE_ID = re.compile(r"[A-Z0-9]{10}")
_APPLE_FIELDS = ("apple_music_team_id", "apple_music_key_id", "apple_music_private_key")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app (e.g. production without secrets)."""


def _normalise_db_url(url: str) -> str:
    # Heroku-style hosts hand out postgres:// URLs; SQLAlchemy wants a dialect name and we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _derived_token_key(secret_key: str) -> str:
    # Development only: a Fernet key derived from SECRET_KEY, so the app runs with no set-up.
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()


class _Environment(PydanticBaseSettingsSource):
    """A settings source over one mapping: each field from its own variable (its alias), nothing else.

    pydantic-settings' EnvSettingsSource also tries each field's name, case-insensitively, when fields
    may be set by name (as tests and `override` do): `ENV=…` would then set `env`. Reading the alias
    alone keeps the variables exactly those of CONTRACT.md.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The raw value of the field's variable (None when unset), keyed by the variable's name."""
        name = field.validation_alias
        if not isinstance(name, str):  # a field no variable sets
            return None, field_name, False
        return self.environ.get(name), name, False

    def __call__(self) -> dict[str, Any]:
        """Every variable that is set, by name, for the settings class to validate."""
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Everything the app reads from its environment; each field names its variable (CONTRACT.md)."""

    model_config = SettingsConfigDict(
        frozen=True,  # hashable and compared by value: settings are functools.cache keys
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
    )

    # Safe by default: a deployment that forgets FANAPP_ENV gets the strict checks, never the dev key.
    env: Literal["development", "production", "test"] = Field(
        "production", validation_alias="FANAPP_ENV", description="'development', 'production' or 'test'"
    )
    secret_key: str = Field(
        DEV_SECRET_KEY, validation_alias="SECRET_KEY", description="a long random value", repr=False
    )
    database_url: str = Field(
        "",
        validation_alias="DATABASE_URL",
        description="a SQLAlchemy URL, e.g. postgresql://user@host/fanapp",
    )
    public_base_url: str = Field(
        "",
        validation_alias="PUBLIC_BASE_URL",
        description="the site's absolute base, e.g. https://fans.example",
    )
    spotify_client_id: str = Field(
        "", validation_alias="SPOTIPY_CLIENT_ID", description="your Spotify app's id"
    )
    spotify_client_secret: str = Field(
        "", validation_alias="SPOTIPY_CLIENT_SECRET", description="your Spotify app's secret", repr=False
    )
    spotify_redirect_uri: str = Field(
        "http://127.0.0.1:5000/callback/spotify",
        validation_alias="SPOTIPY_REDIRECT_URI",
        description="the redirect URI registered with Spotify",
    )
    spotify_accounts_url: str = Field(
        "https://accounts.spotify.com/",
        validation_alias="SPOTIFY_ACCOUNTS_URL",
        description="the base of Spotify's accounts service",
    )
    spotify_api_url: str = Field(
        "https://api.spotify.com/v1/", validation_alias="SPOTIFY_API_URL", description="the Web API's base"
    )
    redis_url: str = Field(
        "", validation_alias="REDIS_URL", description="a Redis URL, e.g. redis://127.0.0.1:6379/0"
    )
    embed_allowed_origins: tuple[str, ...] = Field(
        (),
        validation_alias="EMBED_ALLOWED_ORIGINS",
        description="space-separated origins, e.g. 'https://partner.example https://other.example'",
    )
    token_keys: tuple[str, ...] = Field(
        (),
        validation_alias="TOKEN_KEYS",
        description="comma-separated Fernet keys, newest first (Fernet.generate_key())",
        validate_default=True,  # the development key is derived when none is given
        repr=False,
    )
    lastfm_api_key: str = Field(
        "", validation_alias="LASTFM_API_KEY", description="a Last.fm API key", repr=False
    )
    lastfm_api_url: str = Field(
        "https://ws.audioscrobbler.com/2.0/",
        validation_alias="LASTFM_API_URL",
        description="the Last.fm API base",
    )
    deezer_api_url: str = Field(
        "https://api.deezer.com/", validation_alias="DEEZER_API_URL", description="the Deezer API base"
    )
    reccobeats_api_url: str = Field(
        "https://api.reccobeats.com/v1/",
        validation_alias="RECCOBEATS_API_URL",
        description="the ReccoBeats base",
    )
    apple_music_team_id: str = Field(
        "", validation_alias="APPLE_MUSIC_TEAM_ID", description="your 10-character Apple Developer Team ID"
    )
    apple_music_key_id: str = Field(
        "", validation_alias="APPLE_MUSIC_KEY_ID", description="the 10-character id of your MusicKit key"
    )
    apple_music_private_key: str = Field(
        "",
        validation_alias="APPLE_MUSIC_PRIVATE_KEY",
        description="the text of the MusicKit key's .p8 file (-----BEGIN PRIVATE KEY----- …)",
        repr=False,
    )
    apple_music_api_url: str = Field(
        "https://api.music.apple.com/v1/",
        validation_alias="APPLE_MUSIC_API_URL",
        description="the Apple Music API base",
    )
    apple_musickit_js_url: str = Field(
        "https://js-cdn.music.apple.com/musickit/v3/musickit.js",
        validation_alias="APPLE_MUSICKIT_JS_URL",
        description="the https URL of MusicKit JS v3",
    )
    # Apple Music calls allowed per rolling 30 s across all workers (Apple does not publish its limit).
    apple_music_budget: int = Field(
        200, ge=0, validation_alias="APPLE_MUSIC_CALL_BUDGET", description="a whole number of calls, e.g. 200"
    )
    # Seconds for every outbound HTTP call (connect, read): a web worker never waits longer on an upstream.
    upstream_timeout: float = Field(
        5.0, gt=0, validation_alias="UPSTREAM_TIMEOUT", description="seconds above 0, e.g. 5"
    )
    # Saved-tracks pages fetched at import (50 songs a page); with 3 top ranges and 1 recent page
    # the import makes at most 4 + this many Spotify calls.
    saved_pages: int = Field(
        2, ge=0, validation_alias="SPOTIFY_SAVED_PAGES", description="a whole number of pages, e.g. 2"
    )
    trusted_proxies: int = Field(
        0, ge=0, validation_alias="TRUSTED_PROXIES", description="how many proxies are in front, e.g. 1"
    )
    # No variable: tests and commands switch the limits off with `override`, an operator cannot.
    rate_limits_enabled: bool = True
    # Seconds a worker reuses a rendered share page, JSON or embed (an unpublish shows within this).
    page_cache_seconds: float = Field(
        60.0, validation_alias="PAGE_CACHE_SECONDS", description="seconds, e.g. 60 (0 turns the cache off)"
    )
    # The cache tier in front (CONTRACT "Cache tier"): where a take-down's purge by key goes.
    cdn_purge_url: str = Field(
        "", validation_alias="CDN_PURGE_URL", description="a URL, e.g. http://127.0.0.1:6081/"
    )
    cdn_purge_kind: Literal["varnish", "fastly", "cloudflare"] = Field(
        "varnish", validation_alias="CDN_PURGE_KIND", description="'varnish', 'fastly' or 'cloudflare'"
    )
    cdn_purge_token: str = Field(
        "", validation_alias="CDN_PURGE_TOKEN", description="the CDN's API token", repr=False
    )
    # Rendered share images kept on disk for every worker of this host (oldest evicted first).
    image_store_mb: int = Field(
        1024, ge=0, validation_alias="IMAGE_STORE_MB", description="megabytes, e.g. 1024 (0: no disk)"
    )
    # A slow database gives quick 503s instead of a frozen site: per statement, and waiting for a
    # pooled connection.
    db_statement_timeout: float = Field(
        5.0, gt=0, validation_alias="DB_STATEMENT_TIMEOUT", description="seconds, e.g. 5"
    )
    db_pool_timeout: float = Field(
        2.0, gt=0, validation_alias="DB_POOL_TIMEOUT", description="seconds, e.g. 2"
    )
    # Imported histories (and unpublished drafts) are deleted after this many days (`flask purge`).
    retention_days: int = Field(
        30, ge=0, validation_alias="HISTORY_RETENTION_DAYS", description="a whole number of days, e.g. 30"
    )
    # Spotify calls allowed per rolling 30 s across all workers (Spotify does not publish its limit).
    spotify_budget: int = Field(
        120, ge=0, validation_alias="SPOTIFY_CALL_BUDGET", description="a whole number of calls, e.g. 120"
    )
    limit_connect: str = Field(
        "20 per minute;200 per hour", validation_alias="RATE_LIMIT_CONNECT", description=_LIMITS
    )
    limit_publish: str = Field(
        "20 per minute;100 per hour", validation_alias="RATE_LIMIT_PUBLISH", description=_LIMITS
    )
    limit_missing: str = Field("30 per minute", validation_alias="RATE_LIMIT_MISSING", description=_LIMITS)
    limit_search: str = Field(
        "30 per minute;300 per hour", validation_alias="RATE_LIMIT_SEARCH", description=_LIMITS
    )
    limit_admin_login: str = Field(
        "5 per minute;20 per hour", validation_alias="RATE_LIMIT_ADMIN_LOGIN", description=_LIMITS
    )
    limit_report: str = Field(
        "5 per minute;30 per hour", validation_alias="RATE_LIMIT_REPORT", description=_LIMITS
    )
    # Operators sign in with this at /admin/login; unset, there are no operator pages at all (404).
    admin_token: str = Field(
        "",
        validation_alias="ADMIN_TOKEN",
        description="a long random value (32 characters or more), e.g. from `openssl rand -hex 32`",
        repr=False,
    )
    content_pack: str = Field(
        "",
        validation_alias="CONTENT_PACK",
        description="the path of a content pack TOML file (unset: the bundled pack)",
    )
    # "Delete everything": a visitor needs it once; unlimited, it was a way to make every worker work.
    limit_delete: str = Field(
        "5 per minute;30 per hour", validation_alias="RATE_LIMIT_DELETE", description=_LIMITS
    )
    # RQ work horses the Procfile's worker runs at once (`rq worker-pool -n`): imports wait on Spotify,
    # not on the CPU, so several run side by side, all under the one SPOTIFY_CALL_BUDGET.
    import_workers: int = Field(
        4, ge=1, validation_alias="IMPORT_WORKERS", description="a whole number of workers, e.g. 4"
    )
    # An import that shows no progress for this long is stopped by the watchdog: failed, its tokens
    # deleted, the visitor told. Longer than any single wait of a working import (a budget wait is 20 s).
    import_stall_seconds: float = Field(
        120.0, gt=0, validation_alias="IMPORT_STALL_SECONDS", description="seconds above 0, e.g. 120"
    )
    # Every Redis key of this app starts with this (limits, pause flags, locks); tests use their own.
    redis_prefix: str = Field(
        "fanapp:", validation_alias="REDIS_PREFIX", description="a key prefix, e.g. fanapp:"
    )

    def __init__(self, **values: Any) -> None:
        """Validate `values` (by field name or by variable name); refuse what cannot run."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # `from None`: pydantic's own report repeats every value given, secrets included, in the logs.
            raise ConfigError(_explain(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what is passed in: the environment is read by `from_env`, from the mapping it is given."""
        return (init_settings,)

    @field_validator(
        "spotify_redirect_uri",
        "spotify_accounts_url",
        "spotify_api_url",
        "lastfm_api_url",
        "deezer_api_url",
        "reccobeats_api_url",
        "apple_music_api_url",
        "apple_musickit_js_url",
        mode="before",
    )
    @classmethod
    def _empty_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        # A variable left blank (a deployment template's placeholder) means "unset" for these.
        if value == "" and info.field_name is not None:
            return cls.model_fields[info.field_name].default
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return _normalise_db_url(value)

    @field_validator(
        "spotify_accounts_url",
        "spotify_api_url",
        "lastfm_api_url",
        "deezer_api_url",
        "reccobeats_api_url",
        "apple_music_api_url",
    )
    @classmethod
    def _api_base(cls, value: str) -> str:
        # Bases are joined with relative paths ("authorize", "me/top/tracks"): they must end in "/".
        return value if value.endswith("/") else value + "/"

    @field_validator("apple_music_team_id", "apple_music_key_id")
    @classmethod
    def _apple_id(cls, value: str) -> str:
        value = value.strip()
        if value and not _APPLE_ID.fullmatch(value):
            raise PydanticCustomError("apple_id", "must be 10 upper-case letters and digits")
        return value

    @field_validator("apple_music_private_key")
    @classmethod
    def _apple_key(cls, value: str) -> str:
        # Hosts that take one-line variables get the .p8 file with its newlines written as "\n".
        text = value.strip().replace("\\n", "\n")
        if not text:
            return ""
        try:
            key = load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise PydanticCustomError("apple_key", "is not a readable PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise PydanticCustomError("apple_key", "must be a P-256 (ES256) key, as Apple's .p8 files are")
        return text + "\n"

    @field_validator("apple_musickit_js_url", "apple_music_api_url")
    @classmethod
    def _csp_url(cls, value: str) -> str:
        # Written into the Content-Security-Policy header (the script, the API's origin): one plain URL,
        # nothing that could end the directive or add a source.
        parts = urlsplit(value)
        if (
            parts.scheme not in ("https", "http")
            or not parts.hostname
            or re.search(r"[\s;,'\"]", value)
            or parts.username is not None
        ):
            raise PydanticCustomError("csp_url", "must be one https URL")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _public_base(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("embed_allowed_origins", mode="before")
    @classmethod
    def _space_separated(cls, value: Any) -> Any:
        return tuple(value.split()) if isinstance(value, str) else value

    @field_validator("token_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, Iterable):
            return tuple(
                k.strip() if isinstance(k, str) else k for k in value if not isinstance(k, str) or k.strip()
            )
        return value

    @field_validator("token_keys")
    @classmethod
    def _fernet_keys(cls, keys: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for key in keys:
            try:
                Fernet(key.encode())
            except ValueError:
                raise PydanticCustomError(
                    "fernet_key", "each key must be a Fernet key (32 url-safe base64-encoded bytes)"
                ) from None
        if not keys and info.data.get("env") != "production" and "secret_key" in info.data:
            return (_derived_token_key(info.data["secret_key"]),)
        return keys

    @field_validator(
        "limit_connect",
        "limit_publish",
        "limit_missing",
        "limit_search",
        "limit_admin_login",
        "limit_report",
        "limit_delete",
    )
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        # Flask-Limiter skips a limit it cannot parse (and logs it): a typo would switch the limit off.
        try:
            parse_many(value)
        except ValueError as exc:
            raise PydanticCustomError("rate_limit", "{problem}", {"problem": str(exc)}) from None
        return value

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: str) -> str:
        # The one secret between the internet and the operator pages: a short one could be guessed.
        if value and len(value) < 32:
            raise PydanticCustomError("admin_token", "is too short to be safe")
        return value

    @model_validator(mode="after")
    def _apple_all_or_nothing(self) -> Settings:
        # Half a MusicKit key is a deployment mistake: say so at start-up, not at the first visitor.
        given = [name for name in _APPLE_FIELDS if getattr(self, name)]
        if given and len(given) < len(_APPLE_FIELDS):
            names = type(self).model_fields
            unset = [str(names[n].validation_alias) for n in _APPLE_FIELDS if n not in given]
            raise PydanticCustomError(
                "apple_music",
                "Apple Music needs APPLE_MUSIC_TEAM_ID, APPLE_MUSIC_KEY_ID and APPLE_MUSIC_PRIVATE_KEY "
                "together; set {unset} too, or unset them all to switch Apple Music off.",
                {"unset": " and ".join(unset)},
            )
        return self

    @model_validator(mode="after")
    def _purger_complete(self) -> Settings:
        if self.cdn_purge_url and self.cdn_purge_kind != "varnish" and not self.cdn_purge_token:
            message = "Set CDN_PURGE_TOKEN: the {kind} purge API needs a token."
            raise PydanticCustomError("cdn", message, {"kind": self.cdn_purge_kind})
        return self

    @model_validator(mode="after")
    def _production_ready(self) -> Settings:
        if not self.production:
            return self
        missing = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            missing.append("Set SECRET_KEY to a long random value in production.")
        if not self.token_keys:
            missing.append("Set TOKEN_KEYS (Fernet keys, newest first) in production.")
        if not self.public_base_url.startswith("https://"):
            # Share links, link previews and cached pages must not depend on a request's Host header.
            missing.append("Set PUBLIC_BASE_URL (https://…) in production.")
        if self.apple_music_enabled and not self.apple_musickit_js_url.startswith("https://"):
            missing.append("Set APPLE_MUSICKIT_JS_URL to an https URL in production.")
        if missing:
            missing.append(
                "FANAPP_ENV is production unless set: for a local run use FANAPP_ENV=development "
                "(make run does)."
            )
            raise PydanticCustomError("production", " ".join(missing))
        return self

    @property
    def production(self) -> bool:
        """True when running as the public site (strict checks on)."""
        return self.env == "production"

    @property
    def spotify_enabled(self) -> bool:
        """Spotify is offered only when the app has credentials."""
        return bool(self.spotify_client_id and self.spotify_client_secret)

    @property
    def apple_music_enabled(self) -> bool:
        """Apple Music is offered only when the app has a whole MusicKit key."""
        return all(getattr(self, name) for name in _APPLE_FIELDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, instance_path: str | None = None) -> Settings:
        """Read the settings from `environ` (else `os.environ`); with no DATABASE_URL, a SQLite file
        under `instance_path` (else `instance/`)."""
        values = _Environment(cls, os.environ if environ is None else environ)()
        if not values.get("DATABASE_URL"):
            values["DATABASE_URL"] = (
                f"sqlite:///{Path(instance_path or 'instance').resolve() / 'fanapp.sqlite3'}"
            )
        return cls(**values)

    def override(self, **changes: Any) -> Settings:
        """A copy with some fields changed, by field name (tests, commands), validated again."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise ConfigError(f"Unknown settings: {', '.join(sorted(unknown))}")
        return type(self)(**{**self.model_dump(), **changes})


def _explain(exc: ValidationError) -> str:
    """One sentence per problem: the variable, what is wrong with it, and what to set it to."""
    fields = Settings.model_fields
    by_alias = {f.validation_alias: name for name, f in fields.items() if isinstance(f.validation_alias, str)}
    problems = []
    for error in exc.errors(include_url=False):
        key = str(error["loc"][0]) if error["loc"] else ""
        name = by_alias.get(key, key)
        field = fields.get(name)
        if field is None:
            # A check across fields (production) already says what to set; else a name that is no setting.
            problems.append(f"{key}: not a setting." if key else error["msg"])
            continue
        variable = field.validation_alias if isinstance(field.validation_alias, str) else name
        problem = f"{variable}: {error['msg']}"
        if name not in _SECRET_FIELDS and isinstance(error.get("input"), str | int | float):
            problem += f" (got {error['input']!r})"
        problems.append(problem + (f"; set it to {field.description}." if field.description else "."))
    return "Invalid settings. " + " ".join(problems)


def current() -> Settings:
    """The running app's settings (inside a request or app context)."""
    from flask import current_app

    settings: Settings = current_app.config["SETTINGS"]
    return settings
