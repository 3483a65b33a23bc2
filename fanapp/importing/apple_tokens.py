"""The Apple Music user token, held for one import: Fernet-encrypted in its own table, read once.

MusicKit JS gives the browser a Music User Token when the listener agrees; the page posts it here and the
import takes it: `take` decrypts it and deletes the row in the same step, so the token lives in memory
for that one import only. It is never in a cookie, a page, a URL, an RQ job payload (those live in
Redis) or a log line. Apple's token cannot be refreshed and the import never waits for a pause, so no
later run needs it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import Session, select

from fanapp.config import Settings
from fanapp.data.models import AppleMusicToken


def _fernet(settings: Settings) -> MultiFernet:
    # The same keys as the Spotify tokens (TOKEN_KEYS): newest encrypts, any decrypts (rotation).
    return MultiFernet([Fernet(k.encode()) for k in settings.token_keys])


def save(session: Session, *, settings: Settings, listener_id: int, music_user_token: str) -> None:
    """Keep a listener's Music User Token, encrypted, until their import takes it."""
    row = session.exec(select(AppleMusicToken).where(AppleMusicToken.listener_id == listener_id)).first()
    row = row or AppleMusicToken(listener_id=listener_id, music_user_token="")
    row.music_user_token = _fernet(settings).encrypt(music_user_token.encode()).decode()
    session.add(row)
    session.commit()


def take(session: Session, *, settings: Settings, listener_id: int) -> str | None:
    """The listener's Music User Token, decrypted, and deleted from the table in the same commit; None
    when there is none (already taken) or no key can read it."""
    row = session.exec(select(AppleMusicToken).where(AppleMusicToken.listener_id == listener_id)).first()
    if row is None:
        return None
    try:
        token: str | None = _fernet(settings).decrypt(row.music_user_token.encode()).decode()
    except InvalidToken:
        token = None
    session.delete(row)
    session.commit()
    return token


def forget(session: Session, *, listener_id: int) -> None:
    """Delete a listener's Music User Token if it is still there (an import that never ran)."""
    row = session.exec(select(AppleMusicToken).where(AppleMusicToken.listener_id == listener_id)).first()
    if row is not None:
        session.delete(row)
        session.commit()
