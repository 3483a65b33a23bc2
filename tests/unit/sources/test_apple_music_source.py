"""Apple Music without the app: converters on schema-shaped payloads, developer tokens, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from fanapp.config import ConfigError, Settings
from fanapp.sources.apple.convert import artwork_url, release_year, song_from_apple
from fanapp.sources.apple.developer import MAX_LIFETIME, DeveloperTokens

DATA = Path(__file__).resolve().parents[2] / "data" / "apple" / "recent_played_tracks.json"


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_songs_from_a_recently_played_page() -> None:
    items = json.loads(DATA.read_text())["data"]
    catalog, library, upload, video = (song_from_apple(i) for i in items)
    assert catalog is not None and library is not None and upload is not None
    assert video is None
    assert catalog.source_id == "apple:1712345678"
    assert (catalog.title, catalog.artists, catalog.album) == (
        "Lantern Street",
        ["Odessa Wilde"],
        "Harbour Lights (Deluxe Edition)",
    )
    assert (catalog.isrc, catalog.release_year, catalog.duration_ms, catalog.explicit) == (
        "GBABC2300042",
        2023,
        224640,
        True,
    )
    assert catalog.image_url == (
        "https://is3-ssl.mzstatic.com/image/thumb/Music126/v4/aa/bb/cc/aabbcc/5021732.jpg/300x300bb.jpg"
    )
    # A library song carries its catalog song's id and ISRC, so both copies of a song merge.
    assert library.source_id == "apple:1440000001" and library.isrc == "USQX99800017"
    assert library.release_year == 1998 and library.image_url and "/300x300bb.jpg" in library.image_url
    # An upload Apple has no catalog song for: a stable id of its own, no cover.
    assert upload.source_id.startswith("apple:") and not upload.source_id[6:].isdigit()
    assert upload.image_url is None and upload.isrc is None


@pytest.mark.parametrize(
    ("artwork", "expected"),
    [
        ({"url": "https://is1-ssl.mzstatic.com/a/{w}x{h}bb.jpg", "width": 120, "height": 120}, "120x120bb"),
        ({"url": "https://is1-ssl.mzstatic.com/a/{w}x{h}{c}.{f}", "width": 3000}, "300x300bb.jpg"),
        ({"url": "http://is1-ssl.mzstatic.com/a/{w}x{h}bb.jpg"}, None),
        ({"url": "https://evil.example/{w}x{h}bb.jpg"}, None),
        ({"url": "https://mzstatic.com.evil.example/{w}x{h}.jpg"}, None),
        ({"url": "https://is1-ssl.mzstatic.com/a/{w}x{h}bb.jpg{x}"}, None),
        ({"url": "javascript:alert(1)//{w}x{h}"}, None),
        ({"url": None}, None),
        ("not an object", None),
    ],
)
def test_artwork_templates(artwork: Any, expected: str | None) -> None:
    url = artwork_url(artwork)
    assert (url is None) if expected is None else (url is not None and expected in url)


@pytest.mark.parametrize(
    ("value", "year"),
    [("2022-05-06", 2022), ("1973", 1973), ("2022-05", 2022), ("0000", None), ("soon", None), (2020, None)],
)
def test_release_years(value: Any, year: int | None) -> None:
    assert release_year(value) == year


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None)
@given(
    attributes=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "artistName",
                "albumName",
                "isrc",
                "releaseDate",
                "durationInMillis",
                "artwork",
                "contentRating",
                "playParams",
            ]
        ),
        json_values,
    ),
    kind=st.sampled_from(["songs", "library-songs", "albums", None]),
    ident=json_values,
)
def test_any_payload_converts_to_a_bounded_song_or_nothing(
    attributes: dict[str, Any], kind: Any, ident: Any
) -> None:
    track = song_from_apple({"id": ident, "type": kind, "attributes": attributes})
    if track is None:
        return
    assert track.source_id.startswith("apple:") and len(track.source_id) <= 255
    assert 0 < len(track.title) <= 300 and len(track.artists) == 1 and 0 < len(track.artists[0]) <= 200
    assert track.image_url is None or track.image_url.startswith("https://")
    assert track.duration_ms is None or 0 < track.duration_ms < 24 * 3600 * 1000


# -- developer tokens -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_developer_token_has_apples_header_and_claims(key: ec.EllipticCurvePrivateKey) -> None:
    tokens = DeveloperTokens(team_id="TEAM123456", key_id="KEY9876543", private_key=pem(key))
    token = tokens.token("https://fans.example")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY9876543", "typ": "JWT"}
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456" and claims["origin"] == ["https://fans.example"]
    assert 0 < claims["exp"] - claims["iat"] <= MAX_LIFETIME
    assert "origin" not in jwt.decode(tokens.token(), key.public_key(), algorithms=["ES256"])
    assert "PRIVATE" not in repr(tokens) and "KEY9876543" in repr(tokens)


def test_tokens_are_cached_and_renewed_before_they_expire(key: ec.EllipticCurvePrivateKey) -> None:
    clock = Clock()
    tokens = DeveloperTokens(
        team_id="TEAM123456",
        key_id="KEY9876543",
        private_key=pem(key),
        lifetime=7200,
        renew_before=600,
        clock=clock,
    )
    first = tokens.token()
    clock.now += 6500  # 700 s left: still handed out
    assert tokens.token() == first
    clock.now += 200  # 500 s left: inside the renewal margin, so a fresh one
    second = tokens.token()
    assert second != first
    claims = jwt.decode(
        second, key.public_key(), algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["iat"] == int(clock.now) and claims["exp"] == int(clock.now) + 7200


def test_a_token_never_lives_longer_than_apple_allows(key: ec.EllipticCurvePrivateKey) -> None:
    tokens = DeveloperTokens(team_id="TEAM123456", key_id="KEY9876543", private_key=pem(key), lifetime=10**9)
    claims = jwt.decode(tokens.token(), key.public_key(), algorithms=["ES256"])
    assert claims["exp"] - claims["iat"] == MAX_LIFETIME


# -- settings ---------------------------------------------------------------------------------------


def test_apple_music_settings_are_all_or_nothing_and_checked_at_start(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    good = {
        "FANAPP_ENV": "development",
        "APPLE_MUSIC_TEAM_ID": "TEAM123456",
        "APPLE_MUSIC_KEY_ID": "KEY9876543",
    }
    one_line = pem(key).replace("\n", "\\n")  # how one-line hosts hold the .p8 file
    enabled = Settings.from_env({**good, "APPLE_MUSIC_PRIVATE_KEY": one_line})
    assert enabled.apple_music_enabled and enabled.apple_music_private_key.startswith("-----BEGIN")
    assert not Settings.from_env({"FANAPP_ENV": "development"}).apple_music_enabled

    with pytest.raises(ConfigError, match="set APPLE_MUSIC_PRIVATE_KEY too"):
        Settings.from_env(good)
    rsa_key = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(ConfigError, match="P-256") as refused:
        Settings.from_env({**good, "APPLE_MUSIC_PRIVATE_KEY": rsa_key})
    assert "MII" not in str(refused.value)  # the key is never repeated in the error
    with pytest.raises(ConfigError, match="APPLE_MUSIC_TEAM_ID"):
        Settings.from_env({**good, "APPLE_MUSIC_TEAM_ID": "team", "APPLE_MUSIC_PRIVATE_KEY": one_line})
    with pytest.raises(ConfigError, match="APPLE_MUSICKIT_JS_URL"):
        Settings.from_env(
            {"FANAPP_ENV": "development", "APPLE_MUSICKIT_JS_URL": "https://x.example/m.js; script-src *"}
        )
