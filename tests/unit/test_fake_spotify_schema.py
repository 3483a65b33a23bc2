"""The Spotify double's payloads, fetched over HTTP, validated against Spotify's OpenAPI document.

Besides plain JSON Schema validation (which is weak here: TrackObject declares no required fields), every
payload is also walked to check it uses no field the spec does not declare, no deprecated field unless
the spec still requires it, and that it leaves out no documented field except the few listed below.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fakes.spotify import FakeSpotify

ROOT = Path(__file__).resolve().parents[2]
SPEC_URI = "urn:spotify-web-api"
SPEC_CANDIDATES = (
    os.environ.get("SPOTIFY_OPENAPI_SPEC", ""),
    str(ROOT / "tests" / "data" / "spotify-web-api.openapi.yml"),
    "/work/shared/reference/spotify-web-api.openapi.yml",
)
# Where observed API behaviour is looser than the spec: on an empty recently-played page Spotify sends
# "next": null and "cursors": null (see adamint/spotify-web-api-kotlin#246), which the double mirrors.
SPEC_OVERLAY = {"CursorPagingObject": {"next": True, "cursors": True}}
# Documented optional fields the double deliberately leaves out, as "Schema.field".
OMITTED = {
    "TrackObject.restrictions",  # only present for restricted tracks
    "TrackObject.is_playable",  # only present when a market is given (track relinking)
    "AlbumBase.restrictions",
    "ExternalIdObject.ean",  # album identifiers, not track ones
    "ExternalIdObject.upc",
    "CursorPagingObject.total",  # absent from real recently-played responses
    "PlaylistTrackObject.added_at",  # new playlists have no items to carry these
    "PlaylistTrackObject.added_by",
    "PlaylistTrackObject.is_local",
    "PlaylistTrackObject.item",
}
Json = dict[str, Any]


@functools.cache
def spec() -> Json:
    """The OpenAPI document, loaded once per test session."""
    path = next((Path(p) for p in SPEC_CANDIDATES if p and Path(p).is_file()), None)
    if path is None:
        pytest.skip("Spotify OpenAPI document not found; set SPOTIFY_OPENAPI_SPEC")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        document: Json = yaml.load(handle, Loader=loader)
    for name, fields in SPEC_OVERLAY.items():
        for field in fields:
            document["components"]["schemas"][name]["properties"][field]["nullable"] = True
    return document


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12: nullable becomes a null type, refs point at the registry."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Json = {}
    for key, value in node.items():
        if key in ("nullable", "deprecated", "example", "discriminator") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key == "$ref":
            out[key] = SPEC_URI + value
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def registry() -> Registry[Any]:
    """A registry holding the spec's component schemas under SPEC_URI."""
    schemas = to_json_schema(spec()["components"]["schemas"])
    resource = Resource.from_contents({"components": {"schemas": schemas}}, default_specification=DRAFT202012)
    with_spec: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return with_spec


def deref(node: Json) -> tuple[Json, str | None]:
    """Follow ``#/...`` refs in the raw spec; returns the target and the last component name."""
    name = None
    while "$ref" in node:
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[-1]
        target: Any = spec()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node, name


def response_schema(path: str, method: str, status: str) -> Json:
    """The raw application/json schema of one documented response."""
    response, _ = deref(spec()["paths"][path][method]["responses"][status])
    schema: Json = response["content"]["application/json"]["schema"]
    return schema


def validate(payload: Any, schema: Json) -> None:
    """Fail with every JSON Schema violation in ``payload``."""
    validator = Draft202012Validator(
        to_json_schema(schema), registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(payload)
    ]
    assert not errors, "\n".join(errors[:20])


def declared(schema: Json, owner: str | None = None) -> dict[str, tuple[Json, str | None, bool, bool]]:
    """Properties declared through refs and allOf: name -> (schema, owner, deprecated, required)."""
    schema, name = deref(schema)
    owner = name or owner
    fields: dict[str, tuple[Json, str | None, bool, bool]] = {}
    for part in schema.get("allOf", []):
        fields.update(declared(part, owner))
    required = set(schema.get("required", []))
    for prop, sub in schema.get("properties", {}).items():
        fields[prop] = (sub, owner, bool(sub.get("deprecated")), prop in required)
    for prop in required & fields.keys():
        sub, where, deprecated, _ = fields[prop]
        fields[prop] = (sub, where, deprecated, True)
    return fields


def item_schema(schema: Json) -> Json | None:
    """The array item schema, looking through refs and allOf."""
    schema, _ = deref(schema)
    if "items" in schema:
        items: Json = schema["items"]
        return items
    return next((found for part in schema.get("allOf", []) if (found := item_schema(part))), None)


def drift(payload: Any, schema: Json, where: str = "$") -> list[str]:
    """Fields the spec does not declare, deprecated fields it does not require, documented fields left out."""
    resolved, _ = deref(schema)
    alternatives = resolved.get("oneOf") or resolved.get("anyOf")
    if alternatives:
        return min((drift(payload, option, where) for option in alternatives), key=len)
    problems: list[str] = []
    if isinstance(payload, dict):
        fields = declared(schema)
        for key, value in payload.items():
            if key not in fields:
                problems.append(f"undeclared {where}.{key}")
                continue
            sub, _, deprecated, required = fields[key]
            if deprecated and not required:
                problems.append(f"deprecated {where}.{key}")
            if value is not None:
                problems += drift(value, sub, f"{where}.{key}")
        for key, (_, owner, deprecated, _) in fields.items():
            # Only named component objects are checked for completeness; inline wrappers (search) are not.
            if owner and key not in payload and not deprecated and f"{owner}.{key}" not in OMITTED:
                problems.append(f"missing {where}.{key} ({owner})")
    elif isinstance(payload, list) and (items := item_schema(schema)) is not None:
        for index, value in enumerate(payload[:3]):
            problems += drift(value, items, f"{where}[{index}]")
    return problems


def check(payload: Any, path: str, method: str = "get", status: str = "200") -> None:
    """Validate ``payload`` as the documented response and check it for drift from the spec."""
    schema = response_schema(path, method, status)
    validate(payload, schema)
    problems = drift(payload, schema)
    assert not problems, "\n".join(sorted(set(problems)))


LIBRARIES = ("default", "hostile", "empty")


@pytest.fixture(scope="module", params=LIBRARIES)
def fake(request: pytest.FixtureRequest) -> Iterator[FakeSpotify]:
    """A running double per library flavour, with a token covering every scope the app may use."""
    with FakeSpotify.running(seed=7) as running:
        if request.param == "hostile":
            running.set_hostile_names()
        elif request.param == "empty":
            running.empty_library()
        running.audio_features_enabled = True
        yield running


@pytest.fixture(scope="module")
def headers(fake: FakeSpotify) -> dict[str, str]:
    """Bearer headers for a user token with every scope the double checks."""
    scope = (
        "user-read-private user-top-read user-read-recently-played user-library-read playlist-modify-public"
    )
    return {"Authorization": f"Bearer {fake.issue_token(scope)['access_token']}"}


def get(fake: FakeSpotify, path: str, headers: dict[str, str], **params: Any) -> Any:
    """GET ``{api_url}{path}`` and return the decoded JSON, asserting a 200."""
    response = requests.get(fake.api_url + path, params=params, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_current_user(fake: FakeSpotify, headers: dict[str, str]) -> None:
    check(get(fake, "me", headers), "/me")


@pytest.mark.parametrize("time_range", ["short_term", "medium_term", "long_term"])
def test_top_tracks(fake: FakeSpotify, headers: dict[str, str], time_range: str) -> None:
    check(get(fake, "me/top/tracks", headers, time_range=time_range, limit=50), "/me/top/tracks")
    check(get(fake, "me/top/tracks", headers, time_range=time_range, limit=5, offset=5), "/me/top/tracks")


def test_recently_played_pages(fake: FakeSpotify, headers: dict[str, str]) -> None:
    first = get(fake, "me/player/recently-played", headers, limit=30)
    check(first, "/me/player/recently-played")
    cursor = (first["cursors"] or {}).get("before", "0")
    check(
        get(fake, "me/player/recently-played", headers, limit=30, before=cursor), "/me/player/recently-played"
    )
    check(get(fake, "me/player/recently-played", headers, limit=5, after=0), "/me/player/recently-played")


def test_saved_tracks_pages(fake: FakeSpotify, headers: dict[str, str]) -> None:
    check(get(fake, "me/tracks", headers, limit=50), "/me/tracks")
    check(get(fake, "me/tracks", headers, limit=50, offset=50), "/me/tracks")


def test_search(fake: FakeSpotify, headers: dict[str, str]) -> None:
    name = fake.catalogue[0]["name"]
    check(get(fake, "search", headers, q=name, type="track", limit=10), "/search")
    check(get(fake, "search", headers, q="a", type="track,artist,album,playlist", limit=3), "/search")


def test_track_and_audio_features(fake: FakeSpotify, headers: dict[str, str]) -> None:
    track = fake.catalogue[3]
    check(get(fake, f"tracks/{track['id']}", headers), "/tracks/{id}")
    check(get(fake, f"audio-features/{track['id']}", headers), "/audio-features/{id}")
    ids = ",".join(t["id"] for t in fake.catalogue[:5])
    check(get(fake, "audio-features", headers, ids=ids), "/audio-features")


@pytest.mark.parametrize("route", ["me/playlists", "users/{user_id}/playlists"])
def test_create_playlist_and_add_items(fake: FakeSpotify, headers: dict[str, str], route: str) -> None:
    url = fake.api_url + route.format(user_id=fake.user["id"])
    body = {"name": "Soundtrack: <Episode 1>", "public": True, "description": "two characters + a mash-up"}
    with requests.post(url, json=body, headers=headers, timeout=5) as created:
        assert created.status_code == 201, created.text
        playlist = created.json()
    spec_path = "/me/playlists" if route.startswith("me") else "/users/{user_id}/playlists"
    check(playlist, spec_path, "post", "201")
    uris = {"uris": [t["uri"] for t in fake.catalogue[:3]]}
    for suffix in ("items", "tracks"):
        with requests.post(f"{playlist['href']}/{suffix}", json=uris, headers=headers, timeout=5) as added:
            assert added.status_code == 201, added.text
            check(added.json(), f"/playlists/{{playlist_id}}/{suffix}", "post", "201")


def test_token_response_shape(fake: FakeSpotify) -> None:
    """The accounts service is outside the Web API document, so its fields are checked by hand."""
    token = fake.issue_token("user-top-read user-read-private")
    assert set(token) == {"access_token", "token_type", "scope", "expires_in", "refresh_token"}
    assert token["token_type"] == "Bearer"
    assert isinstance(token["access_token"], str) and token["access_token"]
    assert isinstance(token["refresh_token"], str) and token["refresh_token"]
    assert token["expires_in"] == 3600
    assert set(token["scope"].split()) == {"user-top-read", "user-read-private"}

    auth = (fake.client_id, fake.client_secret)
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    with requests.post(fake.accounts_url + "api/token", data=form, auth=auth, timeout=5) as refreshed:
        assert refreshed.status_code == 200
        assert refreshed.headers["Content-Type"].startswith("application/json")
        assert set(refreshed.json()) == {"access_token", "token_type", "scope", "expires_in"}
    with requests.post(
        fake.accounts_url + "api/token", data=form | {"refresh_token": "nope"}, auth=auth, timeout=5
    ) as bad:
        assert bad.status_code == 400
        assert bad.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}


def test_error_bodies_match_error_object(fake: FakeSpotify, headers: dict[str, str]) -> None:
    api = fake.api_url
    with requests.get(api + "me", timeout=5) as unauthorised:
        assert unauthorised.status_code == 401
        check(unauthorised.json(), "/me", status="401")
    with requests.get(api + "me", headers={"Authorization": "Bearer expired-or-forged"}, timeout=5) as forged:
        assert forged.status_code == 401
        check(forged.json(), "/me", status="401")
    fake.audio_features_enabled = False
    try:
        with requests.get(api + "audio-features", params={"ids": "x"}, headers=headers, timeout=5) as gone:
            assert gone.status_code == 403
            check(gone.json(), "/audio-features", status="403")
    finally:
        fake.audio_features_enabled = True
    fake.rate_limit("/v1/me/top/tracks", times=1)
    with requests.get(api + "me/top/tracks", headers=headers, timeout=5) as limited:
        assert limited.status_code == 429
        check(limited.json(), "/me/top/tracks", status="429")
    error_object = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorObject"}},
    }
    for path, params in (
        ("tracks/0000000000000000000000", {}),
        ("me/tracks", {"limit": 51}),
        ("nowhere", {}),
    ):
        with requests.get(api + path, params=params, headers=headers, timeout=5) as failed:
            assert failed.status_code in (400, 404)
            validate(failed.json(), error_object)
            assert failed.json()["error"]["status"] == failed.status_code
