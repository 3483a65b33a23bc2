"""Inbound rate limits (Flask-Limiter): Redis-backed when REDIS_URL is set, so all workers share them."""

from __future__ import annotations

import time

from flask import Flask, abort, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from redis.exceptions import RedisError
from werkzeug.middleware.proxy_fix import ProxyFix

from fanapp import config
from fanapp.config import Settings
from fanapp.site import errors
from fanapp.upstream.shared import Breaker

# One Limiter for the process, bound to the app in `init_app`; the decorators below read their limits
# from the settings at request time, so tests and operators can change them without code.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


def connect_limit() -> str:
    """Starting a connection (Spotify, demo, other sources)."""
    return config.current().limit_connect


def search_limit() -> str:
    """Searching and picking songs by hand (each may cost calls to Spotify from the app's budget)."""
    return config.current().limit_search


def publish_limit() -> str:
    """Publishing episodes."""
    return config.current().limit_publish


def admin_login_limit() -> str:
    """Operator sign-in attempts (the token is long, but nobody gets to try it quickly)."""
    return config.current().limit_admin_login


def report_limit() -> str:
    """Reports of published episodes (anyone may report; nobody may flood the operators' list)."""
    return config.current().limit_report


def delete_limit() -> str:
    """Deleting everything a browser made (it takes published pages down from every cache)."""
    return config.current().limit_delete


def count_miss() -> None:
    """Count one unknown slug for this client; past `RATE_LIMIT_MISSING` answer 429 instead of 404.

    Only misses are counted, and only when they happen: found share pages (served from the page cache
    on release day) never pay for a limiter round trip, and a visitor behind a shared address is never
    blocked from real links by someone else's guessing.
    """
    # The guess limit runs on public 404s: once its store has failed, skip it for a few seconds (it
    # fails open) rather than make every unknown address wait for the store's timeout while Redis is
    # stalled. One breaker per app (`init_app`).
    breaker: Breaker = current_app.extensions["fanapp.misses_breaker"]
    if not limiter.enabled or not breaker.allow():
        return
    settings = config.current()
    scope = (settings.redis_prefix + "limits", "missing", get_remote_address())
    for item in parse_many(settings.limit_missing):
        try:
            allowed = limiter.limiter.hit(item, *scope)
            reset, _left = limiter.limiter.get_window_stats(item, *scope)
        except RedisError:  # the shared store is down: answer the 404, as the other limits fail open
            breaker.failed()
            return
        if not allowed:
            _too_many(max(1, int(reset - time.time())))


def _too_many(retry_after: int) -> None:
    message = "Too many unknown addresses were asked for from your network."
    abort(errors.respond(errors.view_for(429, message, retry_after=retry_after)))


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
        # ...and a stalled Redis must not make a request wait: give up as quickly as the serving path.
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    )
    limiter.init_app(app)
    app.extensions["fanapp.misses_breaker"] = Breaker()
    # There are no app-wide or default limits here, only per-route ones, and Flask-Limiter's route
    # decorators check those themselves: its global before-request check would only cost every other
    # page (share pages on release day) a quarter of its time, so it is taken out.
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # absent when limits are switched off
        hooks.remove(limiter._check_request_limit)
