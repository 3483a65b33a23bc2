"""gunicorn's settings for fanapp (read by `gunicorn -c gunicorn.conf.py`, the Procfile's `web:`).

- gevent workers: a slow client (a slowloris sending its headers a byte at a time) holds one greenlet,
  not one of a handful of threads, so hundreds of them leave the site answering. The app is I/O-bound
  around short renders; psycopg and redis-py cooperate with gevent's monkey-patching.
- Nobody is trusted for `X-Forwarded-Proto`, `SCRIPT_NAME` or `PATH_INFO` headers unless
  `FORWARDED_ALLOW_IPS` names them (gunicorn's default trusts loopback, so anything on the host could
  rewrite every link of a stored page). The app takes its links from `PUBLIC_BASE_URL` and the
  client address from `TRUSTED_PROXIES`, not from these.
- `reuse_port`: every worker gets its own accept queue from the kernel, which spreads new
  connections across workers instead of the busiest one taking most of them.
- gunicorn's own error answers (a malformed request line, headers too large) carry the same
  security headers as the app's.
"""

from __future__ import annotations

import html
import os
import textwrap

from gunicorn import util

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
worker_connections = 1000
timeout = 30
graceful_timeout = 20
keepalive = 5
reuse_port = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
# gunicorn's control socket lives in ~/.gunicorn, shared by every master on the host: not wanted here.
control_socket_disable = True
# Request limits, stated rather than left to defaults: long enough for any link of the app (oEmbed
# carries a share URL), short enough that headers cannot hold much memory per connection.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: strict-origin-when-cross-origin\r\n"
    "Cache-Control: no-store\r\n"
)


def write_error(sock: object, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer (`gunicorn.util.write_error`), with the app's security headers and
    a page that says what to do next."""
    page = textwrap.dedent(
        """\
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>%(reason)s</title></head>
        <body><h1>%(reason)s</h1><p>%(mesg)s</p>
        <p>Check the address and try again, or start from the home page.</p></body></html>
        """
    ) % {"reason": html.escape(reason), "mesg": html.escape(mesg)}
    body = page.encode("utf-8")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n{SECURITY_HEADERS}\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


# gunicorn has no setting for its error page: its workers call `util.write_error`, replaced here (in
# the master, before the workers fork) by the same answer with our headers.
util.write_error = write_error
