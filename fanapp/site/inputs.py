"""Control characters are refused on every input, with a 400 that says so, never a 500.

A NUL byte cannot be stored by PostgreSQL, and other control characters only ever arrive from tools or
attacks. The path, query arguments and headers are checked before any view runs; form fields, upload
filenames and JSON bodies are checked when they are parsed (lazily, by the request class below), so a
large upload is never read early just to look at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Request, request
from werkzeug.exceptions import BadRequest

# C0 controls, DEL and C1 controls, and lone surrogates (which no text encoding can store).
_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Free text (form values, JSON strings) may keep tabs and line breaks.
_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Header values may hold a tab (RFC 9110 allows it); nothing else below a space.
_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class ControlCharacterError(BadRequest):
    """A 400 naming the part of the request that held a control character."""

    def __init__(self, where: str) -> None:
        super().__init__(
            description=f"The {where} contains a control character (such as a NUL byte), which we never "
            "accept. Please type it again without it, or go back to the start."
        )


def _any(pattern: re.Pattern[str], values: Iterable[str]) -> bool:
    return any(pattern.search(value) for value in values)


def check_request_line() -> None:
    """Refuse a control character in the path, a query argument or a header (before any view runs)."""
    if _IN_LINE.search(request.path):
        raise ControlCharacterError("address")
    args = request.args
    if _any(_IN_LINE, args.keys()) or _any(_IN_TEXT, (v for _, v in args.items(multi=True))):
        raise ControlCharacterError("address")
    for name, value in request.headers.items():
        if _IN_HEADER.search(value) or _IN_LINE.search(name):
            raise ControlCharacterError(f"{name} header")


def check_text(value: str, where: str) -> str:
    """Return `value`, or refuse it if it holds a control character (for inputs read another way)."""
    if _IN_TEXT.search(value):
        raise ControlCharacterError(where)
    return value


def check_filename(filename: str) -> str:
    """Return an upload's filename, or refuse it if it holds a control character (line breaks included)."""
    if _IN_LINE.search(filename):
        raise ControlCharacterError("name of an uploaded file")
    return filename


def _walk_json(value: Any) -> None:
    if isinstance(value, str):
        check_text(value, "data sent")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, "data sent")
            _walk_json(item)
    elif isinstance(value, list):
        for item in value:
            _walk_json(item)


class CheckedRequest(Request):
    """Flask's request, refusing control characters in form fields, filenames and JSON bodies once parsed."""

    def get_json(  # type: ignore[override]  # one signature for Werkzeug's overloads
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> Any:
        """The parsed JSON body, refused with a 400 if any string or key holds a control character."""
        value = super().get_json(force=force, silent=silent, cache=cache)
        _walk_json(value)
        return value

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.form
        if _any(_IN_LINE, form.keys()) or _any(_IN_TEXT, (v for _, v in form.items(multi=True))):
            raise ControlCharacterError("form")
        for field, upload in self.files.items(multi=True):
            if _IN_LINE.search(field):
                raise ControlCharacterError("form")
            check_filename(upload.filename or "")
