"""The double by hand: ``python -m tests.fakes.spotify [--port N] [--redirect-uri URI]``, which
``make fake-spotify`` runs (``PORT=`` and ``REDIRECT_URI=`` pass through)."""

from __future__ import annotations

import argparse
import shlex
import threading
from collections.abc import Sequence

from tests.fakes.spotify.server import FakeSpotify
from tests.fakes.spotify.state import DEFAULT_REDIRECT_URI


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the double by hand so a person can click through the Spotify path locally."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.spotify", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--client-id", default="test-client")
    parser.add_argument("--client-secret", default="test-secret")
    parser.add_argument(
        "--app-url",
        default=DEFAULT_REDIRECT_URI.removesuffix("/callback/spotify"),
        help="the app's base URL: the redirect URI is its /callback/spotify unless --redirect-uri is given",
    )
    parser.add_argument(
        "--redirect-uri",
        default=None,
        help="the app's SPOTIPY_REDIRECT_URI, the only one authorize accepts",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds every Web API answer takes (the real service's round trip; the bench uses it)",
    )
    args = parser.parse_args(argv)
    app_url = args.app_url.rstrip("/")
    redirect_uri = args.redirect_uri or f"{app_url}/callback/spotify"
    fake = FakeSpotify(args.client_id, args.client_secret, redirect_uri, seed=args.seed)
    if args.latency > 0:
        fake.slow("/v1/", args.latency, times=None)
    fake.start(args.host, args.port, quiet=False)
    env = {
        "SPOTIPY_CLIENT_ID": fake.client_id,
        "SPOTIPY_CLIENT_SECRET": fake.client_secret,
        "SPOTIPY_REDIRECT_URI": fake.redirect_uri,
        "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
        "SPOTIFY_API_URL": fake.api_url,
    }
    try:
        print("Fake Spotify is serving. Set these for the app:\n", flush=True)
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}", flush=True)  # safe to paste into a shell
        print(
            f"\nUser: {fake.user['display_name']} ({fake.user['id']}). Then open {app_url} and connect.",
            flush=True,
        )
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
