"""Page weight of the landing and share pages in Chromium on loopback: bytes, requests, LCP.

Prints one line per page and viewport, e.g.
`page_weight page=share viewport=phone bytes=110537 requests=7 lcp_ms=212 own_html_css_js=45463 …`
(bytes as sent over the wire, uncompressed since the app itself does not compress; LCP is the median of
several cold loads, from the browser's Performance API). Needs Chromium and `npm ci` (see the Makefile).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import harness

LOADS = 5


def main() -> None:
    """Serve the app on a fresh database, publish a demo episode, and measure both pages."""
    from tests.conftest import publish_demo

    reason = harness.chromium_missing_reason()
    if reason:
        print(f"page_weight skipped=1 reason={reason!r}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = harness.serve_app(harness.migrated_database(Path(tmp)))
        try:
            slug = publish_demo(server.app.test_client())  # type: ignore[union-attr]
            pages = {"landing": server.url + "/", "share": f"{server.url}/s/{slug}"}
            with sync_playwright() as driver:
                browser = harness.launch(driver)
                for viewport in ("phone", "desktop"):
                    for name, url in pages.items():
                        context = harness.new_context(browser, harness.VIEWPORTS[viewport])
                        harness.Guard().attach(context)
                        loads = [harness.measure(context, url, own_origin=server.url) for _ in range(LOADS)]
                        context.close()
                        weight = loads[-1]
                        lcps = [w.lcp_ms for w in loads if w.lcp_ms is not None]
                        weight.lcp_ms = statistics.median(lcps) if lcps else None
                        print(weight.line(name).replace(f"page={name}", f"page={name} viewport={viewport}"))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
