"""fanapp: "your Soundtrack", a two-character episode and a mash-up from your own listening history."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from fanapp.config import ROOT, Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment (or `config`), database, security, blueprints."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env(instance_path=app.instance_path)
        if config:
            settings = settings.override(**config)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        DEBUG=False if settings.production else app.debug,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        WTF_CSRF_SSL_STRICT=False,  # CSRF is checked by token; Referer is not required (privacy)
    )
    # Tokens and codes must never reach the logs: spotipy logs request headers at DEBUG.
    for name in ("spotipy", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from fanapp import cli, content, sharing, site, web
    from fanapp.data import session
    from fanapp.site import limits

    # The content pack is checked before anything serves: a broken one stops start-up, with its reason.
    app.extensions["fanapp.content"] = content.load(settings.content_pack)
    session.init_app(app, settings)
    site.init_app(app, settings)
    web.init_app(app)
    sharing.init_app(app)
    limits.init_app(app, settings)  # after sharing: its ProxyFix must wrap the page cache's WSGI layer
    cli.init_app(app)
    return app
