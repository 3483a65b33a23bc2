"""How the Spotify double speaks: base62 ids, Spotify's timestamps, JSON answers and the two error shapes
(the Web API's ``{"error": {"status", "message"}}`` and the accounts service's OAuth ``error``)."""

from __future__ import annotations

import hashlib
import json
import string
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

Json = dict[str, Any]
BASE62 = string.digits + string.ascii_letters


def split_names(text: str, sep: str = "|") -> tuple[str, ...]:
    """Split a long literal list of names (kept on a few lines rather than one name a line)."""
    return tuple(text.split(sep))


def spotify_id(*parts: object) -> str:
    """A deterministic 22-character base62 id derived from ``parts``."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest(), "big")
    chars = []
    for _ in range(22):
        n, digit = divmod(n, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


def timestamp(moment: datetime, *, millis: bool = False) -> str:
    """Spotify's timestamp style: UTC with a ``Z`` suffix (``played_at`` carries milliseconds)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if millis else f"{text}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse a Spotify ``...Z`` timestamp into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unix_millis(text: str) -> int:
    """A Spotify timestamp as Unix milliseconds (the recently-played cursors)."""
    return round(parse_timestamp(text).timestamp() * 1000)


class ApiError(Exception):
    """Raised by a Web API handler; answered as Spotify's error object with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class OAuthError(Exception):
    """Raised by the token endpoint; answered as a 400 with OAuth's ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``payload`` as UTF-8 JSON (non-ASCII names sent as they are, as Spotify does)."""
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status, headers, content_type="application/json; charset=utf-8")


def api_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The Web API's error object."""
    return json_response({"error": {"status": status, "message": message}}, status, headers)
