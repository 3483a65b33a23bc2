"""One JSON array read entry by entry with ijson, under hard limits and in work linear in its input.

A Spotify history file is a JSON array of small objects, up to about 100 MB. `JsonArray` yields the
entries one at a time (never the whole document in memory) and refuses, with a message for the
visitor, anything outside `ExportLimits`: a document over `max_member_bytes`, an entry over
`max_entry_bytes` or `max_entry_brackets`, nesting over `max_depth`, more than `max_entries` in the
upload, a document that is not a list, invalid JSON (NaN and Infinity included), a number beyond 64
bits, or text that is not UTF-8. Messages never quote the file: the parser's own errors (which show
the text around the error) are mapped to our words and never travel on as a cause or context.

Work is bounded per byte: ijson is given `CHUNK` bytes at a time, and `_Source.read` gives it no more
once more than `max_entry_bytes` bytes, or more than `max_entry_brackets` opening brackets, have gone
in since the last entry was complete. A long string or number is refused after at most
`max_entry_bytes + 2 * CHUNK` bytes parsed (about 72 KB) and one `BLOCK` more read, whatever its
length, and the parser holds no more than that. The bracket count matters because ijson's time and
memory grow with the square of the nesting depth (it builds each event's path, "item.item.item…": a
100 KB file of 50,000 levels costs 10 s and 6 GB), so the depth it ever sees stays under
`2 * max_entry_brackets`. Entries within both limits always pass; the depth limit itself is checked
on each entry once it is complete.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, Final

import ijson

from fanapp.sources.export.limits import MB, ExportError, ExportLimits

log = logging.getLogger(__name__)


def _backend() -> Any:
    """ijson's C backend (yajl2_c, built into ijson's wheels), else the best one this machine has."""
    for name in ("yajl2_c", "yajl2_cffi", "yajl2"):
        try:
            return ijson.get_backend(name)
        except ImportError:
            continue
    # The pure-Python parser keeps every limit below, 20 times slower: 0.90 s against 0.043 s for
    # one 5.7 MB file of the benchmark.
    log.warning("ijson's C backend is missing: export uploads are parsed by its pure-Python backend")
    return ijson.get_backend("python")


_IJSON: Final = _backend()
BACKEND: Final[str] = _IJSON.backend_name

# Bytes given to the parser at a time. The entry limits are checked between pieces, so an entry is
# refused somewhere between `max_entry_bytes` and `max_entry_bytes + 2 * CHUNK`; 4 KB keeps that
# within 8 KB and costs 2 % against ijson's default of 64 KB (0.596 s against 0.586 s for the
# benchmark's 65 MB). The stream is read in larger blocks: each read there goes through the upload's
# hashing and budgets, and 64 KB blocks took 4 % off the benchmark (1.04 s against 1.08 s).
CHUNK: Final = 4 * 1024
BLOCK: Final = 64 * 1024

_WS: Final = b" \t\r\n"
_MAGIC: Final = (
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF8", "an image (GIF)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive"),
)
NOT_A_LIST: Final = "{label} is not a JSON list, so it cannot be Spotify history. Nothing was kept."
_CONTAINERS: Final = frozenset((dict, list))
_BRACKET: Final = re.compile(rb"[\[{]")
_UNCHANGED: Final = "Please upload the files exactly as Spotify sent them."

# What the parser says (yajl's words, then the pure-Python backend's) and what we tell the visitor.
_PARSER_WORDS: Final = (
    (("premature EOF", "Incomplete JSON"), "it ends too early"),
    (("trailing garbage", "Additional data"), "there is more after the end of the list"),
    (("after array element",), "a comma is missing between entries"),
    (("overflow",), "a number in it is too large"),
)


def refuse_not_json(head: bytes, label: str) -> None:
    """Refuse a file whose first bytes are those of an image, a document or an archive (`_MAGIC`)."""
    what = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if what is not None:
        raise ExportError(f"{label} is {what}, not a Spotify history JSON file. Nothing was kept.")


class NotAList(Exception):
    """The document is a JSON object, not a list: some other file of the export."""


def _too_deep(value: Any, limit: int) -> bool:
    """Whether an entry nests deeper than `limit` levels (an object of scalars is 1, a scalar 0)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is not dict and kind is not list:
            continue
        if depth > limit:
            return True
        inner = item.values() if kind is dict else item
        stack.extend((child, depth + 1) for child in inner if type(child) in _CONTAINERS)
    return False


class _Source:
    """The document's bytes as ijson asks for them: counted, checked as UTF-8, and cut off when an entry
    grows past its limits; and the entries' depth, checked only when their brackets say it may be
    over the limit.

    ijson has no depth limit, and checking each entry's depth by hand costs 1.0 µs per entry (0.10 s
    of the benchmark's 1.1 s for 100,000 plays). So the brackets count instead: a flat entry has one
    "[" or "{", and an entry over `max_depth` needs `max_depth - 1` more than that. While the brackets
    given to the parser exceed the entries it completed by no more than `max_depth - 2`, no entry can
    be too deep; once they do (nesting, or brackets in titles), every entry from the last read on is
    checked.

    A refusal is never raised through the parser: it is kept in `refusal` and the parser is told the
    input has ended. (ijson's pure-Python backend leaves its pipeline open when its source raises,
    and reports that, quoting the file, when the pipeline is collected.)
    """

    def __init__(
        self, read: Callable[[int], bytes], label: str, limits: ExportLimits, max_entries: int
    ) -> None:
        self._read = read
        self.label = label  # the file, as messages name it
        self._limits = limits
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._inner = limits.max_depth - 1  # levels inside the array
        self.total = 0  # bytes read from the stream
        self.fed = 0  # bytes given to the parser
        self.mark = 0  # `fed` when the last entry was complete
        self.brackets = 0  # "[" and "{" given to the parser since then
        self.opened = -1  # "[" and "{" given to the parser in all, less the array's own
        self.containers = 0  # entries completed that are objects or lists
        self.checking = False  # whether each entry's depth is checked
        self.unchecked: list[Any] = []  # entries completed since the last read, while not checking
        self._block = memoryview(b"")  # read from the stream, given to the parser from `_at` on
        self._at = 0
        self.refusal: ExportError | None = None
        self.entries_left = max_entries

    def invalid(self, why: str) -> ExportError:
        """The refusal of a document that is not valid JSON within the limits, for `why`."""
        return ExportError(f"{self.label} is not valid JSON ({why}), so nothing was kept. {_UNCHANGED}")

    def not_text(self) -> ExportError:
        """The refusal of a document that is not UTF-8 text."""
        return ExportError(
            f"{self.label} is not a text file, so it cannot be Spotify history. Nothing was kept."
        )

    def take(self, size: int) -> bytes:
        """The next bytes from the stream, within the document's size limit."""
        data = self._read(size)
        self.total += len(data)
        if self.total > self._limits.max_member_bytes:
            raise ExportError(
                f"{self.label} is larger than {self._limits.max_member_bytes // MB} MB, far more than any "
                "Spotify history file. Nothing was kept."
            )
        return data

    def check_text(self, data: bytes) -> None:
        """Refuse unless the bytes so far are UTF-8 (a character may go on in the next read)."""
        try:
            self._utf8.decode(data, final=not data)
        except UnicodeDecodeError:
            text = False  # not raised from here: the error holds the bytes
        else:
            text = True
        if not text:
            raise self.not_text()

    def read(self, size: int) -> bytes:
        """What ijson calls for more input: the end of it (b"") once the document is refused."""
        if not size or self.refusal is not None:
            return b""  # or ijson's probe for bytes or text
        try:
            return self._next(size)
        except ExportError as refusal:
            self.refusal = refusal
            return b""

    def _next(self, size: int) -> bytes:
        limits = self._limits
        if not self.checking and self.opened - self.containers > self._inner - 1:
            self.checking = True
            if any(_too_deep(entry, self._inner) for entry in self.unchecked):
                raise self.invalid(f"it nests deeper than {limits.max_depth} levels")
        self.unchecked.clear()
        if self.fed - self.mark > limits.max_entry_bytes:
            raise self.invalid(f"an entry is larger than {limits.max_entry_bytes // 1024} KB")
        if self.brackets > limits.max_entry_brackets:
            raise self.invalid(
                f"it nests deeper than {limits.max_depth} levels, or an entry holds more than "
                f"{limits.max_entry_brackets:,} brackets"
            )
        if self._at >= len(self._block):
            block = self.take(BLOCK)
            self.check_text(block)
            self.hold(block)
        data = self._block[self._at : self._at + size].tobytes()
        brackets = data.count(b"[") + data.count(b"{")
        room = limits.max_entry_brackets + 1 - self.brackets
        if brackets > room:
            # Only up to the bracket over the limit now: if no entry ends before it, the next read
            # refuses, so the parser never holds more than twice the limit's depth.
            cut = next(islice(_BRACKET.finditer(data), room - 1, None)).end()
            data = data[:cut]
            brackets = room
        self.brackets += brackets
        self.opened += brackets
        self.fed += len(data)
        self._at += len(data)
        return data

    def hold(self, data: bytes) -> None:
        """Bytes read from the stream, to give the parser next."""
        self._block, self._at = memoryview(data), 0

    def entry_done(self, entry: Any) -> None:
        """An entry ended in the bytes given to the parser: its limits start again.

        Raises `ExportError` if its depth is checked and over the limit, or if it is one too many.
        """
        self.mark = self.fed
        self.brackets = 0
        self.entries_left -= 1
        if self.entries_left < 0:
            raise ExportError(
                f"These files hold more than {self._limits.max_entries:,} entries in all (the last one "
                f"read: {self.label}), far more than any Spotify export. Nothing was kept."
            )
        kind = type(entry)
        if kind is dict or kind is list:
            self.containers += 1
            if not self.checking:
                self.unchecked.append(entry)
            elif _too_deep(entry, self._inner):
                raise self.invalid(f"it nests deeper than {self._limits.max_depth} levels")


def _parser_refusal(error: Exception) -> str:
    """Why the parser refused, in our words (its own message quotes the file, so it is not shown);
    "" if the text is not UTF-8."""
    words = str(error)
    if "invalid bytes in UTF8" in words or isinstance(error, UnicodeDecodeError):
        return ""
    for phrases, why in _PARSER_WORDS:
        if any(phrase in words for phrase in phrases):
            return why
    return "there is a syntax error"


class JsonArray:
    """The entries of the JSON array in a byte stream, one at a time, in bounded memory and work.

    `read(size)` gives the next bytes (b"" at the end); `label` names the file in messages;
    `max_entries` is what is left of `limits.max_entries` after the upload's other files. Iterating
    raises `NotAList` if the document is a JSON object (some other file of the export) and
    `ExportError` for anything that is not a valid JSON list within `limits`. Numbers are read as
    64-bit integers and doubles (ijson's `use_float`): a larger one is refused. Entries are what
    `json.loads` would give (lone UTF-16 surrogates in "\\u" escapes aside, which no export has).
    """

    def __init__(
        self,
        read: Callable[[int], bytes],
        label: str,
        limits: ExportLimits,
        *,
        max_entries: int | None = None,
    ) -> None:
        self._max_entries = limits.max_entries if max_entries is None else max_entries
        self._source = _Source(read, label, limits, self._max_entries)

    @property
    def entries(self) -> int:
        """How many entries were read so far."""
        return self._max_entries - self._source.entries_left

    def __iter__(self) -> Iterator[Any]:
        """The entries, read as they are asked for."""
        source = self._source
        label = source.label

        # The first bytes say what the file is: a list, an object, or not JSON at all.
        data = source.take(CHUNK)
        refuse_not_json(data, label)
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        source.check_text(data)
        while not (head := data.lstrip(_WS)) and data:
            data = source.take(CHUNK)
            source.check_text(data)
        if not head:
            raise ExportError(f"{label} is empty. Nothing was kept.")
        if head[:1] == b"{":
            raise NotAList
        if head[:1] != b"[":
            raise ExportError(NOT_A_LIST.format(label=label))

        source.hold(head)
        source.mark = source.fed
        entries = _IJSON.items(source, "item", use_float=True, buf_size=CHUNK)
        why: str | None = None
        try:
            for entry in entries:
                source.entry_done(entry)
                yield entry
        except (ijson.JSONError, ValueError) as error:
            # Not raised from here: the parser's message and a UnicodeDecodeError's `object` hold the
            # file's text, so they must not travel on as a cause or context.
            why = _parser_refusal(error)
        if source.refusal is not None:
            raise source.refusal
        if why is not None:
            raise source.invalid(why) if why else source.not_text()
