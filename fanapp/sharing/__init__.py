"""The public surface of a published episode: share page and JSON, embeds and oEmbed, share images
(`cards/`), and the serving layer (`pagecache`, `store`) that answers them before Flask. No login, no
cookies."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public blueprints and put the serving layer in front of the app."""
    from fanapp import episodes
    from fanapp.sharing import counting, embed, images, pagecache, report, share

    settings = app.config["SETTINGS"]
    for module in (share, embed, images, report):
        app.register_blueprint(module.bp)
    image_cache = images.init_app(app)
    stored = Path(app.instance_path) / "cache" / "public"
    pack = app.extensions["fanapp.content"]
    if not pack.is_bundled:  # what was rendered under another pack's words and colours is not served again
        stored = stored / f"pack-{pack.digest()}"
    serving = pagecache.Serving(settings, image_dir=stored)
    app.extensions["fanapp.serving"] = serving
    app.extensions["fanapp.page_cache"] = serving.pages
    app.wsgi_app = pagecache.PublicPages(app.wsgi_app, serving, public_base_url=settings.public_base_url)  # type: ignore[method-assign]
    # Outside the page cache, so replayed pages are counted too; behind a cache tier, pages count
    # themselves with a beacon instead (`counting.beacon`), and only images are counted here.
    app.wsgi_app = counting.CountViews(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions["fanapp.funnel"], images_only=bool(settings.cdn_purge_url)
    )
    app.register_blueprint(counting.bp)
    app.extensions["fanapp.csrf"].exempt(counting.beacon)  # an anonymous aggregate count: nothing to forge

    def forget(_app: Flask, *, slugs: list[str]) -> None:
        # Every copy of a taken-down episode goes: in every worker, in the stores, in the cache tier.
        serving.taken_down(slugs)
        for slug in slugs:
            image_cache.forget(slug)

    episodes.taken_down.connect(forget, sender=app, weak=False)
