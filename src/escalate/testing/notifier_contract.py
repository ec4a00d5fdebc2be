"""The notifier contract: tests every notification backend must pass.

Subclass `NotifierContract`, return your plugin from `make_notifier()` (one that delivers to
something the test can read back) and `make_broken_notifier()` (one whose transport is down),
and implement `delivered()`::

    class TestSmtpNotifier(NotifierContract):
        channel = "email"
        def make_notifier(self): return SmtpNotifier(url=f"smtp://127.0.0.1:{port}")
        def make_broken_notifier(self): return SmtpNotifier(url="smtp://127.0.0.1:1")
        def delivered(self): return [(m["To"], m["Subject"]) for m in server.messages]
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ..stores.base import Notification

__all__ = ["NotifierContract", "sample_notification"]


def sample_notification(channel: str, recipient: str = "ana@example.com",
                        key: str = "C-1:2:ana:test") -> Notification:
    """A rendered outbox row as the desk would hand it to a notifier."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Notification(key=key, case_id="C-1", seq=2, recipient=recipient, channel=channel,
                        subject="[C-1] Invoice is wrong: escalated to specialists",
                        body="escalated to specialists\n\nCase C-1 for customer c-17\n",
                        created_at=at, next_attempt_at=at)


class NotifierContract:
    """Inherited tests that define what a notifier must do."""

    channel: str = ""
    recipient: str = "ana@example.com"

    def make_notifier(self) -> Any:
        """A working notifier plugin object (override)."""
        raise NotImplementedError

    def make_broken_notifier(self) -> Any:
        """A notifier whose transport fails (override)."""
        raise NotImplementedError

    def delivered(self) -> list[tuple[str, str]]:
        """(recipient, subject) pairs that arrived so far (override)."""
        raise NotImplementedError

    def test_delivers_and_reports_true(self) -> None:
        """A notification on the notifier's channel arrives, and the hook returns True."""
        note = sample_notification(self.channel, self.recipient)
        assert self.make_notifier().escalate_deliver(notification=note) is True
        assert any(note.subject in subject for _, subject in self.delivered())

    def test_ignores_other_channels(self) -> None:
        """A notification on another channel is left alone: the hook returns None."""
        before = list(self.delivered())
        note = sample_notification(self.channel + "-other", self.recipient)
        assert self.make_notifier().escalate_deliver(notification=note) is None
        assert self.delivered() == before

    def test_failure_raises_so_the_outbox_retries(self) -> None:
        """A failed attempt raises (the outbox retries); it never reports success."""
        note = sample_notification(self.channel, self.recipient)
        with pytest.raises(Exception):  # noqa: B017 - any error is a failed attempt
            self.make_broken_notifier().escalate_deliver(notification=note)
