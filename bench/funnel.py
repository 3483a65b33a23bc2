"""What counting costs the share page: the funnel's view count (one HINCRBY on Redis) on a page replayed
from the page cache, against the same replay with the counting layer left out, in the same run.

Prints `funnel_count counted_us=… uncounted_us=… ratio=… hincrby_us=…`: per-request medians of the
app's own WSGI stack (no network, no gunicorn), so the difference is the counting layer alone; `ratio`
is counted / uncounted. A Redis at 127.0.0.1:6379 (as for the tests) is used; its keys are removed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from werkzeug.test import EnvironBuilder

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data import migrate

REDIS_URL = "redis://127.0.0.1:6379/0"
REQUESTS = 2_000
ROUNDS = 7


def _per_request_us(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS):
        call()
    return (time.perf_counter() - start) / REQUESTS * 1e6


def _request(app: Any, environ: dict[str, Any]) -> Callable[[], object]:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    def call() -> object:
        return b"".join(app(dict(environ), start_response))

    return call


def main() -> None:
    """Print the summary line."""
    prefix = f"fanapp-bench-{uuid.uuid4().hex}:"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        settings = Settings(
            env="test", database_url=url, redis_url=REDIS_URL, redis_prefix=prefix, rate_limits_enabled=False
        )
        app = create_app(settings)
        from tests.conftest import publish_demo

        slug = publish_demo(app.test_client())
        environ = EnvironBuilder(
            path=f"/s/{slug}", query_string="utm_campaign=bench&utm_source=wrk"
        ).get_environ()
        counted = _request(app.wsgi_app, environ)
        uncounted = _request(
            app.wsgi_app.app, environ
        )  # the page cache, without the counting layer outside it
        counted(), uncounted()  # rendered once, replayed from now on
        conn = redis.Redis.from_url(REDIS_URL)
        key, field = prefix + "funnel:bench", "x"
        samples: dict[str, list[float]] = {"counted": [], "uncounted": [], "hincrby": []}
        for _ in range(ROUNDS):  # in turn within each round: a loaded machine slows all alike
            samples["counted"].append(_per_request_us(counted))
            samples["uncounted"].append(_per_request_us(uncounted))
            samples["hincrby"].append(_per_request_us(lambda: conn.hincrby(key, field, 1)))
        app.extensions["fanapp.engine"].dispose()
        for k in conn.scan_iter(f"{prefix}*"):
            conn.delete(k)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(
        f"funnel_count counted_us={med['counted']:.1f} uncounted_us={med['uncounted']:.1f} "
        f"ratio={med['counted'] / med['uncounted']:.2f} hincrby_us={med['hincrby']:.1f}"
    )


if __name__ == "__main__":
    main()
