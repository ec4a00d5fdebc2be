"""The tamper-evident trail: each event carries a hash of its content and of the event before.

`seal` fills in an event's `prev_hash` and `hash`; `check_chain` recomputes a case's chain and
names the first event that was altered, removed or inserted.

Two chain formats exist, told apart by the stored hash itself, so events of either kind
verify side by side:

- format 0, unkeyed: 64 hex digits, the SHA-256 of the event's canonical JSON. Anyone who can
  write to the database can recompute it after changing an event.
- format 1, keyed: `hmac1:` and 64 hex digits, an HMAC-SHA256 of the same content under a
  secret key. Written whenever a key is set (the environment variable `ESCALATE_CHAIN_KEY`,
  or `key=` here); without the key nobody can produce a hash that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .codec import event_to_dict
from .model import Event

__all__ = [
    "KEYED_PREFIX",
    "KEY_VARIABLE",
    "chain_key",
    "chain_problem",
    "check_chain",
    "event_hash",
    "seal",
]

#: The environment variable that holds the chain key (any text; 32+ random bytes advised).
KEY_VARIABLE = "ESCALATE_CHAIN_KEY"
#: How a keyed (format 1) hash starts.
KEYED_PREFIX = "hmac1:"


def chain_key() -> bytes | None:
    """The chain key from the environment, or None when `ESCALATE_CHAIN_KEY` is unset or empty."""
    text = os.environ.get(KEY_VARIABLE, "")
    return text.encode("utf-8") if text else None


def _content(event: Event) -> dict[str, Any]:
    content = event_to_dict(event)
    content.pop("hash", None)
    return content


def _digest(content: dict[str, Any], key: bytes | None) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = canonical.encode("utf-8", "surrogatepass")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return KEYED_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()


def event_hash(event: Event, key: bytes | None = None) -> str:
    """The hash written for the event now: keyed with `key` (default: the environment's)."""
    return _digest(_content(event), key if key is not None else chain_key())


def seal(event: Event, prev_hash: str, data: Mapping[str, Any] | None = None,
         key: bytes | None = None) -> Event:
    """The event chained to its predecessor's hash, with its own hash (and `data`, if given).

    With a chain key (`key`, or `ESCALATE_CHAIN_KEY`) the hash is keyed (format 1).
    """
    content = event_to_dict(event)
    content["prev_hash"] = prev_hash
    if data is not None:
        content["data"] = dict(data)
    content.pop("hash", None)
    return attrs.evolve(event, prev_hash=prev_hash,
                        hash=_digest(content, key if key is not None else chain_key()),
                        data=event.data if data is None else data)


def chain_problem(events: Sequence[Event], key: bytes | None = None) -> tuple[str, str] | None:
    """None when the chain holds; otherwise (kind, sentence) naming the first broken event.

    The kind is "tampered", or "unverifiable" when a keyed event is met without a key.
    An unkeyed event after a keyed one is tampering: the trail was re-hashed without the key.
    """
    previous = ""
    keyed_seen = False
    for event in events:
        name = f"event {event.seq} ({event.kind.value})"
        if event.prev_hash != previous:
            return "tampered", (f"{name} does not follow the event before it: an event was "
                                "removed, inserted or altered before it")
        keyed = isinstance(event.hash, str) and event.hash.startswith(KEYED_PREFIX)
        if keyed and key is None:
            return "unverifiable", (f"{name} is sealed with a chain key; set {KEY_VARIABLE} to "
                                    "the key it was written with to check it")
        if keyed_seen and not keyed:
            return "tampered", (f"{name} is not sealed with the chain key although an event "
                                "before it is: the trail was re-hashed without the key")
        if event.hash != _digest(_content(event), key if keyed else None):
            reason = "altered after it was written"
            if keyed:
                reason += ", or sealed with another chain key"
            return "tampered", f"{name} was {reason}"
        keyed_seen = keyed_seen or keyed
        previous = event.hash
    return None


def check_chain(events: Sequence[Event], key: bytes | None = None) -> str | None:
    """None when the chain holds; otherwise a sentence naming the first broken event.

    `key` defaults to the environment's chain key.
    """
    found = chain_problem(events, key if key is not None else chain_key())
    return None if found is None else found[1]
