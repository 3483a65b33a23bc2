"""Uploaded export files on their way to the import job: on disk only until the job has read them.

The web request copies each uploaded file (already streamed to a temporary file by Werkzeug, never
held in memory) into a folder of its own under `root()`, and the import job (on an RQ worker, or
inline without Redis) reads them from there and removes the folder whatever happens. Web and worker
processes must therefore share this folder: one host (as the Procfile runs them) or a shared volume
mounted at `$TMPDIR`. Folders left behind by a crash are swept after `MAX_AGE` on the next upload.
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Final

from fanapp.sources import SourceError

MAX_AGE: Final = 2 * 3600  # seconds: longer than any job waits in the queue and runs (600 s timeout)
_KEY: Final = re.compile(r"[A-Za-z0-9_-]{20,64}")
_COPY_BLOCK: Final = 1024 * 1024
# CPU seconds an export import may use on a worker: the largest upload the limits let through costs
# under 10 s to parse (docs/PERFORMANCE.md), so this is only ever reached by something going wrong.
CPU_SECONDS: Final = 60
OVER_BUDGET: Final = (
    "These files needed far more work to read than any Spotify export, so we stopped and kept nothing. "
    "Please upload the files exactly as Spotify sent them."
)
GONE: Final = (
    "Your upload was not kept long enough for the import to read it (it waited too long). "
    "Please upload your files again."
)


def root() -> Path:
    """Where uploads wait for their job: `fanapp-uploads` in the system's temporary folder."""
    return Path(tempfile.gettempdir()) / "fanapp-uploads"


def save(files: Iterable[tuple[str, IO[bytes]]]) -> tuple[str, list[str]]:
    """Copy the uploaded streams into a new private folder; returns its key and the files' names.

    The files on disk are named 0, 1, 2… (the names as uploaded travel with the job, as text only).
    """
    base = root()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    sweep(base)
    key = secrets.token_urlsafe(24)
    folder = base / key
    folder.mkdir(mode=0o700)
    names: list[str] = []
    try:
        for i, (name, stream) in enumerate(files):
            stream.seek(0)
            fd = os.open(folder / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, _COPY_BLOCK)
            names.append(str(name)[-400:])  # as the reader keeps them; the job's payload stays small
    except BaseException:
        remove(key)
        raise
    return key, names


def files(key: str, names: list[str]) -> list[tuple[str, Path]]:
    """The (name as uploaded, path) pairs of a saved upload; `SourceError` when it is gone."""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or not isinstance(names, list):
        raise SourceError(GONE)
    folder = root() / key
    found = [(str(name), folder / str(i)) for i, name in enumerate(names)]
    if not found or not all(path.is_file() for _, path in found):
        raise SourceError(GONE)
    return found


def remove(key: object) -> None:
    """Delete a saved upload's folder (nothing happens for an unknown or malformed key)."""
    if isinstance(key, str) and _KEY.fullmatch(key):
        shutil.rmtree(root() / key, ignore_errors=True)


def sweep(base: Path | None = None, max_age: float = MAX_AGE) -> int:
    """Delete upload folders older than `max_age` seconds (left by a crashed job); returns how many."""
    base = base or root()
    cutoff = time.time() - max_age
    removed = 0
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            old = entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff
        except FileNotFoundError:
            continue
        if old and _KEY.fullmatch(entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


class OverBudget(SourceError):
    """The import used up its CPU budget (`cpu_budget`)."""


@contextmanager
def cpu_budget(seconds: int = CPU_SECONDS) -> Iterator[None]:
    """Raise `OverBudget` if this process uses more than `seconds` more CPU while the block runs.

    The kernel enforces it (RLIMIT_CPU's soft limit sends SIGXCPU), so it holds inside C code too; the
    limit is put back afterwards. Only in the main thread (where Python runs signal handlers), which is
    where an RQ work horse runs its job; elsewhere the block runs without a budget.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cap = int(usage.ru_utime + usage.ru_stime) + seconds + 1
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)

    def over(signum: int, frame: FrameType | None) -> None:
        raise OverBudget(OVER_BUDGET)

    previous = signal.signal(signal.SIGXCPU, over)
    resource.setrlimit(resource.RLIMIT_CPU, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        signal.signal(signal.SIGXCPU, previous)
