"""A local double of Spotify's accounts service and Web API, served over real HTTP on 127.0.0.1.

Payloads follow Spotify's OpenAPI schema (tests/unit/test_fake_spotify_schema.py checks them), so the
app talks to it through the real spotipy client.  One server carries three prefixes::

    /accounts/   authorize (auto-approves as ``fake.user``) and api/token
    /v1/         the Web API subset fanapp uses
    /images/     generated JPEG cover art

Use ``with FakeSpotify.running() as fake:`` in tests, or ``python -m tests.fakes.spotify`` by hand.

The modules follow the app's ``fanapp/sources/spotify/``:

    oauth.py     the accounts service: authorize, api/token (PKCE, refresh, client credentials)
    history.py   /me, top tracks, recently played, saved tracks
    catalog.py   search, tracks, audio features, playlists, cover art
    library.py   the data those serve: the catalogue and the listener's library, built from a seed
    faults.py    fault modes: scripted statuses, rate limits, server errors, slow and cut-off answers
    state.py     what the double holds and saw, the switches tests flip, the token check and paging
    wire.py      ids, timestamps, JSON answers and error shapes
    server.py    `FakeSpotify` (all of the above as one WSGI app) and its `running()` context manager
    __main__.py  ``python -m tests.fakes.spotify`` (``make fake-spotify``)
"""

from __future__ import annotations

from tests.fakes.spotify.catalog import SEARCH_TYPES, audio_features_object, cover_jpeg
from tests.fakes.spotify.faults import DEV_MODE_FORBIDDEN
from tests.fakes.spotify.library import HOSTILE_NAMES
from tests.fakes.spotify.oauth import DEFAULT_SCOPE, KNOWN_SCOPES
from tests.fakes.spotify.server import FakeSpotify
from tests.fakes.spotify.state import (
    DEFAULT_REDIRECT_URI,
    TIME_RANGES,
    Call,
    CreatedPlaylist,
    Fault,
    TokenRequest,
)
from tests.fakes.spotify.wire import Json, parse_timestamp, spotify_id, timestamp

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPE",
    "DEV_MODE_FORBIDDEN",
    "HOSTILE_NAMES",
    "KNOWN_SCOPES",
    "SEARCH_TYPES",
    "TIME_RANGES",
    "Call",
    "CreatedPlaylist",
    "FakeSpotify",
    "Fault",
    "Json",
    "TokenRequest",
    "audio_features_object",
    "cover_jpeg",
    "parse_timestamp",
    "spotify_id",
    "timestamp",
]
