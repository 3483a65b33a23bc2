"""Uploaded files waiting for their import job: private, found again by key, always removable."""

from __future__ import annotations

import io
import os
import resource
import stat
import time
from pathlib import Path

import pytest

from fanapp.importing import uploads
from fanapp.sources import SourceError


@pytest.fixture(autouse=True)
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setattr(uploads, "root", lambda: folder)
    return folder


def test_saved_files_are_private_and_found_again_by_key(root: Path) -> None:
    key, names = uploads.save([("a.json", io.BytesIO(b"[1]")), ("../../b.zip", io.BytesIO(b"PK"))])
    assert names == ["a.json", "../../b.zip"]  # names travel as text; the files on disk are ours
    found = uploads.files(key, names)
    assert [(n, p.read_bytes()) for n, p in found] == [("a.json", b"[1]"), ("../../b.zip", b"PK")]
    assert {p.parent for _, p in found} == {root / key}
    assert stat.S_IMODE((root / key).stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for _, p in found)
    uploads.remove(key)
    assert not (root / key).exists()
    with pytest.raises(SourceError, match="upload your files again"):
        uploads.files(key, names)


def test_long_names_are_cut_to_their_last_400_characters() -> None:
    _, names = uploads.save([("x" * 10_000 + "/Streaming_History_Audio_2024_0.json", io.BytesIO(b"[]"))])
    assert len(names[0]) == 400 and names[0].endswith("/Streaming_History_Audio_2024_0.json")


@pytest.mark.parametrize("key", ["", "..", "../etc", "a/b", "x" * 10, None, 5])
def test_malformed_keys_find_and_remove_nothing(root: Path, key: object) -> None:
    kept, names = uploads.save([("a.json", io.BytesIO(b"[]"))])
    with pytest.raises(SourceError):
        uploads.files(key, names)  # type: ignore[arg-type]
    uploads.remove(key)
    assert (root / kept / "0").is_file()


def test_a_failed_copy_leaves_nothing(root: Path) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("disk full")

    with pytest.raises(OSError):
        uploads.save([("a.json", io.BytesIO(b"[]")), ("b.json", Broken())])
    assert not any(root.iterdir())


def test_folders_left_by_a_crash_are_swept_after_max_age(root: Path) -> None:
    old, _ = uploads.save([("a.json", io.BytesIO(b"[]"))])
    then = time.time() - uploads.MAX_AGE - 60
    os.utime(root / old, (then, then))
    new, _ = uploads.save([("b.json", io.BytesIO(b"[]"))])  # each save sweeps
    assert not (root / old).exists() and (root / new).exists()


def test_the_cpu_budget_stops_runaway_work_and_is_put_back() -> None:
    before = resource.getrlimit(resource.RLIMIT_CPU)
    spun = 0
    with pytest.raises(uploads.OverBudget), uploads.cpu_budget(1):
        while True:  # the kernel's SIGXCPU ends this within about 2 s of CPU
            spun += 1
    assert spun > 0
    assert resource.getrlimit(resource.RLIMIT_CPU) == before
    with uploads.cpu_budget(60):
        assert sum(range(1000)) == 499500  # ordinary work is untouched
