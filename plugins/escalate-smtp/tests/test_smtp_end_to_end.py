"""A desk's outbox delivered through SmtpNotifier: a failed attempt stays queued, then arrives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from escalate_smtp import SmtpNotifier, message_id
from smtp_support import SmtpServer, free_port

from escalate import Desk, ManualClock, Policy

if not hasattr(Desk, "dispatch"):  # pragma: no cover - only while the core lacks the outbox
    pytest.skip("escalate.Desk has no dispatch() yet: the outbox is not in this core version",
                allow_module_level=True)


def test_desk_dispatch_retries_until_the_server_is_up(servers: list[SmtpServer]) -> None:
    policy = Policy.from_dict({
        "ladders": {"support": {"tiers": [{"name": "frontline", "members": ["ana", "bo"]}]}},
        "notifications": {"channels": ["email"], "backoff": "1m", "max_attempts": 5},
    })
    port = free_port()
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from=desk@example.com",
                            address_book="{name}@example.org")
    clock = ManualClock()
    with Desk(policy, store="memory://", clock=clock, plugins=[notifier]) as desk:
        case = desk.open(title="Printer on fire", customer="c-17", channel="phone", by="ana")

        [failed] = desk.dispatch()  # nothing listens yet: the attempt fails and is kept
        assert failed.status == "pending" and failed.attempts == 1
        assert "refused" in (failed.last_error or "")

        server = SmtpServer(port)
        servers.append(server)
        clock.advance(timedelta(minutes=5))
        [done] = desk.dispatch()

        assert done.status == "delivered" and done.attempts == 2
        assert desk.outbox(status="pending") == []
    [got] = server.messages
    assert got.rcpt_tos == ["bo@example.org"]  # ana opened it; bo hears of it
    assert got.message["X-Escalate-Case"] == case.id
    assert got.message["Message-ID"] == message_id(done.key, "example.com")
    assert "Printer on fire" in got.message["Subject"]
