"""The accounts service of the Spotify double (``/accounts/``): ``authorize`` (auto-approves as the
fake user, PKCE S256 required), ``api/token`` (authorization code with PKCE, refresh with optional
rotation, client credentials), and minting tokens directly for tests."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.spotify.state import AuthCode, SpotifyState, Token
from tests.fakes.spotify.wire import Json, OAuthError, json_response, split_names

DEFAULT_SCOPE = "user-read-private user-top-read user-read-recently-played user-library-read"
# The scopes Spotify's OpenAPI document lists; anything else gets error=invalid_scope at authorize.
KNOWN_SCOPES = frozenset(
    split_names(
        "app-remote-control playlist-read-private playlist-read-collaborative playlist-modify-public "
        "playlist-modify-private user-library-read user-library-modify user-read-private user-read-email "
        "user-follow-read user-follow-modify user-top-read user-read-playback-position "
        "user-read-playback-state user-read-recently-played user-read-currently-playing "
        "user-modify-playback-state ugc-image-upload streaming",
        " ",
    )
)
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")

RULES = [
    Rule("/accounts/authorize", endpoint="authorize", methods=["GET"]),
    Rule("/accounts/api/token", endpoint="token", methods=["POST"]),
]


class AccountsService(SpotifyState):
    """Sign-in and tokens: the endpoints under ``/accounts/`` and the token helpers tests call."""

    def issue_token(self, scope: str = DEFAULT_SCOPE) -> Json:
        """Mint a user token as the token endpoint would (skips the browser dance in tests)."""
        return self._issue(frozenset(scope.split()), with_refresh=True)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far fail with 401 "The access token expired"."""
        with self._lock:
            for token in self._access.values():
                token.expires_at = 0.0

    def _ep_authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id:
            return self._error_page("INVALID_CLIENT: Invalid client")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri != self.redirect_uri:
            return self._error_page("INVALID_CLIENT: Invalid redirect URI")
        state = args.get("state")
        scope = frozenset(args.get("scope", "").split())
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif not scope <= KNOWN_SCOPES:
            error = "invalid_scope"
        elif (
            not state
            or args.get("code_challenge_method") != "S256"
            or not _PKCE_CHALLENGE.match(args.get("code_challenge", ""))
        ):
            error = "invalid_request"
        with self._lock:
            if error is None and self.deny_next_authorize:
                self.deny_next_authorize = False
                error = "access_denied"
            if error is None:
                code = secrets.token_urlsafe(32)
                expires = time.monotonic() + 600
                self._codes[code] = AuthCode(redirect_uri, scope, args["code_challenge"], expires)
                params = {"code": code}
            else:
                params = {"error": error}
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})

    @staticmethod
    def _error_page(message: str) -> Response:
        html = f"<!doctype html><title>Error</title><h1>Oops! Something went wrong</h1><p>{message}</p>"
        return Response(html, 400, content_type="text/html; charset=utf-8")

    def _ep_token(self, request: Request) -> Response:
        form = request.form
        has_secret = self._authenticate_client(request)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                payload = self._grant_code(form.get("code", ""), form)
            elif grant_type == "refresh_token":
                payload = self._grant_refresh(form.get("refresh_token", ""))
            elif grant_type == "client_credentials":
                if not has_secret:
                    raise OAuthError("invalid_client", "Invalid client secret")
                payload = self._issue(frozenset(), with_refresh=False, user=False)
            elif grant_type is None:
                raise OAuthError("unsupported_grant_type", "grant_type parameter is missing")
            else:
                raise OAuthError("unsupported_grant_type", f"unsupported grant_type: {grant_type}")
        return json_response(payload, headers={"Cache-Control": "no-store"})

    def _authenticate_client(self, request: Request) -> bool:
        """Check HTTP Basic or body credentials; returns whether a valid secret was presented."""
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        else:
            client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        if client_id != self.client_id:
            raise OAuthError("invalid_client", "Invalid client")
        if secret is not None and secret != self.client_secret:
            raise OAuthError("invalid_client", "Invalid client secret")
        return secret is not None

    def _grant_code(self, code: str, form: Mapping[str, str]) -> Json:
        grant = self._codes.pop(code, None)  # consumed by any attempt, successful or not
        if grant is None or grant.expires_at < time.monotonic():
            raise OAuthError("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_grant", "Invalid redirect URI")
        verifier = form.get("code_verifier")
        if verifier is None:
            raise OAuthError("invalid_request", "code_verifier required")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
            raise OAuthError("invalid_grant", "code_verifier was incorrect")
        return self._issue(grant.scope, with_refresh=True)

    def _grant_refresh(self, refresh_token: str) -> Json:
        if self.invalid_grant_on_refresh:
            raise OAuthError("invalid_grant", "Refresh token revoked")
        grant = self._refresh.get(refresh_token)
        if grant is None:
            raise OAuthError("invalid_grant", "Invalid refresh token")
        if self.rotate_refresh_tokens:
            del self._refresh[refresh_token]
        return self._issue(grant.scope, with_refresh=self.rotate_refresh_tokens)

    def _issue(self, scope: frozenset[str], *, with_refresh: bool, user: bool = True) -> Json:
        lifetime = self.access_token_lifetime
        access = "BQ" + secrets.token_urlsafe(48)
        with self._lock:
            self._access[access] = Token(scope, user, time.monotonic() + lifetime)
            payload: Json = {"access_token": access, "token_type": "Bearer", "expires_in": lifetime}
            if user:
                payload["scope"] = " ".join(sorted(scope))
            if with_refresh:
                refresh = "AQ" + secrets.token_urlsafe(64)
                self._refresh[refresh] = Token(scope, True, float("inf"))
                payload["refresh_token"] = refresh
        return payload
