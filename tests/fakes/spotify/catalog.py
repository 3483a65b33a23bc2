"""Spotify's catalogue in the double, as the app's `sources.spotify.catalog` and the enrich providers use
it: search (with field filters), one track, audio features, creating a playlist and adding items, and
generated JPEG cover art under ``/images/``."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import re
from typing import Any

from PIL import Image, ImageDraw
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.spotify.library import Library
from tests.fakes.spotify.state import CreatedPlaylist
from tests.fakes.spotify.wire import ApiError, Json, json_response, spotify_id

SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")
_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_ITEM_URI = re.compile(r"^spotify:(track|episode):[0-9A-Za-z]{22}$")
_SEARCH_FILTER = re.compile(r'(track|artist|album|isrc|year):("[^"]*"|\S+)', re.IGNORECASE)

RULES = [
    Rule("/images/<name>.jpg", endpoint="image", methods=["GET"]),
    Rule("/v1/me/playlists", endpoint="create_playlist", methods=["POST"]),
    Rule("/v1/users/<user_id>/playlists", endpoint="create_playlist", methods=["POST"]),
    Rule("/v1/playlists/<playlist_id>/items", endpoint="add_items", methods=["POST"]),
    Rule("/v1/playlists/<playlist_id>/tracks", endpoint="add_items", methods=["POST"]),
    Rule("/v1/audio-features", endpoint="audio_features", methods=["GET"]),
    Rule("/v1/audio-features/<track_id>", endpoint="audio_features", methods=["GET"]),
    Rule("/v1/search", endpoint="search", methods=["GET"]),
    Rule("/v1/tracks/<track_id>", endpoint="track", methods=["GET"]),
]


@functools.lru_cache(maxsize=512)
def cover_jpeg(name: str, size: int = 300) -> bytes:
    """A small real JPEG whose two colours come from a hash of ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    image = Image.new("RGB", (size, size), (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, size), (size, 0), (size, size)], fill=(digest[3], digest[4], digest[5]))
    radius = size // 5 + digest[6] % (size // 4)
    centre = (digest[7] % size, digest[8] % size)
    draw.ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius], outline="white"
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def audio_features_object(track_id: str, **values: Any) -> dict[str, Any]:
    """An AudioFeaturesObject with every documented field (Spotify Web API reference), for tests that
    need one without a running double."""
    row: dict[str, Any] = {
        "acousticness": 0.00242,
        "analysis_url": f"https://api.spotify.com/v1/audio-analysis/{track_id}",
        "danceability": 0.585,
        "duration_ms": 237040,
        "energy": 0.842,
        "id": track_id,
        "instrumentalness": 0.00686,
        "key": 9,
        "liveness": 0.0866,
        "loudness": -5.883,
        "mode": 0,
        "speechiness": 0.0556,
        "tempo": 118.211,
        "time_signature": 4,
        "track_href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "type": "audio_features",
        "uri": f"spotify:track:{track_id}",
        "valence": 0.428,
    }
    row.update(values)
    return row


class Catalog(Library):
    """The catalogue endpoints (the app's token is enough), playlists (the visitor's) and cover art."""

    def _ep_audio_features(self, request: Request, track_id: str | None = None) -> Response:
        self._token(request, user=False)
        if not self.audio_features_enabled:
            raise ApiError(403, "Forbidden")
        if track_id is not None:
            return json_response(self._audio_features_for(self._known_track(track_id)))
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            raise ApiError(400, "invalid request")
        found = [self.track_by_id(i) for i in ids]
        return json_response({"audio_features": [self._audio_features_for(t) if t else None for t in found]})

    def _audio_features_for(self, track: Json) -> Json:
        rng = random.Random(track["id"])
        return {
            "acousticness": round(rng.random(), 3),
            "analysis_url": f"{self.api_url}audio-analysis/{track['id']}",
            "danceability": round(rng.uniform(0.2, 0.95), 3),
            "duration_ms": track["duration_ms"],
            "energy": round(rng.uniform(0.1, 1.0), 3),
            "id": track["id"],
            "instrumentalness": round(rng.random() ** 4, 4),
            "key": rng.randint(-1, 11),
            "liveness": round(rng.uniform(0.03, 0.6), 3),
            "loudness": round(rng.uniform(-18.0, -2.5), 3),
            "mode": rng.randint(0, 1),
            "speechiness": round(rng.uniform(0.02, 0.4), 3),
            "tempo": round(rng.uniform(68.0, 178.0), 3),
            "time_signature": rng.choice((3, 4, 4, 4, 5)),
            "track_href": track["href"],
            "type": "audio_features",
            "uri": track["uri"],
            "valence": round(rng.random(), 3),
        }

    def _ep_search(self, request: Request) -> Response:
        self._token(request, user=False)
        query = (request.args.get("q") or request.args.get("query") or "").strip()  # next URLs use query=
        if not query:
            raise ApiError(400, "No search query")
        types = [t for t in request.args.get("type", "").split(",") if t]
        if not types:
            raise ApiError(400, "Missing parameter type")
        if not set(types) <= set(SEARCH_TYPES):
            raise ApiError(400, "Bad search type field")
        limit, offset = self._int(request, "limit", 5, 1, 10), self._int(request, "offset", 0, 0, 1000)
        params = {"query": query, "type": ",".join(types)}
        with self._lock:
            hits = [t for t in self.catalogue if self._matches(t, query)]
            result = {
                f"{kind}s": self._page(request, hits if kind == "track" else [], params, limit, offset)
                for kind in types
            }
            return json_response(result)

    @staticmethod
    def _matches(track: Json, query: str) -> bool:
        fields = {
            "track": track["name"],
            "artist": " ".join(a["name"] for a in track["artists"]),
            "album": track["album"]["name"],
            "isrc": track["external_ids"].get("isrc", ""),
            "year": track["album"]["release_date"][:4],
        }
        for name, raw in _SEARCH_FILTER.findall(query):
            key, value = name.lower(), raw.strip('"').casefold()
            if key == "isrc":
                ok = value == fields["isrc"].casefold()
            elif key == "year":
                low, _, high = value.partition("-")
                ok = low <= fields["year"] <= (high or low)
            else:
                ok = value in fields[key].casefold()
            if not ok:
                return False
        free_text = _SEARCH_FILTER.sub(" ", query).casefold().split()
        haystack = " ".join((fields["track"], fields["artist"], fields["album"])).casefold()
        return all(word in haystack for word in free_text)

    def _ep_track(self, request: Request, track_id: str) -> Response:
        self._token(request, user=False)
        with self._lock:
            return json_response(self._known_track(track_id))

    def _known_track(self, track_id: str) -> Json:
        if not _ID.match(track_id):
            raise ApiError(400, "Invalid base62 id")
        track = self.track_by_id(track_id)
        if track is None:
            raise ApiError(404, "Resource not found")
        return track

    def _ep_create_playlist(self, request: Request, user_id: str | None = None) -> Response:
        body = request.get_json(force=True, silent=True)
        public = bool(body.get("public", True)) if isinstance(body, dict) else True
        self._token(request, "playlist-modify-public" if public else "playlist-modify-private")
        if user_id is not None and user_id != self.user["id"]:
            raise ApiError(403, "You cannot create a playlist for another user")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise ApiError(400, "Missing required field: name")
        description = body.get("description") or None
        with self._lock:
            playlist_id = spotify_id("playlist", self.seed, len(self.playlists), body["name"])
            playlist = CreatedPlaylist(
                playlist_id, body["name"], public, bool(body.get("collaborative")), description
            )
            self.playlists[playlist_id] = playlist
            return json_response(self._render_playlist(request, playlist), 201)

    def _ep_add_items(self, request: Request, playlist_id: str) -> Response:
        with self._lock:
            playlist = self.playlists.get(playlist_id)
        if playlist is None:
            self._token(request)
            raise ApiError(404, "Resource not found")
        self._token(request, "playlist-modify-public" if playlist.public else "playlist-modify-private")
        body = request.get_json(force=True, silent=True)
        if isinstance(body, list):  # spotipy's playlist_add_items posts a bare list of URIs
            body = {"uris": body}
        body = body if isinstance(body, dict) else {}
        uris = request.args["uris"].split(",") if request.args.get("uris") else body.get("uris")
        if not isinstance(uris, list) or not uris:
            raise ApiError(400, "No uris provided")
        if len(uris) > 100:
            raise ApiError(400, "Too many ids requested")
        for uri in uris:
            if not isinstance(uri, str) or not _ITEM_URI.match(uri):
                raise ApiError(400, f"Invalid track uri: {uri}")
        position = request.args.get("position", body.get("position"))
        try:
            index = None if position is None else int(position)
        except ValueError:
            raise ApiError(400, "Invalid position") from None
        with self._lock:
            at = len(playlist.uris) if index is None else max(0, min(index, len(playlist.uris)))
            playlist.uris[at:at] = uris
            playlist.version += 1
            return json_response({"snapshot_id": playlist.snapshot_id}, 201)

    def _render_playlist(self, request: Request, playlist: CreatedPlaylist) -> Json:
        owner = {k: self.user[k] for k in ("display_name", "external_urls", "href", "id", "type", "uri")}
        href = f"{self.api_url}playlists/{playlist.id}"
        items = self._page(request, [], {}, 100, 0) | {"href": f"{href}/items", "next": None}
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "followers": {"href": None, "total": 0},
            "href": href,
            "id": playlist.id,
            "images": [],
            "items": items,
            "name": playlist.name,
            "owner": owner,
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }

    def _ep_image(self, request: Request, name: str) -> Response:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name):
            return Response("not found", 404, content_type="text/plain")
        size = self._int(request, "size", 300, 16, 1024)
        return Response(
            cover_jpeg(name, size), 200, {"Cache-Control": "max-age=86400"}, content_type="image/jpeg"
        )
