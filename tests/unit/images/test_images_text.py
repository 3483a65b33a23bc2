"""Text for the share images: font fallback without tofu, bidi order, clusters, fitting and ellipsis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageFont

from fanapp.sharing.cards import text

# Each string and the font files that must be installed for it to be fully covered.
COVERED = [
    ("Café Déjà Vu — Beyoncé, Ñandú, Øresund, Łódź", ()),
    ("<script>alert(1)</script> & \"quotes\" 'n' {braces}", ()),
    ("Ελληνικά, Кириллица", ()),
    ("日本語の歌", ("NotoSansCJK-Regular.ttc",)),
    ("강남스타일 中文歌曲", ("NotoSansCJK-Regular.ttc",)),
    ("שלום עולם", ("NotoSansHebrew-Regular.ttf",)),
    ("مرحبا بالعالم", ("NotoSansArabic-Regular.ttf",)),
    ("🎤🔥 👩‍🎤 🇯🇵 1️⃣ ❤️", ("NotoColorEmoji.ttf",)),
    ("♪ ♫ ★ ✓", ("DejaVuSans.ttf",)),
]


@pytest.mark.parametrize(("sample", "needs"), COVERED)
@pytest.mark.parametrize("style", text.STYLES)
def test_no_tofu_for_scripts_the_installed_fonts_cover(
    sample: str, needs: tuple[str, ...], style: str
) -> None:
    missing_fonts = [name for name in needs if text.find_font(name) is None]
    if missing_fonts:
        pytest.skip(f"font package not installed: {missing_fonts}")
    assert text.missing_glyphs(sample, style) == set()  # type: ignore[arg-type]


def test_latin_needs_only_the_shipped_fonts() -> None:
    for name in ("BebasNeue-Bold.otf", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"):
        path = text.find_font(name)
        assert path is not None and path.parent == text.SHIPPED_DIR
    assert (text.SHIPPED_DIR / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE Version 1.1") == 1


def test_characters_no_font_has_are_reported_and_never_drawn() -> None:
    nobody = "\U0010fffd"  # private use: in no font
    assert text.missing_glyphs(f"a{nobody}b") == {nobody}
    assert "".join(r.text for r in text.runs(f"a{nobody}b", "regular")) == "ab"


def test_clean_removes_controls_and_bidi_overrides_and_collapses_whitespace() -> None:
    assert text.clean("a\u202eb\x00c\n\td\u200be   f") == "ab c de f"
    assert text.clean(None) == ""
    assert text.clean(42) == "42"
    assert text.clean("  <b>bold</b>  ") == "<b>bold</b>"
    assert text.clean("e\u0301") == "é"  # NFC


def test_clusters_keep_accents_emoji_sequences_and_flags_whole() -> None:
    assert text.clusters("e\u0301👩‍🎤🇯🇵1️⃣👍🏽") == ["e\u0301", "👩‍🎤", "🇯🇵", "1️⃣", "👍🏽"]


def test_clusters_follow_unicode_for_syllables_and_conjuncts() -> None:
    assert text.clusters("नमस्ते") == ["न", "म", "स्ते"]  # a Devanagari conjunct is one piece
    assert text.clusters("ก้ำ") == ["ก้ำ"]  # a Thai consonant with its tone mark and vowel
    assert text.clusters("\u1100\u1161\u11a8a") == ["\u1100\u1161\u11a8", "a"]  # Hangul jamo: one syllable
    assert text.clusters("🇯🇵🇫🇷🇩") == ["🇯🇵", "🇫🇷", "🇩"]  # flags pair up, a lone indicator stays alone
    assert text.clusters("") == []


def test_ellipsize_never_cuts_a_conjunct() -> None:
    sample = "नमस्ते " * 30
    for max_width in range(30, 300, 11):
        cut = text.ellipsize(sample, "regular", 30, max_width)[:-1]
        assert not cut.endswith("्")  # a virama waits for the consonant it joins


def test_coverage_is_the_fonts_own_cmap() -> None:
    path = text.SHIPPED_DIR / "NotoSans-Regular.ttf"
    with TTFont(path) as font:
        cmap = font.getBestCmap()
    face = text.Face(path)
    for cp in range(0x20, 0x3000):
        assert face.covers(chr(cp)) == (cp in cmap), hex(cp)


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .ttc of the shipped Noto Sans (face 0, has Greek) and Bebas Neue (face 1, has no Greek)."""
    path = tmp_path_factory.mktemp("ttc") / "Pair.ttc"
    ttc = TTCollection()
    ttc.fonts = [
        TTFont(text.SHIPPED_DIR / "NotoSans-Regular.ttf", lazy=True),
        TTFont(text.SHIPPED_DIR / "BebasNeue-Bold.otf", lazy=True),
    ]
    ttc.save(path)
    ttc.close()
    return path


def test_each_face_of_a_collection_has_its_own_coverage(collection: Path) -> None:
    noto, bebas, beyond = (text.Face(collection, i) for i in range(3))
    assert noto.covers("A") and bebas.covers("A")
    assert noto.covers("α") and not bebas.covers("α")
    assert not beyond.covers("A")  # no third face: covers nothing, raises nothing


@pytest.mark.skipif(text.find_font("NotoSansCJK-Regular.ttc") is None, reason="Noto CJK not installed")
def test_every_face_of_debians_cjk_collection_covers_kana_han_and_hangul() -> None:
    path = text.find_font("NotoSansCJK-Regular.ttc")
    assert path is not None
    with TTCollection(path, lazy=True) as ttc:
        count = len(ttc.fonts)
    assert count > 1
    for index in range(count):
        face = text.Face(path, index)
        assert all(face.covers(ch) for ch in "かカ日語한"), index


def test_a_damaged_cmap_covers_nothing(tmp_path: Path) -> None:
    data = bytearray((text.SHIPPED_DIR / "NotoSans-Regular.ttf").read_bytes())
    with TTFont(text.SHIPPED_DIR / "NotoSans-Regular.ttf", lazy=True) as font:
        entry = font.reader.tables["cmap"]
    data[entry.offset : entry.offset + entry.length] = b"\xff" * entry.length
    path = tmp_path / "Damaged.ttf"
    path.write_bytes(bytes(data))
    assert not text.Face(path).covers("A")


def test_fallback_picks_the_font_that_has_the_glyph() -> None:
    def face_of(sample: str) -> str:
        (run,) = text.runs(sample, "display")
        assert run.face.path is not None
        return run.face.path.name

    assert face_of("MAYA") == "BebasNeue-Bold.otf"
    if text.find_font("NotoSansCJK-Bold.ttc"):
        assert face_of("日本語") == "NotoSansCJK-Bold.ttc"
    if text.find_font("NotoColorEmoji.ttf"):
        assert face_of("🔥") == "NotoColorEmoji.ttf"


@pytest.mark.skipif(text.find_font("NotoSansHebrew-Bold.ttf") is None, reason="Hebrew font not installed")
def test_right_to_left_runs_come_in_visual_order() -> None:
    runs = text.runs("שלום עולם 2024", "bold")
    assert [(r.text, r.rtl) for r in runs] == [("2024", False), ("שלום עולם ", True)]
    runs = text.runs("Hi שלום there", "bold")
    assert [r.rtl for r in runs] == [False, True, False, False]
    assert runs[1].text == "שלום"


@pytest.mark.skipif(text.find_font("NotoSansHebrew-Bold.ttf") is None, reason="Hebrew font not installed")
def test_without_any_bidi_library_right_to_left_runs_are_reversed_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text, "manual_reversal", lambda engine: True)
    text.runs.cache_clear()
    try:
        runs = text.runs("Hi שלום", "bold", ImageFont.Layout.BASIC)
        assert [(r.text, r.rtl) for r in runs] == [("Hi ", False), ("םולש", True)]
    finally:
        text.runs.cache_clear()


@pytest.mark.parametrize("engine", [ImageFont.Layout.BASIC, text.layout_engine()])
def test_drawing_every_sample_never_fails(engine: ImageFont.Layout) -> None:
    image = Image.new("RGB", (800, 80))
    for sample, _ in COVERED:
        for style in text.STYLES:
            width = text.draw(image, (10, 60), sample, style, 40, (255, 255, 255), engine=engine)
            assert width > 0
    assert image.getbbox() is not None


def test_emoji_are_drawn_in_colour() -> None:
    if text.find_font("NotoColorEmoji.ttf") is None:
        pytest.skip("emoji font not installed")
    image = Image.new("RGB", (120, 80))
    text.draw(image, (10, 60), "🔥", "regular", 48, (255, 255, 255))
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    assert ((pixels[:, 0] - pixels[:, 1]) > 60).any()  # an orange-red flame, not a white outline


def test_ellipsize_shortens_to_the_width_with_an_ellipsis() -> None:
    long = "A very long song title that never ends " * 15
    short = text.ellipsize(long, "bold", 30, 400)
    assert short.endswith("…")
    assert text.width(short, "bold", 30) <= 400
    assert long.startswith(short[:-1])
    assert text.ellipsize("Short", "bold", 30, 400) == "Short"


def test_ellipsize_never_cuts_inside_a_cluster() -> None:
    sample = "é" * 3 + "👩‍🎤" * 30
    for max_width in range(20, 400, 7):
        cut = text.ellipsize(sample, "regular", 30, max_width)[:-1]
        assert "".join(text.clusters(cut)) == cut
        assert not cut.endswith("\u200d") and "\u200d🎤" not in cut.replace("👩‍🎤", "")


def test_ellipsize_handles_a_500_character_title_quickly() -> None:
    title = ("Ünïcödé 日本語 🎤 " * 40)[:500]
    assert len(title) == 500
    short = text.ellipsize(title, "display", 90, 900)
    assert short.endswith("…") and len(short) < 100


def test_fit_shrinks_before_it_cuts() -> None:
    sample = "Motion Sickness (Live)"
    full = text.width(sample, "bold", 40)
    fitted, size = text.fit(sample, "bold", 40, full * 0.9, min_size=30)
    assert fitted == sample and size < 40
    fitted, size = text.fit(sample * 5, "bold", 40, full, min_size=30)
    assert fitted.endswith("…") and size == 30


def test_wrap_keeps_to_the_line_count_and_ellipsizes_the_last_line() -> None:
    lines = text.wrap("The Night We Swapped Soundtracks " * 6, "display", 90, 760, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(text.width(line, "display", 90) <= 760 for line in lines)
    cjk = text.wrap("夜に駆ける" * 20, "bold", 40, 300, 2)
    assert len(cjk) == 2 and cjk[-1].endswith("…")


def test_fit_block_shrinks_a_title_until_it_fits() -> None:
    lines, size = text.fit_block("The Night We Swapped Soundtracks", "display", 92, 760, 3, 54)
    assert size == 92 and " ".join(lines) == "The Night We Swapped Soundtracks"


@pytest.fixture
def no_font_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(text, "SHIPPED_DIR", text.SHIPPED_DIR / "nowhere")
    monkeypatch.setattr(text, "SYSTEM_DIRS", ())
    text.reset_caches()
    yield
    monkeypatch.undo()
    text.reset_caches()


@pytest.mark.usefixtures("no_font_files")
def test_without_any_font_file_pillows_builtin_font_still_draws() -> None:
    assert [f.path for f in text.chain("display")] == [None]
    image = Image.new("RGB", (600, 60))
    assert text.draw(image, (5, 40), "Maya & Théo", "display", 30, (255, 255, 255)) > 0
    assert image.getbbox() is not None
    assert text.missing_glyphs("Maya") == set()
    assert "日" in text.missing_glyphs("日本")
    assert text.ellipsize("Maya " * 50, "bold", 20, 200).endswith("…")


def test_a_damaged_font_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "fonts"
    bad.mkdir()
    (bad / "BebasNeue-Bold.otf").write_bytes(b"not a font at all")
    monkeypatch.setattr(text, "SHIPPED_DIR", bad)
    text.reset_caches()
    try:
        faces = text.chain("display")
        assert all(f.path is None or f.path.parent != bad for f in faces)
        assert text.missing_glyphs("MAYA", "display") == set()
    finally:
        monkeypatch.undo()
        text.reset_caches()


def test_fit_block_does_not_leave_a_short_word_at_a_line_end() -> None:
    lines, _ = text.fit_block("The Dancer & The Heartbreaker", "display", 92, 760, 3, 54)
    assert len(lines) == 2
    assert all(len(line.split(" ")[-1]) > 3 for line in lines[:-1])
    assert " ".join(lines) == "The Dancer & The Heartbreaker"
