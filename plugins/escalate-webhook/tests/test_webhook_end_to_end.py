"""A desk's outbox through WebhookNotifier: one row arrives, a 400 dead-letters at once."""

from __future__ import annotations

import pytest
from escalate_webhook import WebhookNotifier
from webhook_support import SECRET, Receiver

from escalate import Desk, ManualClock, Policy

if not hasattr(Desk, "dispatch"):  # pragma: no cover - only while the core lacks the outbox
    pytest.skip("escalate.Desk has no dispatch() yet: the outbox is not in this core version",
                allow_module_level=True)


def test_desk_dispatch_delivers_signed_and_dead_letters_permanent_failures(
        receiver: Receiver) -> None:
    policy = Policy.from_dict({
        "ladders": {"support": {"tiers": [{"name": "frontline",
                                           "members": ["ana", "bo", "cy"]}]}},
        "notifications": {"channels": ["webhook"], "max_attempts": 5},
    })
    notifier = WebhookNotifier(secret=SECRET, urls={"bo": receiver.url("/bo"),
                                                    "cy": receiver.url("/status/400")})
    with Desk(policy, store="memory://", clock=ManualClock(), plugins=[notifier]) as desk:
        case = desk.open(title="Printer on fire", customer="c-17", channel="phone", by="ana")

        outcomes = {row.recipient: row for row in desk.dispatch()}

        assert set(outcomes) == {"bo", "cy"}  # ana opened it; the rest of the tier hears
        assert outcomes["bo"].status == "delivered"
        assert outcomes["cy"].status == "dead" and outcomes["cy"].attempts == 1
        assert "PermanentDeliveryError" in (outcomes["cy"].last_error or "")
        assert desk.outbox(status="pending") == []
    delivered = [r for r in receiver.requests if r.path == "/bo"]
    assert len(delivered) == 1 and delivered[0].valid
    payload = delivered[0].json()
    assert payload["case_id"] == case.id and payload["recipient"] == "bo"
    assert payload["key"] == outcomes["bo"].key
    assert "Printer on fire" in payload["subject"]
