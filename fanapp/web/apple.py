"""The Apple Music way in: MusicKit JS asks the listener in Apple's own window (static/js/apple-music.js),
the page posts the Music User Token here, and the import continues like every other way in. And saving a
published episode to Apple Music as a library playlist, asked for only then (incremental consent).

Apple off (no MusicKit key configured): the landing says nothing of it and these routes are 404.
"""

from __future__ import annotations

import re
from typing import Final

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fanapp import campaigns, config, episodes
from fanapp.episodes import EpisodeView
from fanapp.errors import FanappError
from fanapp.importing import apple_tokens, jobs, store
from fanapp.site import campaign
from fanapp.site.db import db
from fanapp.site.limits import connect_limit, limiter
from fanapp.site.urls import absolute_url
from fanapp.sources.apple import client as apple_client
from fanapp.sources.apple.developer import developer_tokens, origin_of
from fanapp.sources.apple.playlists import apple_catalog_ids, save_playlist
from fanapp.web import pages, visitor
from fanapp.web.connect import next_step

bp = Blueprint("apple", __name__)

# Music User Tokens are opaque base64-like text of a few hundred characters; anything else is refused
# before it is stored or sent to Apple (it goes into a request header).
_USER_TOKEN: Final = re.compile(r"[A-Za-z0-9+/=._~-]{16,4096}")

NEEDS_JAVASCRIPT: Final = (
    "Apple asks for your permission in a window of its own, which needs JavaScript. Turn JavaScript on "
    "and connect again, or use one of the other ways in below."
)
BROKEN_SIGN_IN: Final = (
    "That Apple Music sign-in did not come through in one piece, so nothing was imported. "
    "Please connect Apple Music again."
)

SAVE_NEEDS_JAVASCRIPT: Final = (
    "Apple asks for your permission in a window of its own, which needs JavaScript. Turn JavaScript on "
    "and try again. Nothing was saved."
)
SAVE_BROKEN: Final = (
    "That Apple Music sign-in did not come through in one piece, so nothing was saved. Please try again."
)


@bp.app_template_global()
def apple_music_on() -> bool:
    """Whether this server offers Apple Music (pages that mention it say nothing when it is off)."""
    return config.current().apple_music_enabled


@bp.app_template_global()
def apple_music_songs(view: EpisodeView) -> int:
    """How many of an episode's playlist songs came from Apple Music (the share page offers the save)."""
    return len(_playlist_ids(view)[0])


@bp.app_template_global()
def apple_music_developer_token() -> str:
    """The developer token the landing page hands to MusicKit JS: restricted to this site's origin
    (Apple refuses it on any other), cached and renewed before it expires."""
    return developer_tokens(config.current()).token(origin_of(absolute_url("pages.landing")))


def _landing_with_error(message: str) -> Response:
    """Back to the landing page with the message on the Apple Music card (nothing was kept), as a GET."""
    return redirect(pages.carry_error("apple_music", message), code=303)


@bp.get("/connect/apple-music")
def apple_music_card() -> Response:
    """A bookmarked or reloaded connect address: back to the Apple Music card on the landing page."""
    if not config.current().apple_music_enabled:
        abort(404)
    return redirect(url_for("pages.landing", _anchor="apple-music"))


@bp.post("/connect/apple-music")
@limiter.limit(connect_limit)
def connect_apple_music() -> Response | str:
    """Import with the Music User Token MusicKit JS gave this page (form field `music_user_token`)."""
    settings = config.current()
    if not settings.apple_music_enabled:
        abort(404)
    user_token = request.form.get("music_user_token", "")
    if not user_token:
        return _landing_with_error(NEEDS_JAVASCRIPT)
    if not _USER_TOKEN.fullmatch(user_token):
        return _landing_with_error(BROKEN_SIGN_IN)
    listener_id = store.new_listener(db(), source="apple-music")
    visitor.became(listener_id)
    apple_tokens.save(db(), settings=settings, listener_id=listener_id, music_user_token=user_token)
    jobs.start_import(
        settings=settings,
        listener_id=listener_id,
        spec={"kind": "apple-music", "campaign": campaign.current()},
    )
    return next_step(listener_id)


def _published(slug: str) -> EpisodeView:
    settings = config.current()
    view = episodes.public_view(db(), slug) if settings.apple_music_enabled else None
    if view is None:
        abort(404, description="There is no published episode at this address.")
    return view


def _playlist_ids(view: EpisodeView) -> tuple[list[str], int]:
    """The Apple catalog ids of the episode's playlist (both soundtracks in story order, the mash-up pair
    last, as on Spotify), and how many songs the playlist has in all."""
    songs = [song for character in view.characters for song in character.songs]
    if view.mashup:
        songs += [view.mashup.a, view.mashup.b]
    return apple_catalog_ids(s.id for s in songs), len(songs)


def _save_page(view: EpisodeView, *, error: str = "", status: int = 200) -> Response:
    """The save page: what will be saved, and the button that asks Apple for permission."""
    ids, total = _playlist_ids(view)
    page = render_template(
        "pages/apple_music_save.html",
        view=view,
        settings=config.current(),
        on_apple=len(ids),
        total=total,
        share_url=absolute_url("share.page", slug=view.slug),
        error=error,
    )
    return make_response(page, status)


@bp.get("/s/<slug>/save-to-apple-music")
@limiter.limit(connect_limit)
def save_to_apple_music_page(slug: str) -> Response:
    """MusicKit JS asks for permission only here, when the visitor wants the playlist."""
    return _save_page(_published(slug))


@bp.post("/s/<slug>/save-to-apple-music")
@limiter.limit(connect_limit)
def save_to_apple_music(slug: str) -> Response | str:
    """Create the playlist with the Music User Token this page was given, used once and never stored."""
    view = _published(slug)
    user_token = request.form.get("music_user_token", "")
    if not _USER_TOKEN.fullmatch(user_token):
        return _save_page(view, error=SAVE_BROKEN if user_token else SAVE_NEEDS_JAVASCRIPT, status=400)
    ids, _total = _playlist_ids(view)
    share_url = absolute_url("share.page", slug=slug)
    client = apple_client.client_for(config.current(), user_token=user_token)
    try:
        url = save_playlist(
            client,
            name=f"your Soundtrack: {view.title}",
            description=f"A two-character Soundtrack episode, the mash-up pair last. {share_url}",
            catalog_ids=ids,
        )
    except FanappError as exc:
        return render_template("pages/apple_music_saved.html", error=exc.message, url="", share_url=share_url)
    campaigns.current().count("saves", campaign=campaign.current(), way="apple-music")
    return render_template("pages/apple_music_saved.html", error="", url=url, share_url=share_url)
