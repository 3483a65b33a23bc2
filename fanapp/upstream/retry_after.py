"""Retry-After, parsed once for the whole app: urllib3's parser, then one clamp.

Every upstream (Spotify, Last.fm, ReccoBeats, Deezer, the image CDN) goes through `retry_after_seconds`,
so the same header means the same wait everywhere.
"""

from __future__ import annotations

from typing import Final

from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

# Spotify answers 429 with Retry-After of hours (a day has been seen); a week is the most we believe.
MAX_RETRY_AFTER: Final = 7 * 24 * 3600.0
# No header, an unreadable one, or a date already past: we were just told to slow down, so wait a minute.
DEFAULT_RETRY_AFTER: Final = 60.0

# urllib3's parser lives on its Retry class and caps at `retry_after_max`; only the parser is used.
_PARSER: Final = Retry(total=0, retry_after_max=int(MAX_RETRY_AFTER))


def retry_after_seconds(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), within 1 s .. a week.

    A missing or unreadable header, or an HTTP-date already past (clocks that disagree), gives
    `DEFAULT_RETRY_AFTER`; "0" gives 1 s, so a pause is always a pause.
    """
    text = (value or "").strip()
    if not text:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(_PARSER.parse_retry_after(text))
    except (InvalidHeader, ValueError, OverflowError):
        # ValueError: Python refuses int() of more than 4300 digits; OverflowError: dates past year 9999.
        return DEFAULT_RETRY_AFTER
    if seconds <= 0 and not text.isdigit():
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)
