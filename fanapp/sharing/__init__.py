"""The public surface of a published episode: share page and JSON, embeds and oEmbed, share images
(`cards/`), and the page cache that replays them before Flask. No login, no cookies."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public blueprints and put the page cache in front of the app."""
    from fanapp import episodes
    from fanapp.sharing import embed, images, pagecache, report, share

    settings = app.config["SETTINGS"]
    for module in (share, embed, images, report):
        app.register_blueprint(module.bp)
    image_cache = images.init_app(app)
    cache = pagecache.for_app(settings)
    app.extensions["fanapp.page_cache"] = cache
    app.wsgi_app = pagecache.PublicPages(app.wsgi_app, cache, public_base_url=settings.public_base_url)  # type: ignore[method-assign]

    def forget(_app: Flask, *, slugs: list[str]) -> None:
        # Every copy of a taken-down episode goes: pages in every worker, images in memory and on disk.
        pagecache.taken_down(settings, cache)
        for slug in slugs:
            image_cache.forget(slug)

    episodes.taken_down.connect(forget, sender=app, weak=False)
