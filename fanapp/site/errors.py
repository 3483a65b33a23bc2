"""Error pages: every 4xx/5xx a visitor can meet says what happened and what to do next, in the app's look.

One handler answers in the shape the request asked for: a whole page to a browser, a fragment to htmx
(app.js puts it beside the control that asked and focuses it), JSON to the JSON routes (`.json`,
`/oembed`, `/api/`). Control characters are refused here too, before any view (or the database) sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fanapp.errors import FanappError
from fanapp.site import inputs


@dataclass(frozen=True)
class ErrorView:
    """What an error page shows: the status, a title, what happened and what to do next."""

    code: int
    title: str
    message: str
    next_step: str
    retry_after: int | None = None

    def as_json(self) -> dict[str, object]:
        """The JSON body of an error on a JSON route."""
        body: dict[str, object] = {
            "error": self.title,
            "status": self.code,
            "message": self.message,
            "next": self.next_step,
        }
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


# status: (title, what happened by default, what to do next)
WORDING: dict[int, tuple[str, str, str]] = {
    400: (
        "We could not read that",
        "Something in what was sent did not make sense to us.",
        "Go back, check what you typed or chose, and try again.",
    ),
    403: (
        "That is not open to you",
        "This page or action is not available to you.",
        "If you started this yourself, go back to the start and try again from there.",
    ),
    404: (
        "Nothing at this address",
        "There is no page at this address. The link may be mistyped or out of date.",
        "Check the link, or start your own episode from the beginning.",
    ),
    405: (
        "That does not work this way",
        "This address cannot be used like that.",
        "Go back to the start and use the buttons on the page.",
    ),
    410: (
        "This episode was taken down",
        "The episode that was here has been removed and will not come back.",
        "Make your own episode from your own songs instead.",
    ),
    413: (
        "That is too big for us",
        "What you sent is larger than we accept (Spotify data exports up to 200 MB in all).",
        "Send only the streaming-history files (StreamingHistory*.json or Streaming_History_Audio_*.json), "
        "or the zip as Spotify sent it.",
    ),
    429: (
        "Slow down a little",
        "Too many tries from your network in a short time.",
        "Wait a minute, then try again.",
    ),
    500: (
        "Something went wrong on our side",
        "It is not you: something broke on our side, and we have been told.",
        "Try again in a moment. If it keeps happening, start again from the beginning.",
    ),
    502: (
        "A music service did not answer properly",
        "A service we rely on answered with something we could not use.",
        "Try again in a minute, or try the demo meanwhile.",
    ),
    503: (
        "We are not available just now",
        "This part of the site is switched off or overloaded for the moment.",
        "Try again in a few minutes, or try the demo meanwhile.",
    ),
    504: (
        "A music service took too long",
        "A service we rely on did not answer in time.",
        "Try again in a minute, or try the demo meanwhile.",
    ),
}


JSON_PREFIXES = ("/oembed", "/api/")


def wants_json() -> bool:
    """True on the JSON routes (`.json`, oEmbed, the API) and for clients that ask for JSON only."""
    path = request.path
    if path.endswith(".json") or path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def view_for(code: int, message: str | None = None, *, retry_after: int | None = None) -> ErrorView:
    """The wording for a status, with the view's own message (what happened) where it gave one."""
    family = code if code in WORDING else (500 if code >= 500 else 400)
    title, default, next_step = WORDING[family]
    if code == 429 and retry_after:
        next_step = f"Wait {_duration(retry_after)}, then try again."
    elif retry_after:
        next_step = f"Try again in {_duration(retry_after)}, or try the demo meanwhile."
    return ErrorView(code, title, message or default, next_step, retry_after)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _own_description(exc: HTTPException) -> str | None:
    """The description a view gave (`abort(404, description=...)`), not Werkzeug's generic text."""
    if isinstance(exc, CSRFError):
        return "This form has expired, or it was not sent from this site, so nothing was done."
    description = exc.description
    if not description or description == type(exc).description:
        return None
    if exc.code == 429:
        # Flask-Limiter's description is the limit itself ("20 per 1 minute"): not for visitors.
        return None if _looks_like_limit(description) else description
    return str(description)


def _looks_like_limit(text: str) -> bool:
    return " per " in text and any(ch.isdigit() for ch in text)


def _retry_after(exc: HTTPException) -> int | None:
    headers = dict(exc.response.headers if exc.response is not None else exc.get_headers())
    value = headers.get("Retry-After")
    limit = getattr(exc, "limit", None)  # Flask-Limiter's: the window is the longest wait
    if value is None and limit is not None:
        value = str(limit.limit.get_expiry())
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def respond(view: ErrorView) -> Response:
    """Answer an error in the shape this request asked for (page, htmx fragment, or JSON)."""
    if wants_json():
        response = jsonify(view.as_json())
    else:
        htmx = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
        template = "partials/error.html" if htmx else "pages/error.html"
        response = make_response(render_template(template, error=view))
        response.vary.add("HX-Request")
    response.status_code = view.code
    response.headers["Cache-Control"] = "no-store"
    if view.retry_after is not None:
        response.headers["Retry-After"] = str(view.retry_after)
    return response


def http_error(exc: HTTPException) -> Response:
    """Every HTTP error (Werkzeug's, Flask-Limiter's 429, Flask-WTF's CSRF 400): in the app's look."""
    code = exc.code or 500
    view = view_for(code, _own_description(exc), retry_after=_retry_after(exc))
    response = respond(view)
    headers = dict(exc.response.headers if exc.response is not None else exc.get_headers())
    for name in ("Retry-After", "WWW-Authenticate", "Allow"):
        if name in headers and name not in response.headers:
            response.headers[name] = headers[name]
    return response


def upstream_error(exc: FanappError) -> Response:
    """A failure of an outside service that no view handled: what happened, and when to try again."""
    current_app.logger.warning("upstream failure: %s", exc.message)
    return respond(view_for(503, exc.message, retry_after=exc.retry_after))


def unexpected(exc: Exception) -> Response:
    """Anything unforeseen: log it for us, show a designed 500 to the visitor, never a traceback."""
    if current_app.testing:
        raise exc  # tests see the real error
    current_app.logger.exception("unhandled error", exc_info=exc)
    return respond(view_for(500))


def init_app(app: Flask) -> None:
    """Register the app-wide error handlers and the control-character check."""
    # First of all before-request hooks: nothing (CSRF, limits, views, the database) sees a NUL byte.
    app.request_class = inputs.CheckedRequest
    app.before_request_funcs.setdefault(None, []).insert(0, inputs.check_request_line)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(FanappError, upstream_error)
    app.register_error_handler(Exception, unexpected)
