"""The error contract: every mistake a user can make raises a typed, helpful error and
changes nothing, on both built-in stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from escalate import (
    CaseExists,
    CaseNotFound,
    ConfigError,
    ConflictError,
    Desk,
    EscalateError,
    InvalidInput,
    InvalidTransition,
    ManualClock,
    NotAuthorized,
    Policy,
    Queue,
    StorageError,
    hookimpl,
)
from escalate.testing import timed_policy

# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def tdesk(store_url: str) -> Iterator[Desk]:
    """A desk with SLA targets and tier limits, so that cases carry timers and notifications."""
    with Desk(timed_policy(), store=store_url, clock=ManualClock(),
              autoload_plugins=False) as desk:
        yield desk


def snapshot(desk: Desk) -> tuple[Any, ...]:
    """Everything a refused call must leave alone: cases, trails, timers, outbox."""
    cases = list(desk.cases())
    per_case = [(desk.get(c.id), desk.history(c.id), desk.store.timers(c.id)) for c in cases]
    return (cases, per_case, desk.outbox(), list(desk.events()), list(desk.store.case_ids()),
            desk.store.next_due_at())


def refused(desk: Desk, error: type[Exception], call: Callable[[], object],
            *fragments: str) -> Exception:
    """Run `call`, expect `error` whose message holds every fragment, and nothing changed."""
    before = snapshot(desk)
    assert before[0], "the scenario needs at least one case to protect"
    with pytest.raises(error) as info:
        call()
    assert snapshot(desk) == before, f"a refused call changed something: {info.value}"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


def new_case(desk: Desk, **kwargs: Any) -> str:
    options: dict[str, Any] = {"title": "Invoice is wrong", "customer": "c-17",
                               "channel": "phone", "priority": "normal", "by": "ana"}
    options.update(kwargs)
    return desk.open(**options).id


def case_in(desk: Desk, status: str) -> str:
    """A case brought to `status` by legitimate actions of ana."""
    case_id = new_case(desk)
    if status == "open":
        return case_id
    desk.claim(case_id, by="ana")
    if status == "waiting":
        desk.wait(case_id, by="ana", reason="asked for account number")
    elif status in ("resolved", "closed"):
        desk.resolve(case_id, by="ana", resolution="credit note issued")
        if status == "closed":
            desk.close(case_id, by="ana")
    assert desk.get(case_id).status == status
    return case_id


#: Every user action, called by `actor` on `case_id` with reasonable arguments.
def call_action(desk: Desk, action: str, case_id: str, actor: str) -> Callable[[], object]:
    calls: dict[str, Callable[[], object]] = {
        "claim": lambda: desk.claim(case_id, by=actor),
        "respond": lambda: desk.respond(case_id, by=actor, message="on it"),
        "transfer": lambda: desk.transfer(case_id, to="bo", by=actor, note="please take over"),
        "escalate": lambda: desk.escalate(case_id, by=actor, reason="needs specialist"),
        "assign": lambda: desk.assign(case_id, to="bo", by=actor),
        "wait": lambda: desk.wait(case_id, by=actor, reason="asked customer"),
        "resume": lambda: desk.resume(case_id, by=actor),
        "resolve": lambda: desk.resolve(case_id, by=actor, resolution="fixed"),
        "reopen": lambda: desk.reopen(case_id, by=actor),
        "close": lambda: desk.close(case_id, by=actor),
        "note": lambda: desk.note(case_id, "a note", by=actor),
        "rate": lambda: desk.rate(case_id, score=4, by=actor),
    }
    return calls[action]


USER_ACTIONS = ("claim", "respond", "transfer", "escalate", "assign", "wait", "resume",
                "resolve", "reopen", "close", "note", "rate")

#: What the lifecycle allows a user to do in each status (DESIGN.md "Lifecycle").
ALLOWED = {
    "open": {"claim", "respond", "transfer", "escalate", "assign", "resolve", "note"},
    "active": {"respond", "transfer", "escalate", "assign", "wait", "resolve", "note"},
    "waiting": {"transfer", "escalate", "assign", "resume", "resolve", "note"},
    "resolved": {"reopen", "close", "note", "rate"},
    "closed": {"rate"},
}

# -- the tree ------------------------------------------------------------------------------


def test_error_tree() -> None:
    for error in (InvalidTransition, InvalidInput, NotAuthorized, CaseNotFound, ConflictError,
                  ConfigError, StorageError):
        assert issubclass(error, EscalateError)
        assert issubclass(error, Exception)
    assert issubclass(InvalidInput, InvalidTransition)
    assert issubclass(InvalidInput, ValueError)
    assert issubclass(CaseNotFound, KeyError)
    assert issubclass(ConfigError, ValueError)
    assert not issubclass(InvalidTransition, ValueError)
    assert not issubclass(NotAuthorized, InvalidTransition)
    assert not issubclass(ConflictError, InvalidTransition)
    error = InvalidInput("bad")
    assert isinstance(error, InvalidTransition) and isinstance(error, ValueError)
    missing = CaseNotFound("C-9")
    assert isinstance(missing, KeyError) and missing.case_id == "C-9"
    # str() of a KeyError normally shows the repr; CaseNotFound reads like a sentence.
    assert str(missing).startswith("no case with id 'C-9'")
    config = ConfigError("ladders.support.tiers[0].name", "missing")
    assert isinstance(config, ValueError)
    assert str(config) == "ladders.support.tiers[0].name: missing"
    assert config.path == "ladders.support.tiers[0].name"
    conflict = ConflictError("C-1", 3)
    assert conflict.expected_version == 3 and "try the action again" in str(conflict)


def test_a_user_error_is_catchable_as_escalate_error(tdesk: Desk) -> None:
    with pytest.raises(EscalateError):
        tdesk.get("C-404")
    with pytest.raises(KeyError):
        tdesk.get("C-404")


# -- unknown case ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", USER_ACTIONS)
def test_unknown_case_for_every_action(tdesk: Desk, action: str) -> None:
    new_case(tdesk)
    error = refused(tdesk, CaseNotFound, call_action(tdesk, action, "C-404", "root"),
                    "'C-404'", "desk.cases()")
    assert isinstance(error, CaseNotFound) and error.case_id == "C-404"


def test_unknown_case_for_get_history_and_explain(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, CaseNotFound, lambda: tdesk.get("C-404"), "C-404")
    refused(tdesk, CaseNotFound, lambda: tdesk.history("C-404"), "C-404", "escalate list")
    refused(tdesk, CaseNotFound, lambda: tdesk.explain("C-404"), "C-404")


@pytest.mark.parametrize("bad_id", ["", None, 17])
def test_malformed_case_id_is_not_found(tdesk: Desk, bad_id: Any) -> None:
    new_case(tdesk)
    refused(tdesk, CaseNotFound, lambda: tdesk.claim(bad_id, by="ana"))
    refused(tdesk, CaseNotFound, lambda: tdesk.history(bad_id))


# -- the lifecycle ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(ALLOWED))
def test_every_disallowed_action_in_every_status(tdesk: Desk, status: str) -> None:
    case_id = case_in(tdesk, status)
    # root is an administrator, so authorization never stands in the way: only the lifecycle.
    for action in USER_ACTIONS:
        if action in ALLOWED[status]:
            continue
        error = refused(tdesk, InvalidTransition, call_action(tdesk, action, case_id, "root"),
                        f"cannot {action}", f"is {status}", "allowed now:")
        assert type(error) is InvalidTransition
        assert isinstance(error, InvalidTransition)
        assert (error.case_id, error.action, error.status) == (case_id, action, status)
        listed = str(error).split("allowed now:")[1]
        for allowed in ALLOWED[status]:
            assert allowed in listed, f"{allowed} missing from {str(error)!r}"
        for other in set(USER_ACTIONS) - ALLOWED[status]:
            assert other not in listed.replace(",", " ").split(), (other, str(error))
        if not ALLOWED[status]:
            assert "nothing" in listed


# -- authorization -----------------------------------------------------------------------------


def test_stranger_may_not_claim(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "open")
    error = refused(tdesk, NotAuthorized, lambda: tdesk.claim(case_id, by="zed"),
                    "'zed' may not claim", "frontline", "ana, bo")
    assert isinstance(error, NotAuthorized)
    assert (error.actor, error.action, error.case_id) == ("zed", "claim", case_id)


def test_colleague_may_not_claim_a_case_an_agent_owns(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "active")
    refused(tdesk, NotAuthorized, lambda: tdesk.claim(case_id, by="bo"),
            "owned by ana", "transfer", "assign")


def test_agent_of_another_tier_may_not_claim(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "open")
    refused(tdesk, NotAuthorized, lambda: tdesk.claim(case_id, by="cy"), "'cy' may not claim")


def test_only_the_tier_lead_assigns(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "open")
    # frontline has no lead: no member may assign
    refused(tdesk, NotAuthorized, lambda: tdesk.assign(case_id, to="bo", by="ana"),
            "only the lead of tier 'frontline'", "(no lead defined)")
    tdesk.escalate(case_id, by="ana", reason="needs specialist")
    # specialists are led by cy: dan, a member, may not assign
    refused(tdesk, NotAuthorized, lambda: tdesk.assign(case_id, to="dan", by="dan"),
            "only the lead of tier 'specialists' (cy)")
    assert tdesk.assign(case_id, to="dan", by="cy").owner.name == "dan"


@pytest.mark.parametrize("action", ["respond", "transfer", "escalate", "wait", "resolve"])
def test_stranger_may_not_work_an_active_case(tdesk: Desk, action: str) -> None:
    case_id = case_in(tdesk, "active")
    refused(tdesk, NotAuthorized, call_action(tdesk, action, case_id, "zed"),
            f"'zed' may not {action}", "owned by ana", "frontline")


@pytest.mark.parametrize(("status", "action"), [("waiting", "resume"), ("resolved", "close"),
                                                ("resolved", "reopen")])
def test_stranger_may_not_move_a_case_on(tdesk: Desk, status: str, action: str) -> None:
    case_id = case_in(tdesk, status)
    refused(tdesk, NotAuthorized, call_action(tdesk, action, case_id, "zed"),
            f"'zed' may not {action}")


def test_only_an_administrator_or_the_tier_lead_removes_an_agent(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "active")
    specialist = case_in(tdesk, "open")
    tdesk.escalate(specialist, by="ana", reason="needs specialist")
    tdesk.claim(specialist, by="dan")
    for stranger in ("bo", "zed", "cy"):  # cy leads specialists, not frontline
        error = refused(tdesk, NotAuthorized,
                        lambda who=stranger: tdesk.remove_agent("ana", by=who),
                        f"{stranger!r} may not remove ana", "administrator", "frontline")
        assert isinstance(error, NotAuthorized)
        assert (error.actor, error.action, error.case_id) == (stranger, "return", case_id)
    refused(tdesk, NotAuthorized, lambda: tdesk.remove_agent("dan", by="bo"),
            "lead of tier 'specialists' (cy)")
    assert [e.case_id for e in tdesk.remove_agent("dan", by="dan")] == [specialist]  # own cases
    assert [e.actor for e in tdesk.remove_agent("ana", by="root")] == ["root"]


@pytest.mark.parametrize("by", [None, "", " root"])
def test_remove_agent_needs_an_actor(tdesk: Desk, by: Any) -> None:
    case_in(tdesk, "active")
    error = refused(tdesk, EscalateError, lambda: tdesk.remove_agent("ana", by=by), "by")
    assert isinstance(error, NotAuthorized if by is None else InvalidInput)


def test_remove_agent_returns_all_cases_or_none(store_url: str) -> None:
    class RefuseSecond:
        @hookimpl
        def escalate_authorize(self, case: Any, action: Any, actor: Any) -> bool | None:
            refuse = case is not None and case.id == "C-2" and action.value == "return"
            return False if refuse else None

    with Desk(timed_policy(), store=store_url, clock=ManualClock(), autoload_plugins=False,
              plugins=[RefuseSecond()]) as desk:
        first, second = case_in(desk, "active"), case_in(desk, "waiting")
        assert second == "C-2"
        refused(desk, NotAuthorized, lambda: desk.remove_agent("ana", by="root"),
                "'root' may not return case 'C-2'")
        assert desk.get(first).owner.name == "ana"


@pytest.mark.parametrize("by", [None, "", "   ", " ana", 7])
def test_actor_must_be_a_name(tdesk: Desk, by: Any) -> None:
    case_id = case_in(tdesk, "open")
    refused(tdesk, InvalidInput, lambda: tdesk.claim(case_id, by=by), "by")


# -- arguments of actions ------------------------------------------------------------------------


@pytest.mark.parametrize("note", ["", "   ", "\n\t", None])
def test_transfer_needs_a_handoff_note(tdesk: Desk, note: Any) -> None:
    case_id = case_in(tdesk, "active")
    refused(tdesk, InvalidInput, lambda: tdesk.transfer(case_id, to="bo", by="ana", note=note),
            "handoff note", "note=")


def test_transfer_beyond_max_transfers_says_to_escalate(tdesk: Desk) -> None:
    assert tdesk.policy.max_transfers == 2
    case_id = case_in(tdesk, "active")
    tdesk.transfer(case_id, to="bo", by="ana", note="over to bo")
    tdesk.transfer(case_id, to="ana", by="bo", note="back to ana")
    error = refused(tdesk, InvalidTransition,
                    lambda: tdesk.transfer(case_id, to="bo", by="ana", note="again"),
                    "transferred 2 times", "allows 2", "max_transfers", "escalate",
                    f"desk.escalate({case_id!r}")
    assert not isinstance(error, InvalidInput)
    assert error.action == "transfer"  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["cy", "zed", Queue("specialists"), Queue("nowhere")])
def test_transfer_only_goes_sideways(tdesk: Desk, target: Any) -> None:
    case_id = case_in(tdesk, "active")
    refused(tdesk, InvalidInput,
            lambda: tdesk.transfer(case_id, to=target, by="ana", note="please"),
            "cannot transfer", "same level", "to move up, escalate")


def test_transfer_to_the_current_owner_is_refused(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "active")
    refused(tdesk, InvalidInput, lambda: tdesk.transfer(case_id, to="ana", by="ana", note="x"),
            "already owned by ana")


def test_escalate_at_the_top_tier(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "open")
    tdesk.escalate(case_id, by="ana")
    tdesk.escalate(case_id, by="cy")
    assert tdesk.get(case_id).tier == "management"
    error = refused(tdesk, InvalidTransition, lambda: tdesk.escalate(case_id, by="dee"),
                    "already at the top tier 'management'", "assign")
    assert error.action == "escalate"  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["ana", "zed"])
def test_assign_to_a_non_member(tdesk: Desk, target: str) -> None:
    case_id = case_in(tdesk, "open")
    tdesk.escalate(case_id, by="ana")
    refused(tdesk, InvalidInput, lambda: tdesk.assign(case_id, to=target, by="cy"),
            f"cannot assign case {case_id!r} to {target!r}", "not a member of tier "
            "'specialists'", "cy, dan")


def test_assign_to_the_current_owner(tdesk: Desk) -> None:
    case_id = case_in(tdesk, "open")
    tdesk.escalate(case_id, by="ana")
    tdesk.assign(case_id, to="dan", by="cy")
    refused(tdesk, InvalidInput, lambda: tdesk.assign(case_id, to="dan", by="cy"),
            "already owned by dan")


def test_unknown_priority_on_open(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, priority="critical"),
            "unknown priority 'critical'", "normal", "urgent")


@pytest.mark.parametrize("field", ["title", "customer", "channel", "priority"])
@pytest.mark.parametrize("value", ["", "  ", None, 12])
def test_required_text_on_open(tdesk: Desk, field: str, value: Any) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, **{field: value}), field)


def test_empty_title_says_so(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, title="   "), "title must not be empty")


def test_overlong_text_is_refused(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, title="x" * 100_001),
            "title is 100001 characters long", "100000")


LONE = "half a pair: \ud800"


@pytest.mark.parametrize("where", ["title", "customer", "category", "fields-key",
                                   "fields-value", "transfer-note", "note", "resolution",
                                   "wait-reason", "respond-message"])
def test_invalid_unicode_is_refused_everywhere(tdesk: Desk, where: str) -> None:
    case_id = case_in(tdesk, "active")
    calls: dict[str, Callable[[], object]] = {
        "title": lambda: new_case(tdesk, title=LONE),
        "customer": lambda: new_case(tdesk, customer=LONE),
        "category": lambda: new_case(tdesk, category=LONE),
        "fields-key": lambda: new_case(tdesk, fields={LONE: 1}),
        "fields-value": lambda: new_case(tdesk, fields={"k": LONE}),
        "transfer-note": lambda: tdesk.transfer(case_id, to="bo", by="ana", note=LONE),
        "note": lambda: tdesk.note(case_id, LONE, by="ana"),
        "resolution": lambda: tdesk.resolve(case_id, by="ana", resolution=LONE),
        "wait-reason": lambda: tdesk.wait(case_id, by="ana", reason=LONE),
        "respond-message": lambda: tdesk.respond(case_id, by="ana", message=LONE),
    }
    error = refused(tdesk, InvalidInput, calls[where])
    message = str(error)
    assert "Unicode" in message or "JSON" in message


@pytest.mark.parametrize("fields", [{"when": object()}, {"tags": {"a", "b"}},
                                    {1: "numeric key"}, "not a mapping", ["a", "b"]])
def test_custom_fields_must_be_json(tdesk: Desk, fields: Any) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, fields=fields), "field")


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_custom_fields_refuse_non_json_numbers(tdesk: Desk, number: float) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: new_case(tdesk, fields={"score": number}), "JSON")


def test_open_with_an_existing_case_id(tdesk: Desk) -> None:
    case_id = new_case(tdesk)
    refused(tdesk, CaseExists, lambda: new_case(tdesk, case_id=case_id),
            f"a case with id {case_id!r} already exists", "case_id")


@pytest.mark.parametrize("limit", [-1, 1.5, True, "3"])
def test_bad_limit_filter(tdesk: Desk, limit: Any) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: tdesk.cases(limit=limit), "limit")


def test_bad_status_filter(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: tdesk.cases(status="pending"),
            "unknown status 'pending'", "active", "waiting")
    refused(tdesk, InvalidInput, lambda: tdesk.cases(owner=""), "owner")


def test_unknown_outbox_status_and_notification_key(tdesk: Desk) -> None:
    new_case(tdesk)
    refused(tdesk, InvalidInput, lambda: tdesk.outbox(status="lost"), "pending, delivered")
    refused(tdesk, InvalidInput, lambda: tdesk.retry_notification("no-such-key"),
            "no dead-lettered notification", "desk.outbox(status='dead')")


# -- configuration of the desk --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["cases.db", "sqlite:relative.db", "sqlite://host/db", "", 42])
def test_bad_store_url(url: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Desk(timed_policy(), store=url, autoload_plugins=False)
    assert info.value.path == "store"
    assert "sqlite:///" in str(info.value)


def test_unknown_store_scheme() -> None:
    with pytest.raises(ConfigError) as info:
        Desk(timed_policy(), store="redis://localhost/0", autoload_plugins=False)
    assert info.value.path == "store"
    message = str(info.value)
    assert "'redis'" in message and "memory://" in message and "plugin" in message


def test_desk_needs_a_policy() -> None:
    with pytest.raises(ConfigError, match=r"Policy\.from_toml"):
        Desk({"ladders": {}}, store="memory://")  # type: ignore[arg-type]


def test_unopenable_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open SQLite database"):
        Desk(timed_policy(), store=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'cases.db'}",
             autoload_plugins=False)


# -- optimistic concurrency -----------------------------------------------------------------------


class _Interleave:
    """In desk B, lets desk A act once right after B loaded the case (a lost race for B)."""

    def __init__(self, other: Desk, case_id: str) -> None:
        self.other, self.case_id = other, case_id
        self.done: list[Any] = []

    @hookimpl
    def escalate_authorize(self, policy: Policy, case: Any, action: Any,
                           actor: str | None) -> bool | None:
        if case is not None and not self.done:
            self.done.append(self.other.claim(self.case_id, by="ana"))
        return None


def _two_desks(tmp_path: Path, retries: int) -> tuple[Desk, Desk, _Interleave, str]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    clock = ManualClock()
    desk_a = Desk(timed_policy(), store=url, clock=clock, autoload_plugins=False)
    case_id = desk_a.open(title="t", customer="c", channel="web", by="bo").id
    race = _Interleave(desk_a, case_id)
    desk_b = Desk(timed_policy(), store=url, clock=clock, autoload_plugins=False,
                  plugins=[race], conflict_retries=retries)
    return desk_a, desk_b, race, case_id


def test_stale_write_loses_with_conflict_error(tmp_path: Path) -> None:
    desk_a, desk_b, race, case_id = _two_desks(tmp_path, retries=0)
    with desk_a, desk_b:
        with pytest.raises(ConflictError) as info:
            desk_b.escalate(case_id, by="bo", reason="needs specialist")
        assert info.value.case_id == case_id and info.value.expected_version == 1
        assert "desk.get()" in str(info.value)
        (winner,) = race.done
        for desk in (desk_a, desk_b):
            assert desk.get(case_id) == winner
            assert [e.kind.value for e in desk.history(case_id)] == ["opened", "claimed"]
            assert desk.store.timers(case_id) == desk_a.store.timers(case_id)
            assert {n.seq for n in desk.outbox(case_id=case_id)} <= {1, 2}
        assert winner.tier == "frontline" and winner.escalations == 0


def test_with_retries_the_second_action_lands_on_top(tmp_path: Path) -> None:
    desk_a, desk_b, race, case_id = _two_desks(tmp_path, retries=3)
    with desk_a, desk_b:
        after = desk_b.escalate(case_id, by="bo", reason="needs specialist")
        assert race.done, "the race did not happen"
        assert after.version == 3
        history = desk_a.history(case_id)
        assert [e.kind.value for e in history] == ["opened", "claimed", "escalated"]
        escalated = history[-1]
        assert escalated.owner_before is not None and escalated.owner_before.name == "ana"
        assert escalated.status_before == "active"
        stored = desk_a.get(case_id)
        assert stored == after
        assert (stored.tier, stored.escalations, stored.contact) == ("specialists", 1, "bo")
