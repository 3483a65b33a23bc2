"""The content pack: the campaign's copy, archetype names, blocked words and theme colours, from TOML.

`CONTENT_PACK` names the file (unset: `pack.toml` beside this module, today's text). It is read and
checked once at start-up: a missing key, a wrong type, an archetype id the engine does not know or a
colour that fails WCAG AA contrast stops the app with a `ContentPackError` naming the file, the key and
what to change. The blocked words are matched after Unicode normalisation and look-alike folding
(`fanapp.content.words`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fanapp.config import ConfigError
from fanapp.content.words import BlockList
from fanapp.engine.archetypes import by_id

BUNDLED = Path(__file__).with_name("pack.toml")
COPY_KEYS = ("tagline", "lede", "share_invite", "embed_cta")
THEME_KEYS = ("stage", "card", "ink", "a", "b", "gold")
# Text colours and the surfaces they sit on: WCAG 2 AA for normal text is 4.5:1.
# (The stage colour is also the text on the side-coloured buttons and labels.)
TEXT_ON_SURFACE = (
    ("ink", "stage"),
    ("ink", "card"),
    ("a", "card"),
    ("b", "card"),
    ("gold", "card"),
    ("stage", "a"),
    ("stage", "b"),
)
AA = 4.5
SOFT_INKS = {"ink-soft": "#d6cdee", "muted": "#b3a8d1"}  # app.css's, not the pack's
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
COPY_LIMIT = 400


def _mix(var: str, percent: int) -> str:
    return f"color-mix(in srgb, var({var}) {percent}%, transparent)"


# app.css's glows, written there in the bundled colours as rgba(): the same rules in the pack's colours.
GLOWS = f"""body::before {{ background: conic-gradient(from 166deg at 50% 0, transparent 0deg,
  {_mix("--a", 30)} 10deg, {_mix("--a", 5)} 24deg, transparent 30deg); }}
body::after {{ background: conic-gradient(from 166deg at 50% 0, transparent 0deg,
  {_mix("--b", 5)} 6deg, {_mix("--b", 26)} 20deg, transparent 30deg); }}
.accent {{ text-shadow: 0 0 28px {_mix("--a", 55)}; }}
.accent-b {{ text-shadow: 0 0 28px {_mix("--b", 50)}; }}
.button-primary {{ box-shadow: 0 0 30px -6px {_mix("--a", 70)}; }}
.button-b {{ box-shadow: 0 0 30px -6px {_mix("--b", 60)}; }}
.side {{ --side-glow: {_mix("--a", 22)}; }}
.side-b {{ --side-glow: {_mix("--b", 18)}; }}
.hero::after {{ filter: drop-shadow(0 0 24px {_mix("--a", 40)}) drop-shadow(0 0 24px {_mix("--b", 30)}); }}
.mashup {{ box-shadow: 0 30px 60px -30px {_mix("--a", 45)};
  background: radial-gradient(120% 90% at 0% 0%, {_mix("--a", 42)}, transparent 60%),
    radial-gradient(120% 90% at 100% 100%, {_mix("--b", 34)}, transparent 60%),
    linear-gradient(var(--card-2), var(--card-2)) padding-box,
    linear-gradient(120deg, var(--a), var(--gold), var(--b)) border-box; }}
body.embed {{ background: radial-gradient(60rem 20rem at 0% 0%, {_mix("--a", 22)}, transparent 60%),
  var(--stage); }}
"""


class ContentPackError(ConfigError):
    """The content pack cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class ArchetypeCopy:
    """A pack's own name and description for one of the engine's archetypes."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class ContentPack:
    """Everything a campaign may change without a deploy of code."""

    copy: dict[str, str]
    theme: dict[str, str]
    blocked: BlockList
    archetypes: dict[str, ArchetypeCopy] = field(default_factory=dict)
    source: str = "bundled"

    def digest(self) -> str:
        """A short digest of everything the pack puts on a page or an image (stored renders key on it)."""
        archetypes = sorted((k, a.name, a.description) for k, a in self.archetypes.items())
        parts = (sorted(self.copy.items()), sorted(self.theme.items()), archetypes)
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]

    @property
    def is_bundled(self) -> bool:
        """True for the pack shipped with the app (today's text and colours)."""
        return self.source == "bundled"

    def theme_css(self) -> str:
        """The theme colours as CSS custom properties, and the stage lights and glows that app.css
        draws in the bundled pink and cyan redrawn in the pack's (served as /theme.css after app.css)."""
        names = {
            "stage": "--stage",
            "card": "--card",
            "ink": "--ink",
            "a": "--a",
            "b": "--b",
            "gold": "--gold",
        }
        body = "".join(f"  {names[k]}: {self.theme[k]};\n" for k in THEME_KEYS)
        stage = self.theme["stage"]
        inks = (
            f"  --a-ink: {stage};\n  --b-ink: {stage};\n  --gold-ink: {stage};\n"
            # The second surfaces and the lines, a touch of the ink on the pack's own surfaces.
            "  --stage-2: color-mix(in srgb, var(--stage) 94%, var(--ink));\n"
            "  --card-2: color-mix(in srgb, var(--card) 94%, var(--ink));\n"
            "  --line: color-mix(in srgb, var(--card) 72%, var(--ink));\n"
        )
        return f":root {{\n{body}{inks}  --focus: {self.theme['gold']};\n}}\n" + GLOWS

    def rgb(self, key: str) -> tuple[int, int, int]:
        """A theme colour as an (r, g, b) tuple (share images)."""
        return _rgb(self.theme[key])


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    hi, lo = sorted((_luminance(_rgb(first)), _luminance(_rgb(second))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ContentPackError(f"{where}: the [{key}] table is missing; add it (see the bundled pack.toml).")
    return value


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContentPackError(f"{where}: {key} is missing or empty; give it a line of text.")
    if len(value) > COPY_LIMIT:
        raise ContentPackError(f"{where}: {key} is longer than {COPY_LIMIT} characters; shorten it.")
    return value.strip()


def parse(data: dict[str, Any], *, source: str) -> ContentPack:
    """A checked pack from parsed TOML; `source` names the file in every error."""
    copy_table = _table(data, "copy", source)
    copy = {k: _text(copy_table, k, f"{source} [copy]") for k in COPY_KEYS}

    moderation = _table(data, "moderation", source)
    words = moderation.get("blocked_words")
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise ContentPackError(
            f'{source} [moderation]: blocked_words must be a list of words, e.g. blocked_words = ["word"].'
        )

    theme_table = _table(data, "theme", source)
    theme = {}
    for key in THEME_KEYS:
        value = theme_table.get(key)
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise ContentPackError(f'{source} [theme]: {key} must be a colour like "#ff4fa3".')
        theme[key] = value.lower()
    for name, fixed in SOFT_INKS.items():  # app.css's quieter text colours stay: on the pack's card too
        ratio = contrast(fixed, theme["card"])
        if ratio < AA:
            raise ContentPackError(
                f"{source} [theme]: the site's {name} text ({fixed}) on card ({theme['card']}) has a "
                f"contrast "
                f"of {ratio:.2f}:1, below {AA}:1; choose a darker card."
            )
    for text, surface in TEXT_ON_SURFACE:
        ratio = contrast(theme[text], theme[surface])
        if ratio < AA:
            raise ContentPackError(
                f"{source} [theme]: {text} ({theme[text]}) on {surface} ({theme[surface]}) has a contrast of "
                f"{ratio:.2f}:1, below the {AA}:1 that WCAG AA asks for text; choose a "
                f"{'lighter' if _luminance(_rgb(theme[surface])) < 0.2 else 'darker'} {text}."
            )

    archetypes = {}
    for ident, entry in (data.get("archetypes") or {}).items():
        where = f"{source} [archetypes.{ident}]"
        if by_id(ident) is None:
            raise ContentPackError(
                f"{where}: the engine has no archetype {ident!r}; use one of archetypes.json's ids."
            )
        if not isinstance(entry, dict):
            raise ContentPackError(f"{where}: give it a name (and optionally a description).")
        name = _text(entry, "name", where)
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise ContentPackError(f"{where}: description must be text.")
        archetypes[ident] = ArchetypeCopy(name=name[:40], description=description.strip()[:300])
    return ContentPack(
        copy=copy,
        theme=theme,
        blocked=BlockList.of(words),
        archetypes=archetypes,
        source=source,
    )


@cache
def load(path: str = "") -> ContentPack:
    """The pack at `path` (empty: the bundled one), read and checked once per process."""
    file = Path(path) if path else BUNDLED
    source = str(file) if path else "bundled"
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ContentPackError(
            f"CONTENT_PACK: there is no file at {file}; fix the path or unset it."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentPackError(f"CONTENT_PACK: {file} cannot be read ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ContentPackError(f"CONTENT_PACK: {file} is not valid TOML ({exc}).") from None
    return parse(data, source=source)


def current() -> ContentPack:
    """The running app's pack (checked at start-up), or the bundled one outside an app."""
    from flask import current_app, has_app_context

    if has_app_context():
        pack = current_app.extensions.get("fanapp.content")
        if isinstance(pack, ContentPack):
            return pack
    return load("")


class BlockedWord(ValueError):
    """A name or title holds a word the campaign does not publish; the message is for the visitor."""


def check_public_text(text: str, *, what: str = "name") -> None:
    """Refuse `text` (before it is stored) when it holds one of the pack's blocked words."""
    if current().blocked.found_in(text):
        raise BlockedWord(
            f"That {what} has a word we cannot publish under the show's name. Please choose another {what}."
        )
