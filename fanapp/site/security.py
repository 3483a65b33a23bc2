"""CSRF protection and the security headers every response carries."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from fanapp.config import Settings
from fanapp.sources.apple.developer import origin_of

HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
# Subresource Integrity of that exact file (npm package htmx.org, dist/htmx.min.js): a tampered CDN
# copy is refused by the browser. The browser tests serve the npm file in place of the CDN to prove it.
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
# Cover art shown in pages: Spotify's image CDN, and Last.fm's for songs not matched on Spotify.
SPOTIFY_IMAGE_HOSTS = (
    "https://i.scdn.co",
    "https://*.scdn.co",
    "https://*.spotifycdn.com",
    "https://lastfm.freetls.fastly.net",
)
# Apple Music's cover art, for songs imported from Apple Music and not matched on Spotify.
APPLE_IMAGE_HOSTS = ("https://*.mzstatic.com",)
# No page of ours uses these powerful features: nothing we frame or load may ask for them either.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "payment",
        "serial",
        "usb",
    )
)
# What other sites may load as a subresource: the public surfaces (share images in partners' <img>,
# the embed card and its fonts and styles from its sandboxed, origin-less iframe); nothing else.
CROSS_ORIGIN_PREFIXES = ("/s/", "/embed/", "/static/", "/oembed")
# Pages with the visitor's own data (their draft, their history, their import): never stored by a
# browser or a shared cache, not even for "back".
PRIVATE_PREFIXES = ("/build/", "/my-data", "/import/", "/pick", "/callback/", "/connect/")


def content_security_policy(settings: Settings, *, embed: bool) -> str:
    """A strict CSP: no inline script or eval; only embeds may be framed, by the configured origins."""
    ancestors = " ".join(("'self'", *settings.embed_allowed_origins)) if embed else "'none'"
    image_hosts = " ".join((*SPOTIFY_IMAGE_HOSTS, *APPLE_IMAGE_HOSTS))
    scripts, connect = f"'self' {HTMX_URL}", "'self'"  # the one pinned htmx file, not all of the CDN
    if settings.apple_music_enabled and not embed:
        # MusicKit JS, only when Apple Music is configured: exactly its file (Apple serves v3 as one
        # rolling file and forbids re-hosting it, so it cannot carry an integrity hash), and the API it
        # calls once the listener has agreed. The landing loads it only when the visitor asks.
        scripts += f" {settings.apple_musickit_js_url}"
        connect += f" {origin_of(settings.apple_music_api_url)}"
    if not settings.production:
        # In development and tests the Spotify double serves cover art from loopback.
        image_hosts += " http://127.0.0.1:*"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'",
            f"img-src 'self' data: {image_hosts}",
            "frame-src https://open.spotify.com",
            f"connect-src {connect}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        )
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Turn on CSRF for every POST and add the headers after every request."""
    app.extensions["fanapp.csrf"] = CSRFProtect(app)
    policies = {embed: content_security_policy(settings, embed=embed) for embed in (False, True)}

    @app.after_request
    def _headers(response: Response) -> Response:
        embed = request.path.startswith("/embed/")
        h = response.headers
        h.setdefault("Content-Security-Policy", policies[embed])
        if not embed:
            h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        # Same-origin requests keep the full Referer; other sites get the origin only. (CSRF is checked by
        # token, not Referer: WTF_CSRF_SSL_STRICT is off, so no policy here can break it.)
        h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if request.path.startswith("/static/fonts/"):
            # Our embed card runs in a sandboxed iframe (origin "null") on partner pages: let it load
            # its display font. Fonts are public files.
            h.setdefault("Access-Control-Allow-Origin", "*")
        h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # Our own window keeps no cross-site opener; popups we open (Apple's MusicKit sign-in, which
        # answers through window.opener) keep working.
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
        public = request.path.startswith(CROSS_ORIGIN_PREFIXES)
        h.setdefault("Cross-Origin-Resource-Policy", "cross-origin" if public else "same-origin")
        if request.path.startswith(PRIVATE_PREFIXES):
            h["Cache-Control"] = "no-store"
        if settings.production:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
