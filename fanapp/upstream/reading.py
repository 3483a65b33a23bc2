"""Bounded body reads: a cap in bytes and a deadline on the monotonic clock, enforced against a slow drip.

A socket timeout bounds each read, not the whole answer: a server that sends one byte every half second
never trips it. `requests`' own `iter_content` reads through urllib3's `stream()`, which blocks until a
whole chunk (64 KB) has arrived, so a deadline checked between chunks came 9 hours late at that rate.
Here each read is urllib3's `read1`: at most one read from the socket, so the deadline is checked after
every piece the server sends, and a drip is abandoned within one drip of the deadline.
"""

from __future__ import annotations

import time
from typing import Final

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.exceptions import HTTPError as Urllib3Error

CHUNK: Final = 64 * 1024


class BodyTooLarge(requests.RequestException):
    """The answer was larger than the cap (declared or as read); the rest was not read."""


class DeadlineExceeded(requests.Timeout):
    """The whole call (attempts and body) took longer than its deadline; the rest was not read."""


def read_bounded(response: requests.Response, *, max_bytes: int, deadline: float) -> bytes:
    """The body of a streamed `response`, decoded as `requests` would (gzip, deflate).

    Raises `BodyTooLarge` past `max_bytes`, `DeadlineExceeded` once `time.monotonic()` passes
    `deadline`, and `requests`' own exceptions for a broken or timed-out connection. The caller closes
    the response on failure (the connection is then dropped, not returned to the pool).
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"answer of {declared} bytes is over the {max_bytes}-byte cap")
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"answer still arriving at the deadline ({len(body)} bytes read)")
        try:
            chunk = response.raw.read1(CHUNK, decode_content=True)
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from exc
        except SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except Urllib3Error as exc:
            raise requests.ConnectionError(exc) from exc
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge(f"answer is over the {max_bytes}-byte cap")
