"""A listener's history in the Spotify double, as the app's `sources.spotify.history` reads it:
``/v1/me``, top tracks, recently played (cursor paging) and saved tracks (offset paging)."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.spotify.library import Library
from tests.fakes.spotify.state import TIME_RANGES
from tests.fakes.spotify.wire import ApiError, Json, json_response, unix_millis

RULES = [
    Rule("/v1/me", endpoint="me", methods=["GET"]),
    Rule("/v1/me/top/<kind>", endpoint="top", methods=["GET"]),
    Rule("/v1/me/player/recently-played", endpoint="recently_played", methods=["GET"]),
    Rule("/v1/me/tracks", endpoint="saved_tracks", methods=["GET"]),
]


class ListenerHistory(Library):
    """The endpoints under ``/v1/me`` that an import reads."""

    def _ep_me(self, request: Request) -> Response:
        self._token(request)
        withdrawn = ("country", "email", "explicit_content", "followers", "product")
        with self._lock:
            user = {k: v for k, v in self.user.items() if self.legacy_user_fields or k not in withdrawn}
            return json_response(user)

    def _ep_top(self, request: Request, kind: str) -> Response:
        if kind != "tracks":
            raise ApiError(404, "Service not found")
        self._token(request, "user-top-read")
        time_range = request.args.get("time_range", "medium_term")
        if time_range not in TIME_RANGES:
            raise ApiError(400, "Invalid time range")
        limit, offset = self._int(request, "limit", 20, 1, 50), self._int(request, "offset", 0, 0, 10_000)
        with self._lock:
            page = self._page(request, self.top[time_range], {"time_range": time_range}, limit, offset)
            return json_response(page)

    def _ep_recently_played(self, request: Request) -> Response:
        self._token(request, "user-read-recently-played")
        limit = self._int(request, "limit", 20, 1, 50)
        before, after = request.args.get("before"), request.args.get("after")
        if before and after:
            raise ApiError(400, "Only one of before and after may be specified")
        try:
            cursor = int(before or after or 0)
        except ValueError:
            raise ApiError(400, "Invalid cursor") from None
        with self._lock:
            plays = [(track, at, unix_millis(at)) for track, at in self.recent]  # newest first
            if after:
                window = [p for p in plays if p[2] > cursor][-limit:]  # the plays straight after the cursor
            else:
                window = [p for p in plays if not before or p[2] < cursor][:limit]
            cursor_params = {"after": after} if after else ({"before": before} if before else {})
            page: Json = {
                "href": f"{request.base_url}?{urlencode({'limit': limit, **cursor_params})}",
                "items": [{"track": t, "played_at": at, "context": self._context(t)} for t, at, _ in window],
                "limit": limit,
                "next": None,
                "cursors": None,  # Spotify sends null cursors and next on an empty page
            }
            if window:
                newest, oldest = window[0][2], window[-1][2]
                page["cursors"] = {"after": str(newest), "before": str(oldest)}
                if after and any(p[2] > newest for p in plays):
                    page["next"] = f"{request.base_url}?{urlencode({'after': newest, 'limit': limit})}"
                elif not after and any(p[2] < oldest for p in plays):
                    page["next"] = f"{request.base_url}?{urlencode({'before': oldest, 'limit': limit})}"
            page["next"] = self.foreign_next_url or page["next"]
            return json_response(page)

    def _ep_saved_tracks(self, request: Request) -> Response:
        self._token(request, "user-library-read")
        limit, offset = self._int(request, "limit", 20, 1, 50), self._int(request, "offset", 0, 0, 100_000)
        with self._lock:
            items = [{"added_at": at, "track": track} for track, at in self.saved]
            return json_response(self._page(request, items, {}, limit, offset))

    @staticmethod
    def _context(track: Json) -> Json:
        album = track["album"]
        return {
            "type": "album",
            "href": album["href"],
            "external_urls": album["external_urls"],
            "uri": album["uri"],
        }
