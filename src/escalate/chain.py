"""The tamper-evident trail: each event carries a hash of its content and of the event before.

`seal` fills in an event's `prev_hash` and `hash`; `check_chain` recomputes a case's chain and
names the first event that was altered, removed or inserted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .codec import event_to_dict
from .model import Event

__all__ = ["check_chain", "event_hash", "seal"]


def event_hash(event: Event) -> str:
    """SHA-256 of the event's canonical JSON content (everything but `hash` itself)."""
    content = event_to_dict(event)
    content.pop("hash", None)
    return _digest(content)


def seal(event: Event, prev_hash: str, data: Mapping[str, Any] | None = None) -> Event:
    """The event chained to its predecessor's hash, with its own hash (and `data`, if given)."""
    content = event_to_dict(event)
    content["prev_hash"] = prev_hash
    if data is not None:
        content["data"] = dict(data)
    content.pop("hash", None)
    return attrs.evolve(event, prev_hash=prev_hash, hash=_digest(content),
                        data=event.data if data is None else data)


def _digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_chain(events: Sequence[Event]) -> str | None:
    """None when the chain holds; otherwise a sentence naming the first broken event."""
    previous = ""
    for event in events:
        if event.prev_hash != previous:
            return (f"event {event.seq} ({event.kind.value}) does not follow the event before "
                    "it: an event was removed, inserted or altered before it")
        if event.hash != event_hash(event):
            return f"event {event.seq} ({event.kind.value}) was altered after it was written"
        previous = event.hash
    return None
