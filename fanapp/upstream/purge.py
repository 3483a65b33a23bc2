"""Purging the cache tier in front of the app by surrogate key (CONTRACT "Cache tier").

- `varnish`: one `BAN` request to `CDN_PURGE_URL` whose `Surrogate-Key` header lists the keys; the VCL in
  `deploy/varnish/fanapp.vcl` bans every object tagged with one of them (and accepts bans from its ACL only).
- `fastly`: Fastly's batch purge, `POST CDN_PURGE_URL` (`https://api.fastly.com/service/<id>/purge`) with
  `{"surrogate_keys": [...]}` (at most 256 a call) and the token in `Fastly-Key`.
- `cloudflare`: `POST CDN_PURGE_URL` (`https://api.cloudflare.com/client/v4/zones/<zone>/purge_cache`) with
  `{"tags": [...]}` (30 a call) and `Authorization: Bearer <token>`; Cloudflare answers `success`.

Every call has the upstream timeout; `PurgeError` says what failed, and the caller retries it.
"""

from __future__ import annotations

from collections.abc import Sequence

import requests

from fanapp.config import Settings

BATCH = {"varnish": 64, "fastly": 256, "cloudflare": 30}


class PurgeError(Exception):
    """The cache tier did not confirm a purge."""


class Purger:
    """Purges keys through the configured kind; a no-op without `CDN_PURGE_URL`."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        """Read the purge settings; one HTTP session for every purge of this process."""
        self.url = settings.cdn_purge_url
        self.kind = settings.cdn_purge_kind
        self.token = settings.cdn_purge_token
        self.timeout = min(5.0, settings.upstream_timeout)
        self.session = session or requests.Session()

    @property
    def enabled(self) -> bool:
        """Whether there is a cache tier to purge."""
        return bool(self.url)

    def purge(self, keys: Sequence[str]) -> None:
        """Purge every object tagged with one of `keys`; raises `PurgeError` unless confirmed."""
        if not self.url or not keys:
            return
        size = BATCH[self.kind]
        for start in range(0, len(keys), size):
            self._purge(list(keys[start : start + size]))

    def _purge(self, keys: list[str]) -> None:
        try:
            if self.kind == "varnish":
                answer = self.session.request(
                    "BAN", self.url, headers={"Surrogate-Key": " ".join(keys)}, timeout=self.timeout
                )
            elif self.kind == "fastly":
                answer = self.session.post(
                    self.url,
                    json={"surrogate_keys": keys},
                    headers={"Fastly-Key": self.token, "Accept": "application/json"},
                    timeout=self.timeout,
                )
            else:
                answer = self.session.post(
                    self.url,
                    json={"tags": keys},
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=self.timeout,
                )
        except requests.RequestException as exc:
            raise PurgeError(f"the {self.kind} purge at CDN_PURGE_URL did not answer ({exc})") from None
        if answer.status_code >= 300:
            raise PurgeError(f"the {self.kind} purge answered HTTP {answer.status_code}: {answer.text[:200]}")
        if self.kind == "cloudflare":
            try:
                ok = bool(answer.json().get("success"))
            except ValueError:
                ok = False
            if not ok:
                raise PurgeError(f"Cloudflare did not confirm the purge: {answer.text[:200]}")
