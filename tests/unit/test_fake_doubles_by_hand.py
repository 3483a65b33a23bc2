"""The doubles run by hand (README, "Clicking through without a Spotify account"): `python -m` with a
port and the app's redirect URI, and the Makefile targets that pass `PORT` and `REDIRECT_URI` through."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving_by_hand(*args: str, last: str) -> Iterator[dict[str, str]]:
    """Run ``python -m <args>`` and yield the variables it prints, up to ``last``; Ctrl-C at the end."""
    command = [sys.executable, "-m", *args]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                env[name] = value
            if last in env:
                break
        try:
            yield env
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0


def test_spotify_double_takes_the_apps_redirect_uri() -> None:
    redirect_uri = "http://127.0.0.1:5001/callback/spotify"
    args = ("tests.fakes.spotify", "--port", "0", "--redirect-uri", redirect_uri)
    with serving_by_hand(*args, last="SPOTIFY_API_URL") as env:
        assert env["SPOTIPY_REDIRECT_URI"] == redirect_uri
        query = {
            "client_id": env["SPOTIPY_CLIENT_ID"],
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": "s1",
            "scope": "user-top-read",
            "code_challenge_method": "S256",
            "code_challenge": "A" * 43,
        }
        url = env["SPOTIFY_ACCOUNTS_URL"] + "authorize"
        with requests.get(url, params=query, allow_redirects=False, timeout=5) as response:
            assert response.status_code == 302
            location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
        assert dict(parse_qsl(location.query))["state"] == "s1"
        default = dict(query, redirect_uri="http://127.0.0.1:5000/callback/spotify")
        with requests.get(url, params=default, allow_redirects=False, timeout=5) as response:
            assert response.status_code == 400


def test_lastfm_double_takes_a_port() -> None:
    with serving_by_hand("tests.fakes.lastfm", "--port", "0", last="LASTFM_API_URL") as env:
        api_url = urlsplit(env["LASTFM_API_URL"])
        assert api_url.hostname == "127.0.0.1" and api_url.port not in (None, 0, 5002)
        assert api_url.path == "/2.0/"
        params = {"method": "user.getinfo", "user": "rj", "api_key": env["LASTFM_API_KEY"], "format": "json"}
        with requests.get(env["LASTFM_API_URL"], params=params, timeout=5) as response:
            assert response.status_code == 200
            assert response.json()["user"]["name"] == "RJ"


def make_dry_run(target: str, *variables: str) -> str:
    """The command ``make -n`` would run for ``target`` (no PORT or REDIRECT_URI in the environment)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    unset = ("PORT", "REDIRECT_URI", "APP_URL", "MAKEFLAGS", "MFLAGS")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", target, *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module = "tests.fakes." + target.removeprefix("fake-")
    lines = [line for line in result.stdout.splitlines() if f"-m {module}" in line]
    assert len(lines) == 1, result.stdout
    return lines[0]


def test_make_targets_keep_the_doubles_default_ports() -> None:
    # The Makefile's PORT default is the app's 5000: the doubles must not take it.
    assert "--port" not in make_dry_run("fake-spotify")
    assert "--redirect-uri" not in make_dry_run("fake-spotify")
    assert "--port" not in make_dry_run("fake-lastfm")


def test_make_targets_pass_port_and_redirect_uri_through() -> None:
    redirect_uri = "http://127.0.0.1:5001/callback/spotify"
    spotify = make_dry_run("fake-spotify", "PORT=8800", f"REDIRECT_URI={redirect_uri}")
    assert spotify.endswith(f"-m tests.fakes.spotify --port '8800' --redirect-uri '{redirect_uri}'")
    assert make_dry_run("fake-lastfm", "PORT=8801").endswith("-m tests.fakes.lastfm --port '8801'")


def test_make_targets_take_the_apps_url() -> None:
    spotify = make_dry_run("fake-spotify", "PORT=8800", "APP_URL=http://127.0.0.1:5001")
    assert spotify.endswith("-m tests.fakes.spotify --port '8800' --app-url 'http://127.0.0.1:5001'")
    lastfm = make_dry_run("fake-lastfm", "PORT=8801", "APP_URL=http://127.0.0.1:5001")
    assert lastfm.endswith("-m tests.fakes.lastfm --port '8801' --app-url 'http://127.0.0.1:5001'")


def test_spotify_double_derives_the_redirect_uri_from_the_apps_url() -> None:
    args = ("tests.fakes.spotify", "--port", "0", "--app-url", "http://127.0.0.1:5001/")
    with serving_by_hand(*args, last="SPOTIFY_API_URL") as env:
        assert env["SPOTIPY_REDIRECT_URI"] == "http://127.0.0.1:5001/callback/spotify"
