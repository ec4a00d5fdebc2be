"""A digest of the heads of every case's chain, kept elsewhere to detect truncation.

The digest covers, for every case, the last event recorded at or before a moment (the
"as of" time written into the digest): its sequence number and hash. Events recorded later do
not change it, so a digest taken today still matches tomorrow's store; removing a case,
removing or altering an event at or before that moment, or rolling the store back to an
older copy does change it.

Form: `escalate-digest:1:<as of, UTC ISO>:<cases>:<events>:<64 hex digits>`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import attrs

from ..codec import format_time, parse_time
from ..stores.base import RawRow, Store
from .problem import STORE, Problem

__all__ = ["Anchor", "DigestError", "compare", "digest", "parse_digest"]

PREFIX = "escalate-digest:1:"


class DigestError(ValueError):
    """A digest text that is not in the form `escalate verify --digest` prints."""


@attrs.frozen
class Anchor:
    """What a digest says: as of when, how many cases and events, and their hash."""

    as_of: datetime
    cases: int
    events: int
    hash: str

    def __str__(self) -> str:
        return f"{PREFIX}{format_time(self.as_of)}:{self.cases}:{self.events}:{self.hash}"


def parse_digest(text: str) -> Anchor:
    """Read a digest printed by `digest`; DigestError when it is not one."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise DigestError(f"{text!r} is not an escalate digest; it starts with {PREFIX!r}")
    try:
        when, cases, events, value = text[len(PREFIX):].rsplit(":", 3)
        anchor = Anchor(parse_time(when), int(cases), int(events), value)
    except ValueError:
        raise DigestError(f"{text!r} is not a whole escalate digest; copy it exactly as "
                          "`escalate verify --digest` printed it") from None
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise DigestError(f"{text!r} ends in {value!r}, not 64 hex digits")
    return anchor


def _head(rows: list[RawRow], as_of: datetime) -> tuple[int, str] | None:
    """(events at or before `as_of`, hash of the last of them) from raw event rows."""
    count, head = 0, ""
    for row in rows:
        when, value = _time_and_hash(row)
        if when is None or when <= as_of:  # a row whose time cannot be read is anchored
            count += 1
            head = value
    return (count, head) if count else None


def _time_and_hash(row: RawRow) -> tuple[datetime | None, str]:
    """The event's time and hash from its body; for a damaged body, the column and raw text."""
    body = row.columns.get("body")
    try:
        data = json.loads(body)  # type: ignore[arg-type]
        return parse_time(data["at"]), str(data["hash"])
    except Exception:  # a damaged row is anchored by its raw text
        raw = hashlib.sha256(str(body).encode("utf-8", "replace")).hexdigest()
        at = row.columns.get("at")
        if isinstance(at, datetime):
            return at, raw
        try:
            return parse_time(str(at)), raw
        except ValueError:
            return None, raw


def digest(store: Store, as_of: datetime) -> Anchor:
    """The digest of the store's chains as of `as_of` (an aware datetime)."""
    moment = parse_time(format_time(as_of))
    lines = hashlib.sha256()
    cases = events = 0
    for case_id in sorted(store.inspect_case_ids()):
        head = _head(store.inspect_events(case_id), moment)
        if head is None:
            continue
        cases += 1
        events += head[0]
        lines.update(json.dumps([case_id, head[0], head[1]]).encode("utf-8", "replace"))
        lines.update(b"\n")
    return Anchor(moment, cases, events, lines.hexdigest())


def compare(store: Store, expected: Anchor) -> list[Problem]:
    """No problem when the store still holds what `expected` anchored; else one saying how."""
    now = digest(store, expected.as_of)
    if now == expected:
        return []
    detail = []
    if now.cases != expected.cases:
        detail.append(f"{now.cases} cases instead of {expected.cases}")
    if now.events != expected.events:
        detail.append(f"{now.events} events instead of {expected.events}")
    said = "; ".join(detail) or "the same counts but other event hashes"
    return [Problem(STORE, "anchor", f"the store does not match the digest taken as of "
                    f"{format_time(expected.as_of)}: it holds {said} up to that moment; cases or "
                    "events were removed, altered or rolled back")]
