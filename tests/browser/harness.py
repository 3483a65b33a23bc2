"""Browser-test tooling shared by tests/browser, scripts/screenshots.py and bench/page_weight.py.

- Debian's Chromium (Playwright's own browser download cannot work without internet), launched with
  the flags that keep it off Google's hosts.
- The real app served from a background thread on 127.0.0.1, its port known before the app is built
  (the Spotify redirect URI must name it).
- A network guard per browser context: htmx's CDN URL is answered with the pinned npm file (which also
  proves the page's SRI hash), every other request that is not loopback fails the test, and console
  errors, page errors and failed requests are collected so a test can assert there were none.
- axe-core from npm, and the page-weight measure (bytes, requests, LCP).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request, Route

from fanapp.site.security import HTMX_URL
from tests.fakes.http import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("FANAPP_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones Google (updates, safe browsing, sync) from a machine with no internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
HTMX_FILE = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
AXE_FILE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Spotify's embedded player (share page) and cover art CDN: third-party content the app links on purpose.
# Tests have no internet, so the player frame gets a small stand-in page and cover art is refused quietly
# (the demo has no covers and the Spotify double serves its covers from loopback, so none is expected).
SPOTIFY_PLAYER_HOST = "open.spotify.com"
QUIET_HOSTS = re.compile(r"(^|\.)(scdn\.co|spotifycdn\.com)$")
PLAYER_STAND_IN = (
    b"<!doctype html><html lang='en'><title>Spotify player</title>"
    b"<body style='margin:0;font:14px sans-serif;background:#121212;color:#fff'>"
    b"<p style='margin:0;padding:28px 16px'>Spotify player (offline in tests)</p></body></html>"
)


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and the npm assets are present."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}: `make install` (scripts/system-packages.sh) installs it"
    for path in (HTMX_FILE, AXE_FILE):
        if not path.exists():
            return f"{path.relative_to(ROOT)} is missing: `make install` runs `npm ci`"
    return None


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)


def is_loopback(url: str) -> bool:
    """True for http(s) URLs on this machine (and for data:/blob:/about: URLs, which never leave it)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parsed.hostname in LOOPBACK_HOSTS


class LiveServer:
    """A threaded werkzeug server on 127.0.0.1 whose WSGI app is plugged in after the port is known."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        """Bind a free port now; :meth:`mount` the app when its settings (which name the port) exist."""
        self.app: Flask | Callable[..., Any] | None = None
        # (method, path regex) -> seconds: requests held back so a test can see the page while it waits.
        self.delays: dict[tuple[str, re.Pattern[str]], float] = {}
        self._server = BackgroundServer(self._dispatch, host=host).start()

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app mounted yet"]
        for (method, path), seconds in list(self.delays.items()):
            if environ["REQUEST_METHOD"] == method and path.search(environ.get("PATH_INFO", "")):
                time.sleep(seconds)
        return self.app(environ, start_response)

    def delay(self, method: str, path: str, seconds: float) -> None:
        """Hold every `method` request whose path matches the regex `path` for `seconds`."""
        self.delays[(method, re.compile(path))] = seconds

    @property
    def port(self) -> int:
        """The bound port."""
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self._server.base_url

    def mount(self, app: Flask | Callable[..., Any]) -> LiveServer:
        """Serve `app` from now on."""
        self.app = app
        return self

    def stop(self) -> None:
        """Stop serving and dispose of the app's database engine."""
        self._server.stop()
        if isinstance(self.app, Flask) and "fanapp.engine" in self.app.extensions:
            self.app.extensions["fanapp.engine"].dispose()


@dataclass
class Guard:
    """What a browser context saw that a user would call broken; `problems()` lists it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    htmx_served: int = 0
    # Regexes of console errors / failed URLs a test provokes on purpose (e.g. a refused frame).
    expected: list[re.Pattern[str]] = field(default_factory=list)
    quiet_urls: set[str] = field(default_factory=set)

    def expect(self, pattern: str) -> None:
        """Tolerate console errors and failures matching `pattern` (a regex) in this test."""
        self.expected.append(re.compile(pattern))

    def _is_expected(self, text: str) -> bool:
        return any(p.search(text) for p in self.expected)

    def problems(self) -> list[str]:
        """Everything that went wrong, one line each (empty when the page behaved)."""
        lines = [f"console error: {t}" for t in self.console_errors]
        lines += [f"page error: {t}" for t in self.page_errors]
        lines += [f"request failed: {t}" for t in self.failed_requests]
        lines += [f"error response: {t}" for t in self.error_responses]
        lines += [f"request left the machine: {t}" for t in self.outside_requests]
        return [line for line in lines if not self._is_expected(line)]

    # -- wiring ---------------------------------------------------------------------------------------

    def attach(self, context: BrowserContext, *, htmx_body: bytes | None = None) -> Guard:
        """Route htmx's CDN URL to the npm file, refuse the rest of the internet, watch every page."""
        body = HTMX_FILE.read_bytes() if htmx_body is None else htmx_body

        def serve_htmx(route: Route) -> None:
            self.htmx_served += 1
            route.fulfill(
                status=200,
                body=body,
                headers={
                    "Content-Type": "application/javascript; charset=utf-8",
                    # The page loads it with crossorigin="anonymous" (SRI needs a CORS response).
                    "Access-Control-Allow-Origin": "*",
                    "Cache-Control": "public, max-age=31536000, immutable",
                },
            )

        def outside(route: Route) -> None:
            url = route.request.url
            host = urlparse(url).hostname or ""
            if host == SPOTIFY_PLAYER_HOST and urlparse(url).path.startswith("/embed/"):
                route.fulfill(status=200, body=PLAYER_STAND_IN, headers={"Content-Type": "text/html"})
                return
            if QUIET_HOSTS.search(host):
                self.quiet_urls.add(url)
                route.abort("blockedbyclient")
                return
            self.outside_requests.append(url)
            route.abort("internetdisconnected")

        context.route(HTMX_URL, serve_htmx)
        context.route(lambda url: url != HTMX_URL and not is_loopback(url), outside)
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)
        return self

    def watch(self, page: Page) -> None:
        """Collect one page's console errors, uncaught exceptions and failed requests."""

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type != "error":
                return
            where = msg.location.get("url", "") if msg.location else ""
            if where in self.quiet_urls:
                return
            self.console_errors.append(f"{msg.text} ({where})" if where else msg.text)

        def on_failed(request: Request) -> None:
            if request.url in self.quiet_urls or request.url in self.outside_requests:
                return
            # ERR_ABORTED is the browser cancelling a request itself (a navigation away while images
            # were still loading), not a request that failed.
            if request.failure == "net::ERR_ABORTED":
                return
            self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

        def on_response(response: Any) -> None:
            if response.status >= 400:
                self.error_responses.append(f"{response.status} {response.request.method} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", on_failed)
        page.on("response", on_response)


def serve_app(
    database_url: str, settings_for: Callable[[LiveServer], dict[str, Any]] | None = None
) -> LiveServer:
    """The real app on a fresh port; `settings_for(server)` gives setting overrides that need its URL."""
    from fanapp import create_app
    from tests.conftest import make_settings

    server = LiveServer()
    overrides = settings_for(server) if settings_for else {}
    return server.mount(create_app(make_settings(database_url, **overrides)))


def migrated_database(directory: Path) -> str:
    """A SQLite file migrated to head in `directory` (for scripts; tests use the conftest fixtures)."""
    from fanapp.data import migrate

    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / 'fanapp.sqlite3'}"
    migrate.upgrade(url)
    return url


# -- journeys -------------------------------------------------------------------------------------------


def start_demo(page: Page, base_url: str) -> str:
    """Landing -> Try the demo -> the builder; returns the builder's URL."""
    page.goto(base_url + "/")
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(re.compile(r"/build/\d+"))
    page.get_by_test_id("publish").wait_for()
    return page.url


def publish(page: Page) -> str:
    """Builder -> Publish -> the share page; returns the share URL."""
    page.get_by_test_id("publish").click()
    page.wait_for_url(re.compile(r"/s/[A-Za-z0-9_-]{22}$"))
    page.get_by_test_id("share-link").wait_for()
    return page.url


def new_context(browser: Browser, viewport: dict[str, int] | None = None, **kwargs: Any) -> BrowserContext:
    """A fresh context (cookies, cache) at `viewport` (desktop by default)."""
    options: dict[str, Any] = {"viewport": viewport or DESKTOP, "locale": "en-GB"}
    if viewport == PHONE:
        options.update(device_scale_factor=2, is_mobile=True, has_touch=True)
    options.update(kwargs)
    return browser.new_context(**options)


# -- page checks ----------------------------------------------------------------------------------------


def htmx_version(page: Page) -> str | None:
    """The version of the htmx that really runs on the page (None when the script did not load)."""
    result: str | None = page.evaluate("() => window.htmx ? window.htmx.version : null")
    return result


def settled(page: Page) -> None:
    """Wait until no htmx request is in flight (htmx drops `htmx-request` once the swap is done)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def horizontal_overflow(page: Page) -> list[str]:
    """Elements wider than the viewport (empty when the page does not scroll sideways)."""
    result: list[str] = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            return [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > width + 0.5)
              .slice(0, 10)
              .map(el => el.tagName.toLowerCase()
                         + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '')
                         + ' right=' + Math.round(el.getBoundingClientRect().right));
        }"""
    )
    return result


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under test-artifacts/screenshots/ (kept by CI as an artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


# -- axe-core -------------------------------------------------------------------------------------------

SERIOUS = ("serious", "critical")


def run_axe(page: Page, *, frames: bool = True) -> list[dict[str, Any]]:
    """axe-core's violations on the page (default rules, WCAG 2.x A/AA and best practices).

    The pages forbid inline script by CSP, so `add_script_tag` (which inlines the file) is refused;
    `page.evaluate` runs in the page's world without going through CSP, so axe is evaluated there.
    """
    source = AXE_FILE.read_text(encoding="utf-8")
    targets = [page.main_frame]
    if frames:
        targets += [f for f in page.frames if f is not page.main_frame and is_loopback(f.url)]
    for frame in targets:
        frame.evaluate(source + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'], iframes: true})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def serious(violations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations with impact serious or critical."""
    return [v for v in violations if v.get("impact") in SERIOUS]


def describe_violations(violations: Iterable[dict[str, Any]]) -> str:
    """A readable list for an assertion message."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


# -- page weight ----------------------------------------------------------------------------------------

LCP_JS = """() => new Promise(resolve => {
  let last = null;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) last = entry;
  }).observe({type: 'largest-contentful-paint', buffered: true});
  // LCP is final once the page is idle; two frames after load is enough on loopback.
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve(last && {
    ms: last.startTime, element: last.element ? last.element.tagName.toLowerCase() +
      (last.element.className ? '.' + String(last.element.className).split(' ')[0] : '') : null
  }), 50)));
})"""

RENDER_BLOCKING_JS = """() => performance.getEntriesByType('resource')
  .filter(e => e.renderBlockingStatus === 'blocking' && e.initiatorType === 'script').map(e => e.name)"""


@dataclass
class Weight:
    """What one page load cost over the wire, by whose bytes they are."""

    url: str
    requests: int = 0
    bytes_total: int = 0
    own_code: int = 0  # the app's own HTML, CSS and JS (the 100 KB budget)
    own_assets: int = 0  # the app's own font, icon and pictures
    htmx: int = 0
    excluded: int = 0  # cover art and Spotify's player
    lcp_ms: float | None = None
    lcp_element: str | None = None
    blocking_scripts: list[str] = field(default_factory=list)
    by_url: dict[str, tuple[str, int]] = field(default_factory=dict)

    def line(self, page: str) -> str:
        """The bench summary line."""
        lcp = "na" if self.lcp_ms is None else f"{self.lcp_ms:.0f}"
        return (
            f"page_weight page={page} bytes={self.bytes_total} requests={self.requests} lcp_ms={lcp} "
            f"own_html_css_js={self.own_code} own_assets={self.own_assets} htmx={self.htmx} "
            f"excluded={self.excluded}"
        )


OWN_CODE_TYPES = ("Document", "Stylesheet", "Script", "XHR", "Fetch")


def measure(context: BrowserContext, url: str, *, own_origin: str) -> Weight:
    """Load `url` in a fresh page with the cache off; count bytes per response and read LCP.

    Bytes are what Chromium's network layer counts (`Network.loadingFinished.encodedDataLength`:
    headers and body as sent, uncompressed here since the app does not compress; a CDN in front would).
    The htmx file is answered by the test route, which Chromium does not count, so its size is the
    file's own.
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    urls: dict[str, str] = {}
    types: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e.get("type", "Other")))
    cdp.on(
        "Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"]))
    )
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    lcp = page.evaluate(LCP_JS)
    blocking = page.evaluate(RENDER_BLOCKING_JS)
    weight = Weight(url=url, blocking_scripts=list(blocking))
    if lcp:
        weight.lcp_ms, weight.lcp_element = float(lcp["ms"]), lcp["element"]
    for request_id, request_url in urls.items():
        if request_url.startswith("data:"):
            continue
        kind = types.get(request_id, "Other")
        size = sizes.get(request_id, 0)
        if request_url == HTMX_URL:
            size = max(size, HTMX_FILE.stat().st_size)
            weight.htmx += size
        elif request_url.startswith(own_origin) and "/images/" not in request_url:
            if kind in OWN_CODE_TYPES:
                weight.own_code += size
            else:
                weight.own_assets += size
        else:
            weight.excluded += size
        weight.requests += 1
        weight.bytes_total += size
        weight.by_url[request_url] = (kind, size)
    page.close()
    return weight


def weight_report(weights: dict[str, Weight]) -> str:
    """JSON of the measures (for artefacts)."""
    return json.dumps({k: w.__dict__ for k, w in weights.items()}, indent=2)
