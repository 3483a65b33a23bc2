"""The README's screenshots: landing, builder and share page, on a phone (375x812) and a desktop (1280x800).

Made with the browser tests' own tooling (tests/browser/harness.py): the real app on a fresh database,
the demo journey clicked through in Debian's Chromium, htmx served from the pinned npm file. Each image
is the visible viewport (not the whole page), with motion reduced so the stage lights stand still, and
is quantised with Pillow to stay small. Fails if the browser saw any console error or failed request.

    .venv/bin/python scripts/screenshots.py      # writes docs/screenshots/{page}-{viewport}.png
    .venv/bin/python scripts/screenshots.py --pack docs/example-pack.toml
                                                 # a campaign's content pack: pack-{page}-desktop.png
                                                 # and its share image, pack-card.png
"""

from __future__ import annotations

import sys
import tempfile
from io import BytesIO
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import harness  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MAX_BYTES = 300_000


def save(page: Page, name: str) -> Path:
    """A viewport screenshot, quantised to a palette PNG."""
    page.evaluate("() => document.fonts.ready")
    page.evaluate("() => window.scrollTo(0, 0)")
    png = page.screenshot(animations="disabled", caret="hide")
    image = Image.open(BytesIO(png)).convert("RGB")
    path = OUT / f"{name}.png"
    image.quantize(colors=192, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, optimize=True
    )
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT)} {image.width}x{image.height} {size // 1024} KB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes, over {MAX_BYTES}")
    return path


def with_pack(pack: str) -> None:
    """The landing and share pages (desktop) and the share image under a campaign's content pack."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(pack).resolve())
        server = harness.serve_app(harness.migrated_database(Path(tmp)), lambda _s: {"content_pack": path})
        try:
            with sync_playwright() as driver:
                browser = harness.launch(driver)
                context = harness.new_context(browser, harness.VIEWPORTS["desktop"], reduced_motion="reduce")
                guard = harness.Guard().attach(context)
                page = context.new_page()
                page.goto(server.url + "/")
                save(page, "pack-landing-desktop")
                harness.start_demo(page, server.url)
                harness.publish(page)
                save(page, "pack-share-desktop")
                card = page.request.get(page.url + ".png")
                image = Image.open(BytesIO(card.body())).convert("RGB")
                image.thumbnail((600, 315))
                image.save(OUT / "pack-card.png", optimize=True)
                print(f"docs/screenshots/pack-card.png {image.width}x{image.height}")
                context.close()
                if guard.problems():
                    raise SystemExit("the browser saw problems:\n" + "\n".join(guard.problems()))
                browser.close()
        finally:
            server.stop()


def main() -> None:
    """Click through the demo on both viewports and save the three pages (or, with --pack FILE, the
    pages and image of that content pack)."""
    reason = harness.chromium_missing_reason()
    if reason:
        raise SystemExit(reason)
    OUT.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--pack":
        with_pack(sys.argv[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = harness.serve_app(harness.migrated_database(Path(tmp)))
        try:
            with sync_playwright() as driver:
                browser = harness.launch(driver)
                for viewport in ("phone", "desktop"):
                    context = harness.new_context(
                        browser, harness.VIEWPORTS[viewport], reduced_motion="reduce"
                    )
                    guard = harness.Guard().attach(context)
                    page = context.new_page()
                    page.goto(server.url + "/")
                    save(page, f"landing-{viewport}")
                    harness.start_demo(page, server.url)
                    save(page, f"builder-{viewport}")
                    harness.publish(page)
                    save(page, f"share-{viewport}")
                    context.close()
                    if guard.problems():
                        raise SystemExit("the browser saw problems:\n" + "\n".join(guard.problems()))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
