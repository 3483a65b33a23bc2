"""Inbound rate limits (Flask-Limiter): Redis-backed when REDIS_URL is set, so all workers share them."""

from __future__ import annotations

from flask import Flask, Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from fanapp import config
from fanapp.config import Settings

# One Limiter for the process, bound to the app in `init_app`; the decorators below read their limits
# from the settings at request time, so tests and operators can change them without code.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


def connect_limit() -> str:
    """Starting a connection (Spotify, demo, other sources)."""
    return config.current().limit_connect


def publish_limit() -> str:
    """Publishing episodes."""
    return config.current().limit_publish


def missing_limit() -> str:
    """Unknown slugs: counted only when the answer is 404, so guessing share links is slow."""
    return config.current().limit_missing


def is_404(response: Response) -> bool:
    """Deduct from `missing_limit` only for not-found answers."""
    return response.status_code == 404


def init_app(app: Flask, settings: Settings) -> None:
    """Bind the limiter; trust exactly `TRUSTED_PROXIES` proxies for the client address."""
    if settings.trusted_proxies:
        # ProxyFix takes the client address from the right of X-Forwarded-For, skipping exactly the
        # configured number of our own proxies: a spoofed left-hand value never becomes the key.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config.update(
        RATELIMIT_ENABLED=settings.rate_limits_enabled,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX=settings.redis_prefix + "limits",
        RATELIMIT_SWALLOW_ERRORS=True,  # a Redis hiccup must not take the site down: fail open
    )
    limiter.init_app(app)
