"""A notification backend in 30 lines: append every message on channel "jsonl" to a file.

Register it with Desk(..., plugins=[JsonLinesNotifier("messages.jsonl")]), or publish it
under the `escalate` entry-point group of your package.
"""

from __future__ import annotations

import json
from pathlib import Path

from escalate import Notification, hookimpl


class JsonLinesNotifier:
    """Writes one JSON object per notification to a file (one line each)."""

    def __init__(self, path: str | Path, channel: str = "jsonl") -> None:
        self.path = Path(path)
        self.channel = channel

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        """Append the message; None for other channels; an OSError makes the outbox retry."""
        if notification.channel != self.channel:
            return None
        record = {"key": notification.key, "case": notification.case_id,
                  "to": notification.recipient, "subject": notification.subject,
                  "body": notification.body}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return True


if __name__ == "__main__":
    from escalate import Desk, ManualClock, Policy

    policy = Policy.from_dict({
        "ladders": {"support": {"tiers": [{"name": "frontline", "members": ["ana", "bo"]}]}},
        "notifications": {"channels": ["jsonl"]},
    })
    target = Path("messages.jsonl")
    desk = Desk(policy, store="memory://", clock=ManualClock(),
                plugins=[JsonLinesNotifier(target)])
    desk.open(title="Printer on fire", customer="c-1", channel="phone", by="ana")
    delivered = desk.dispatch()
    print(f"delivered {len(delivered)} message(s) to {target}:")
    print(target.read_text(encoding="utf-8"), end="")
    target.unlink()
