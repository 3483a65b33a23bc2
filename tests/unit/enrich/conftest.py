"""What the enrichment providers' tests share."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.fixture
def own_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds this test's thread asks `time.sleep` for, as it asks (and still sleeps them).

    Only this thread's: take-down retriers and warming loops left by earlier tests sleep too."""
    sleeps: list[float] = []
    sleep = time.sleep
    caller = threading.get_ident()

    def counted(seconds: float) -> None:
        if threading.get_ident() == caller:
            sleeps.append(seconds)
        sleep(seconds)

    monkeypatch.setattr(time, "sleep", counted)
    return sleeps
