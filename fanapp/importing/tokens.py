"""The per-listener Spotify token store: Fernet-encrypted rows, never a cookie or spotipy's `.cache` file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import Session, select

from fanapp.config import Settings
from fanapp.data.models import SpotifyToken
from fanapp.sources.spotify import oauth
from fanapp.sources.spotify.client import SpotifyAuthError
from fanapp.sources.spotify.oauth import TokenSet
from fanapp.upstream.shared import named_lock


def _fernet(settings: Settings) -> MultiFernet:
    # MultiFernet encrypts with the first (newest) key and decrypts with any: keys rotate without downtime.
    return MultiFernet([Fernet(k.encode()) for k in settings.token_keys])


def save(session: Session, *, settings: Settings, listener_id: int, tokens: TokenSet) -> None:
    """Store (or replace) a listener's tokens, encrypted."""
    f = _fernet(settings)
    row = session.exec(select(SpotifyToken).where(SpotifyToken.listener_id == listener_id)).first()
    row = row or SpotifyToken(listener_id=listener_id, access_token="", expires_at=tokens.expires_at)
    row.access_token = f.encrypt(tokens.access_token.encode()).decode()
    row.refresh_token = f.encrypt(tokens.refresh_token.encode()).decode() if tokens.refresh_token else None
    row.expires_at = tokens.expires_at
    row.scope = tokens.scope
    session.add(row)
    session.commit()


def load(session: Session, *, settings: Settings, listener_id: int) -> TokenSet | None:
    """A listener's tokens, decrypted; None when there are none (or no key can read them)."""
    row = session.exec(select(SpotifyToken).where(SpotifyToken.listener_id == listener_id)).first()
    if row is None:
        return None
    f = _fernet(settings)
    try:
        access = f.decrypt(row.access_token.encode()).decode()
        refresh = f.decrypt(row.refresh_token.encode()).decode() if row.refresh_token else None
    except InvalidToken:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return TokenSet(access_token=access, refresh_token=refresh, expires_at=expires, scope=row.scope)


def expired(tokens: TokenSet, *, margin: timedelta = timedelta(seconds=60)) -> bool:
    """True when the access token is (about to be) no longer valid."""
    return tokens.expires_at - margin <= datetime.now(UTC)


def access_token(session: Session, *, settings: Settings, listener_id: int) -> str:
    """A valid access token for the listener, refreshing it if needed (one refresh at a time).

    Refresh tokens may rotate: two workers refreshing at once would each spend the same refresh token
    and one would lose. So a shared lock serialises refreshes per listener, and whoever waited re-reads
    the row first: usually someone else has refreshed already. `invalid_grant` is final: the tokens are
    deleted and the visitor must connect again (no retry).
    """
    current = load(session, settings=settings, listener_id=listener_id)
    if current is not None and not expired(current):
        return current.access_token
    with named_lock(settings, f"refresh:{listener_id}"):
        session.expire_all()
        current = load(session, settings=settings, listener_id=listener_id)
        if current is None or not current.refresh_token:
            raise SpotifyAuthError("Your Spotify connection has ended. Please connect again.")
        if not expired(current):
            return current.access_token
        try:
            fresh = oauth.refresh(settings, current.refresh_token)
        except SpotifyAuthError as exc:
            if exc.error == "invalid_grant":
                forget(session, listener_id=listener_id)
            raise
        save(session, settings=settings, listener_id=listener_id, tokens=fresh)
        return fresh.access_token


def forget(session: Session, *, listener_id: int) -> None:
    """Delete a listener's tokens (disconnect, `invalid_grant`, or import finished)."""
    row = session.exec(select(SpotifyToken).where(SpotifyToken.listener_id == listener_id)).first()
    if row is not None:
        session.delete(row)
        session.commit()
