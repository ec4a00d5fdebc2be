"""Outbox keys are unambiguous, old keys still read, and a real key clash is refused loudly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Desk, ManualClock, Policy, StorageError, notify
from escalate.notify import outbox_key
from escalate.testing import standard_policy

parts = st.text(alphabet=st.sampled_from("ab:%3A5C"), max_size=6)


@given(parts, st.integers(1, 30), parts, parts, parts, st.integers(1, 30), parts, parts)
def test_different_messages_never_share_a_key(case_a: str, seq_a: int, to_a: str, on_a: str,
                                              case_b: str, seq_b: int, to_b: str,
                                              on_b: str) -> None:
    a, b = (case_a, seq_a, to_a, on_a), (case_b, seq_b, to_b, on_b)
    assert (outbox_key(*a) == outbox_key(*b)) == (a == b)


@given(st.text(alphabet=st.characters(exclude_characters=":%"), max_size=8),
       st.integers(1, 99), st.text(alphabet=st.characters(exclude_characters=":%"), max_size=8))
def test_a_key_without_separators_reads_as_before(case_id: str, seq: int, recipient: str) -> None:
    assert outbox_key(case_id, seq, recipient, "log") == f"{case_id}:{seq}:{recipient}:log"


def loud_policy() -> Policy:
    """The standard policy, telling customers on the agents' channel ("log")."""
    data: dict[str, Any] = standard_policy().to_dict()
    data["notifications"] = {**data.get("notifications", {}), "notify_customer": True,
                             "customer_channel": "log"}
    return Policy.from_dict(data)


def open_both(desk: Desk) -> None:
    """Case "T" for customer "1:bo", then case "T:1": joined with ":" both give "T:1:1:bo:log"."""
    desk.open(title="first", customer="1:bo", channel="phone", case_id="T")
    desk.open(title="second", customer="c-2", channel="phone", case_id="T:1")


def test_the_colliding_cases_keep_every_row(url: str) -> None:
    with Desk(loud_policy(), store=url, clock=ManualClock(),
              autoload_plugins=False) as desk:
        open_both(desk)
        first = {(n.recipient, n.channel) for n in desk.outbox(case_id="T")}
        second = {(n.recipient, n.channel) for n in desk.outbox(case_id="T:1")}
        assert ("1:bo", "log") in first, "case T tells its customer"
        assert ("bo", "log") in second, "case T:1 tells bo"
        keys = [n.key for n in desk.outbox()]
        assert len(keys) == len(set(keys)) == len(first) + len(second)
        assert "T:1:1%3Abo:log" in keys and "T%3A1:1:bo:log" in keys


def test_a_clash_fails_the_action_and_writes_nothing(url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def joined(case_id: str, seq: int, recipient: str, channel: str) -> str:
        return f"{case_id}:{seq}:{recipient}:{channel}"  # the ambiguous form

    monkeypatch.setattr(notify, "outbox_key", joined)
    with Desk(loud_policy(), store=url, clock=ManualClock(),
              autoload_plugins=False) as desk:
        desk.open(title="first", customer="1:bo", channel="phone", case_id="T")
        before = desk.outbox()
        with pytest.raises(StorageError, match="T:1:1:bo:log"):
            desk.open(title="second", customer="c-2", channel="phone", case_id="T:1")
        assert desk.outbox() == before, "the first case's row is untouched"
        assert [case.id for case in desk.cases()] == ["T"], "the second case was not opened"
