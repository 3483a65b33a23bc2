"""The developer token: an ES256 JWT, signed with the app's MusicKit key, that every Apple Music request
carries (`Authorization: Bearer …`) and MusicKit JS is configured with.

Apple's rules (Generating Developer Tokens): header `alg` ES256 and `kid` the key's 10-character id;
claims `iss` the team id, `iat`, `exp` at most 15777000 s (six months) later, and for web clients an
`origin` list the browser's Origin header must match. Tokens are signed by PyJWT (with `cryptography`),
kept in memory and signed again before they run out. The private key never leaves this object: it is
not in its repr, and no token is ever logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Final
from urllib.parse import urlsplit

import jwt
from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from fanapp.config import Settings

# Apple's ceiling for exp - iat: six months, in seconds.
MAX_LIFETIME: Final = 15_777_000
# What we sign: a day. The page's token is public (any visitor can read it), so a short life limits what
# a copied one is worth; signing again costs well under a millisecond.
LIFETIME: Final = 24 * 3600
# A token handed out always has at least this long to live: a visitor who opens the page just before
# renewal still has an hour to agree in Apple's window, and an import never starts on a dying token.
RENEW_BEFORE: Final = 3600
# Origins a token is cached for: the public base URL in production; in development the request's host.
MAX_ORIGINS: Final = 8

Clock = Callable[[], float]


def origin_of(url: str) -> str:
    """The origin (`scheme://host[:port]`) of an absolute URL, as browsers send it in `Origin`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class DeveloperTokens:
    """Signs and caches developer tokens for one MusicKit key, one per origin (None: no origin claim)."""

    def __init__(
        self,
        *,
        team_id: str,
        key_id: str,
        private_key: str,
        lifetime: int = LIFETIME,
        renew_before: int = RENEW_BEFORE,
        clock: Clock = time.time,
    ) -> None:
        """`private_key` is the .p8 file's PEM text; `lifetime` is capped at Apple's six months."""
        key = load_pem_private_key(private_key.encode(), password=None)
        if not isinstance(key, EllipticCurvePrivateKey):
            raise ValueError("the MusicKit key must be an EC (ES256) key")
        self._key = key
        self.team_id = team_id
        self.key_id = key_id
        self.lifetime = min(lifetime, MAX_LIFETIME)
        self.renew_before = min(renew_before, self.lifetime // 2)
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: LRUCache[str | None, tuple[str, float]] = LRUCache(maxsize=MAX_ORIGINS)

    def __repr__(self) -> str:
        return f"DeveloperTokens(team_id={self.team_id!r}, key_id={self.key_id!r})"

    def token(self, origin: str | None = None) -> str:
        """A developer token valid for at least `renew_before` seconds more.

        `origin` (e.g. "https://fans.example") restricts the token to pages of that site: give it for
        the token a page hands to MusicKit JS. The server's own calls send no Origin header, so theirs
        has none; it never leaves the server.
        """
        now = self._clock()
        with self._lock:
            cached = self._cache.get(origin)
            if cached is not None and cached[1] - self.renew_before > now:
                return cached[0]
            issued = int(now)
            claims: dict[str, object] = {"iss": self.team_id, "iat": issued, "exp": issued + self.lifetime}
            if origin:
                claims["origin"] = [origin]
            signed = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id})
            self._cache[origin] = (signed, float(issued + self.lifetime))
            return signed


@cache
def developer_tokens(settings: Settings) -> DeveloperTokens:
    """The app's token signer (one per process and settings, so its cache is shared by every request)."""
    if not settings.apple_music_enabled:
        raise RuntimeError("Apple Music is not configured (APPLE_MUSIC_TEAM_ID, _KEY_ID, _PRIVATE_KEY)")
    return DeveloperTokens(
        team_id=settings.apple_music_team_id,
        key_id=settings.apple_music_key_id,
        private_key=settings.apple_music_private_key,
    )
