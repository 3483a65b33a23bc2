"""One JSON array read entry by entry, under hard limits, in bounded memory."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from fanapp.sources.export.limits import MB, ExportError, ExportLimits

CHUNK: Final = 1 * MB

_WS: Final = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL: Final = re.compile(r"[0-9.eE+-]*\Z")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)
_MAGIC: Final = (
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF8", "an image (GIF)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive"),
)


def _depth(value: Any, limit: int) -> bool:
    """Whether `value` nests no deeper than `limit` levels (an object of scalars is 1)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return True


class NotAList(Exception):
    """The document is a JSON object, not a list: some other file of the export."""


def read_json_array(read: Callable[[int], bytes], label: str, limits: ExportLimits) -> Iterator[Any]:
    """Yield the elements of the JSON array in a byte stream, one at a time, in bounded memory.

    Why not `json.load`: a 40 MB history file would become a list of 100,000 dicts at once (several
    hundred MB), and a hostile file could be far bigger. ijson is not a dependency, so this reads
    1 MB chunks, decodes UTF-8 incrementally, and hands each element to `JSONDecoder.raw_decode`;
    an element cut by a chunk boundary is retried once the next chunk is in. Each element is capped
    (`max_entry_bytes`) and so is nesting (`max_depth`, counting the array), so the buffer holds at
    most one chunk plus one element. Raises `NotAList` if the document is a JSON object (some other
    file of the export) and ExportError for anything that is not valid JSON within the limits.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buf = ""
    pos = 0
    eof = False
    total = 0

    def more() -> None:
        nonlocal buf, pos, eof, total
        data = read(CHUNK)
        if not total:
            what = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
            if what is not None:
                raise ExportError(f"{label} is {what}, not a Spotify history JSON file. Nothing was kept.")
        total += len(data)
        if total > limits.max_member_bytes:
            raise ExportError(
                f"{label} is larger than {limits.max_member_bytes // MB} MB, far more than any Spotify "
                "history file. Nothing was kept."
            )
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ExportError(
                f"{label} is not a text file, so it cannot be Spotify history. Nothing was kept."
            ) from None
        buf = buf[pos:] + text
        pos = 0
        eof = not data

    def refuse(why: str) -> ExportError:
        return ExportError(f"{label} is not valid JSON ({why}), so nothing was kept. {UNCHANGED}")

    # The first character says what the file is: a list, an object, or not JSON at all.
    more()
    while not (head := buf.lstrip(" \t\r\n")) and not eof:
        buf = ""
        more()
    if not head:
        raise ExportError(f"{label} is empty. Nothing was kept.")
    if head[0] == "{":
        raise NotAList
    if head[0] != "[":
        raise ExportError(f"{label} is not a JSON list, so it cannot be Spotify history. Nothing was kept.")
    buf = head
    pos = 1

    expect_element = True  # after "[" or ","; the first time "]" is allowed too
    first = True
    max_inner = limits.max_depth - 1
    while True:
        pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= len(buf):
            if eof:
                raise refuse("it ends too early")
            more()
            continue
        char = buf[pos]
        if not expect_element:
            if char == ",":
                pos += 1
                expect_element = True
                continue
            if char == "]":
                break
            raise refuse("a comma is missing between entries")
        if char == "]" and first:
            break
        failure = ""
        where, what = 0, ""
        try:
            value, end = _DECODER.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            # Not raised from here: the exception holds the whole buffer (`exc.doc`), so it must not
            # travel on as a cause or context; only the position and message are kept.
            failure, where, what = "syntax", exc.pos, exc.msg
        except RecursionError:
            failure = "depth"
        except ValueError:  # NaN, Infinity: Python accepts them, JSON does not
            failure = "syntax"
        if failure == "depth":
            raise refuse(f"it nests deeper than {limits.max_depth} levels")
        if failure:
            if not eof and len(buf) - pos <= limits.max_entry_bytes:
                more()  # probably an entry cut by the chunk boundary: read on and try again
                continue
            cut = what.startswith("Unterminated") or where >= len(buf.rstrip(" \t\r\n"))
            if (cut and not eof) or where - pos > limits.max_entry_bytes:
                raise refuse(f"an entry is larger than {limits.max_entry_bytes // 1024} KB")
            raise refuse("it ends too early" if cut else "there is a syntax error")
        if not eof and (end == len(buf) or (type(value) in (int, float) and _NUMBER_TAIL.match(buf, end))):
            more()  # a number at the very end ("1." of "1.5") may go on in the next chunk
            continue
        if end - pos > limits.max_entry_bytes:
            raise refuse(f"an entry is larger than {limits.max_entry_bytes // 1024} KB")
        if (buf.count("{", pos, end) + buf.count("[", pos, end) > max_inner) and not _depth(value, max_inner):
            raise refuse(f"it nests deeper than {limits.max_depth} levels")
        pos = end
        expect_element = first = False
        yield value

    # Only whitespace may follow the closing bracket.
    pos += 1
    while True:
        pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
        if pos < len(buf):
            raise refuse("there is more after the end of the list")
        if eof:
            return
        more()


UNCHANGED: Final = "Please upload the files exactly as Spotify sent them."
