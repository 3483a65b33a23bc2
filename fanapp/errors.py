"""The one error shape every layer shares: a failure whose message a visitor can read."""

from __future__ import annotations


class FanappError(Exception):
    """A failure whose `message` says what happened and what to do next, in words for the visitor.

    `retry_after` (seconds) is set when an honest wait is known (an upstream asked us to pause).
    """

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
