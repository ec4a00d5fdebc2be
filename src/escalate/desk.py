"""The Desk: the one object applications talk to. Every action is one method, one event."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import pluggy

from . import assignment, inputs, lifecycle, notify, outbox, paging, timing, updating
from .authz import default_decision, explain_refusal
from .chain import seal
from .clock import Clock, SystemClock, checked_time
from .codec import clock_to_dict
from .durations import format_duration
from .errors import (
    CaseExists,
    CaseNotFound,
    ConfigError,
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotAuthorized,
)
from .explain import CaseExplanation, explain_case
from .fold import apply
from .migration import CasePlan, checked_tier_map, plan_case
from .model import (
    EVENT_OF_ACTION,
    Action,
    Agent,
    Case,
    ClockState,
    Event,
    EventKind,
    Owner,
    Queue,
    Status,
)
from .plugins import make_plugin_manager, open_store
from .policy import Policy, Route, Tier
from .report import Report, build_report
from .shares import ClockShare, clock_shares
from .stores.base import (
    KEEP,
    AvailabilityChange,
    CaseQuery,
    Change,
    Keep,
    Notification,
    Store,
    Timer,
)
from .stranded import log_kept, stranded_help
from .verify import DigestError, Problem, parse_digest, verify_store
from .verify import digest as store_digest

__all__ = ["Desk"]

log = logging.getLogger("escalate.desk")


@attrs.frozen
class _Step:
    """What an action decides beyond the status: the new owner, tier, reason and data."""

    owner: Owner
    tier: str
    reason: str | None = None
    data: dict[str, Any] = attrs.field(factory=dict)


class Desk:
    """Opens cases, moves them through their lifecycle and keeps the trail, on one store.

    One Desk may be shared by any number of threads: it keeps no per-call state, every
    action re-reads the case and commits through the store's atomic `commit`, and the built-in
    stores serialise their own connection use. See docs/howto/webapp.md.
    """

    def __init__(self, policy: Policy, store: str | Store = "sqlite:///cases.db",
                 clock: Clock | None = None, *, plugins: Iterable[object] = (),
                 autoload_plugins: bool | None = None, conflict_retries: int = 3) -> None:
        """A desk applying `policy` to the cases in `store`.

        Args:
            policy: the escalation policy (`Policy.from_toml(path)` or `Policy.from_dict`).
            store: a store URL (`sqlite:///cases.db`, `memory://`, `postgresql://...`) or a
                `Store` instance.
            clock: where time comes from; the system clock by default, a `ManualClock` in
                tests and simulations.
            plugins: extra plugin objects (notifiers, authorization, routing, stores).
            autoload_plugins: load plugins registered under the `escalate` entry-point group;
                None reads the `ESCALATE_AUTOLOAD_PLUGINS` setting.
            conflict_retries: how often an action without `expected_version` is retried when
                another writer changed the case first, after a random pause that doubles
                with each retry (5 ms, 10 ms, ... at most 100 ms).

        Raises:
            ConfigError: the policy is not a Policy, or no installed store serves the URL.
            StorageError: the store cannot be opened.
        """
        if not isinstance(policy, Policy):
            raise ConfigError("policy", f"expected a Policy, got {type(policy).__name__}; load "
                                        "one with Policy.from_toml(path) or Policy.from_dict(...)")
        self.policy = policy
        self.clock: Clock = clock or SystemClock()
        self.plugins: pluggy.PluginManager = make_plugin_manager(plugins, autoload=autoload_plugins)
        self.store: Store = store if isinstance(store, Store) else self._open_store(store)
        self.conflict_retries = conflict_retries
        self._rng = random.Random()
        self._known_tiers = _tier_names(policy)

    def _open_store(self, url: str) -> Store:
        return open_store(self.plugins, url)

    # -- context management ------------------------------------------------------------

    def shutdown(self) -> None:
        """Close the store; the desk cannot be used afterwards."""
        self.store.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"Desk(store={self.store.url!r}, policy={self.policy.version})"

    # -- reading -----------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        """The case as it stands now; CaseNotFound if there is none."""
        case = self.store.get(self._case_id(case_id))
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def history(self, case_id: str) -> list[Event]:
        """Every event of the case, oldest first; CaseNotFound if there is none."""
        events = self.store.events(self._case_id(case_id))
        if not events:
            raise CaseNotFound(case_id)
        return events

    def cases(self, *, status: str | Status | Iterable[str | Status] | None = None,
              owner: str | Owner | None = None, tier: str | None = None,
              priority: str | None = None, channel: str | None = None,
              ladder: str | None = None, customer: str | None = None,
              after: str | None = None, limit: int | None = None) -> Iterator[Case]:
        """Cases matching every given filter, oldest first, as an iterator.

        The store is read in pages, so listing a large store does not load it at once.
        `after` is a cursor: the id of the last case of the previous page (the case must
        exist); `limit` caps how many cases come back. A page of a web API is
        `list(desk.cases(..., after=cursor, limit=50))`, its next cursor the last id.
        """
        query = CaseQuery(
            status=None if status is None else inputs.statuses(status),
            owner=None if owner is None else inputs.owner_ref(owner),
            tier=inputs.filter_text(tier, "tier"),
            priority=inputs.filter_text(priority, "priority"),
            channel=inputs.filter_text(channel, "channel"),
            ladder=inputs.filter_text(ladder, "ladder"),
            customer=inputs.filter_text(customer, "customer"),
            limit=inputs.limit(limit),
            after=None if after is None else self._cursor(after),
        )
        return paging.pages(self.store, query)

    def _cursor(self, after: object) -> str:
        after = inputs.filter_text(after, "after")
        if not after or self.store.get(after) is None:
            raise InvalidInput(f"after={after!r} is not the id of a stored case; pass the id "
                               "of the last case of the previous page")
        return after

    def report(self, since: datetime | None = None, until: datetime | None = None,
               trend: str = "week") -> Report:
        """Per-agent, per-tier, per-channel and per-priority figures and trends, from the trail.

        Activity is counted for events with since <= at < until; see docs/reports.md.
        """
        since, until = _aware(since, "since"), _aware(until, "until")
        return build_report(self.events(until=until), policy=self.policy, since=since,
                            until=until, trend=trend)

    def explain(self, case_id: str) -> CaseExplanation:
        """How each due time was computed, which route and SLA target apply, who used each clock.

        A list of per-clock explanations (target, calendar windows, pauses, and `share`: the
        business time each tier and agent held the case while the clock ran) with `route`.
        """
        case = self.get(case_id)
        return explain_case(self.policy, case, self.store.events(case.id), self.clock.now())

    def clock_shares(self, case_id: str, now: datetime | None = None) -> list[ClockShare]:
        """Per clock of the case, the business time each tier and agent held it (see shares)."""
        case = self.get(case_id)
        return clock_shares(self.policy, self.store.events(case.id),
                            _aware(now, "now") or self.clock.now())

    def on_call(self, tier: str, at: datetime | None = None) -> list[str]:
        """Who is on call for `tier` at `at` (default: now), by the tier's schedule.

        A tier without a schedule has every member and its lead on call. An empty list
        means the schedule covers nobody then; notifications then go to the tier lead,
        else to every member.
        """
        moment = _aware(at, "at") or self.clock.now()
        name = inputs.text(tier, "tier")
        if name not in self._known_tiers:
            raise InvalidInput(f"unknown tier {tier!r}; the policy defines "
                               f"{', '.join(sorted(self._known_tiers))}")
        return self.policy.on_call(name, moment)

    def verify(self, *, overdue_after: timedelta | None = timedelta(minutes=5),
               expect: str | None = None) -> list[Problem]:
        """Check every stored case's invariants; an empty list means all hold.

        With `overdue_after`, a timer left that long past its due time is a problem too.
        With `expect` (a digest from `desk.digest()`), a store that no longer holds what
        the digest anchored is a problem too; a text that is not a digest raises InvalidInput.
        A damaged row is reported as a problem, never raised.
        An unclosed case in a tier this desk's policy lacks is reported ("orphaned"): its
        timers are kept unfired until it is moved, and the problem says how.
        """
        anchor = None
        if expect is not None:
            try:
                anchor = parse_digest(expect)
            except DigestError as exc:
                raise InvalidInput(str(exc)) from None
        now = None if overdue_after is None else self.clock.now()
        return list(verify_store(self.store, now=now, grace=overdue_after or timedelta(0),
                                 tiers=self._known_tiers, policy=self.policy, expect=anchor))

    def digest(self, as_of: datetime | None = None) -> str:
        """A digest of every case's chain as of `as_of` (default: now), to keep elsewhere.

        Pass it back later as `verify(expect=...)`: events recorded after `as_of` do not
        change it; a case or event at or before `as_of` removed, altered or rolled back does.
        """
        return str(store_digest(self.store, _aware(as_of, "as_of") or self.clock.now()))

    def events(self, since: datetime | None = None,
               until: datetime | None = None) -> Iterator[Event]:
        """Every event of every case with since <= at < until, in time order."""
        return self.store.all_events(_aware(since, "since"), _aware(until, "until"))

    # -- actions -----------------------------------------------------------------------

    def open(self, *, title: str, customer: str, channel: str = "web",
             priority: str = "normal", by: str | None = None, category: str | None = None,
             fields: dict[str, Any] | None = None, case_id: str | None = None) -> Case:
        """Open a case; it is owned by the first tier's queue of the ladder it routes to.

        `case_id` lets the caller choose the id (for example a ticket number of another
        system); a second open with the same id raises CaseExists and changes nothing.
        """
        title = _required(inputs.text(title, "title"))
        customer = _required(inputs.text(customer, "customer"))
        channel = _required(inputs.text(channel, "channel"))
        priority = _required(inputs.text(priority, "priority"))
        category = inputs.text(category, "category", required=False)
        actor = None if by is None else inputs.actor_name(by)
        custom = inputs.custom_fields(fields)
        if case_id is not None:
            case_id = _required(inputs.text(case_id, "case_id"))
            if self.store.get(case_id) is not None:
                raise CaseExists(case_id)
        route = self._route({**custom, "priority": priority, "channel": channel,
                             "category": category, "customer": customer, "title": title})
        sla_name = updating.sla_for(self.policy, route, priority)
        self._authorize(None, Action.OPEN, actor)
        status = lifecycle.next_status(None, Action.OPEN)
        ladder = self.policy.ladders[route.ladder]
        first = ladder.first
        new_id = case_id or self.store.allocate_id()
        event = Event(
            case_id=new_id, seq=1, at=self.clock.now(), kind=EVENT_OF_ACTION[Action.OPEN],
            actor=actor, owner_before=None, owner_after=Queue(first.name), status_before=None,
            status_after=status, tier_before=None, tier_after=first.name,
            data={"title": title, "customer": customer, "channel": channel,
                  "priority": priority, "category": category, "ladder": ladder.name,
                  "contact": actor, "fields": custom, "policy_version": self.policy.version,
                  "sla": sla_name, "route": updating.route_index(self.policy, route)},
        )
        try:
            return self._commit(None, event)
        except ConflictError:
            raise CaseExists(new_id) from None  # another writer opened the same id first

    def claim(self, case_id: str, *, by: str,
              expected_version: int | None = None) -> Case:
        """Take a case from the queue (or start work on one given to you)."""
        return self._act(case_id, Action.CLAIM, by, _take_over,
                         expected_version=expected_version)

    def respond(self, case_id: str, *, by: str, message: str | None = None,
                expected_version: int | None = None) -> Case:
        """Record a response to the customer; from a queue, the responder takes the case."""
        text = inputs.text(message, "message", required=False)
        return self._act(case_id, Action.RESPOND, by,
                         lambda case, actor: _keep_or_take(case, actor, text),
                         expected_version=expected_version)

    def transfer(self, case_id: str, *, to: str | Owner, by: str, note: str,
                 expected_version: int | None = None) -> Case:
        """Pass the case sideways to a colleague or same-level queue, with a handoff note."""
        if note is None or (isinstance(note, str) and not note.strip()):
            raise InvalidInput("a transfer needs a handoff note so the customer never has to "
                               "explain the problem again: transfer(..., note='what was done "
                               "and what is needed')")
        handoff = _required(inputs.text(note, "note"))
        return self._act(case_id, Action.TRANSFER, by,
                         lambda case, actor: self._transfer_step(case, to, handoff, actor),
                         expected_version=expected_version)

    def escalate(self, case_id: str, *, by: str, reason: str | None = None,
                 expected_version: int | None = None) -> Case:
        """Move the case up one tier, to the next tier's queue."""
        why = inputs.text(reason, "reason", required=False)
        return self._act(case_id, Action.ESCALATE, by,
                         lambda case, actor: self._escalate_step(case, why),
                         expected_version=expected_version)

    def assign(self, case_id: str, *, to: str, by: str, note: str | None = None,
               expected_version: int | None = None) -> Case:
        """As tier lead, give the case to a named agent of the tier."""
        target = inputs.actor_name(to, "to")
        why = inputs.text(note, "note", required=False)
        return self._act(case_id, Action.ASSIGN, by,
                         lambda case, actor: self._assign_step(case, target, why, actor),
                         expected_version=expected_version)

    def wait(self, case_id: str, *, by: str, reason: str | None = None,
             on: str = "customer", expected_version: int | None = None) -> Case:
        """Put the case on hold, waiting on `on` (the customer, a third party, a policy word).

        The tier and idle clocks pause; each SLA target's clocks pause when its `pause_on`
        lists `on` (by default every wait pauses them).
        """
        why = inputs.text(reason, "reason", required=False)
        words = self.policy.wait_words()
        if on not in words:
            raise InvalidInput(f"unknown wait on={on!r}; expected one of {', '.join(words)} "
                               "(a policy adds words with `wait_on`)")
        return self._act(case_id, Action.WAIT, by,
                         lambda case, actor: attrs.evolve(_same(case, why), data={"on": on}),
                         expected_version=expected_version)

    def update(self, case_id: str, *, by: str, reason: str, priority: str | None = None,
               title: str | None = None, channel: str | None = None,
               category: str | None = None, fields: dict[str, Any] | None = None,
               expected_version: int | None = None) -> Case:
        """Re-prioritise or re-classify the case; one `updated` event with old and new values.

        The routes choose the SLA target again; when it changes, the clocks move to the new
        target keeping the business time already used, and the timers follow in the same
        transaction. The case keeps its ladder, tier and owner.
        """
        why = _required(inputs.text(reason, "reason"))
        wanted = updating.requested(priority=priority, title=title, channel=channel,
                                    category=category, fields=fields)
        return self._act(case_id, Action.UPDATE, by,
                         lambda case, actor: self._update_step(case, wanted, why),
                         expected_version=expected_version)

    def resume(self, case_id: str, *, by: str, reason: str | None = None,
               expected_version: int | None = None) -> Case:
        """Take the case off hold; clocks run again."""
        why = inputs.text(reason, "reason", required=False)
        return self._act(case_id, Action.RESUME, by, lambda case, actor: _same(case, why),
                         expected_version=expected_version)

    def resolve(self, case_id: str, *, by: str, resolution: str,
                expected_version: int | None = None) -> Case:
        """Record the resolution given to the customer."""
        text = _required(inputs.text(resolution, "resolution"))
        return self._act(case_id, Action.RESOLVE, by,
                         lambda case, actor: _keep_or_take(case, actor, text,
                                                           {"resolution": text}),
                         expected_version=expected_version)

    def reopen(self, case_id: str, *, by: str, reason: str | None = None,
               expected_version: int | None = None) -> Case:
        """Reopen a resolved case; it goes back to its owner."""
        why = inputs.text(reason, "reason", required=False)
        return self._act(case_id, Action.REOPEN, by, lambda case, actor: _same(case, why),
                         expected_version=expected_version)

    def close(self, case_id: str, *, by: str, reason: str | None = None,
              expected_version: int | None = None) -> Case:
        """Close a resolved case for good."""
        why = inputs.text(reason, "reason", required=False)
        return self._act(case_id, Action.CLOSE, by, lambda case, actor: _same(case, why),
                         expected_version=expected_version)

    def note(self, case_id: str, text: str, *, by: str,
             expected_version: int | None = None) -> Case:
        """Add a note to the trail; changes nothing else."""
        body = _required(inputs.text(text, "note text"))
        return self._act(case_id, Action.NOTE, by, lambda case, actor: _same(case, body),
                         expected_version=expected_version)

    def rate(self, case_id: str, *, score: int, comment: str | None = None,
             by: str | None = None, expected_version: int | None = None) -> Case:
        """Record the customer's satisfaction (1-5) with a resolved or closed case: `rated`.

        `by` None means the customer rated it; an agent who relays a rating (a phone survey)
        passes their name. The status does not change; a new rating replaces the last one
        in the reports.
        """
        value = inputs.score(score)
        words = inputs.text(comment, "comment", required=False)
        actor = None if by is None else inputs.actor_name(by)
        data = {"score": value, "rated_by": actor or "customer"}
        return self._act(case_id, Action.RATE, actor,
                         lambda case, _a: _Step(owner=case.owner, tier=case.tier, reason=words,
                                                data=data),
                         anonymous=by is None, expected_version=expected_version)

    def remove_agent(self, name: str, *, by: str | None = None,
                     reason: str | None = None) -> list[Event]:
        """Hand every unclosed case owned by `name` back to its tier's queue, one event each.

        `by` must be an administrator or the lead of each such case's tier; otherwise
        NotAuthorized is raised before any case is returned.
        """
        agent = inputs.actor_name(name, "name")
        if by is None:
            raise NotAuthorized(f"remove_agent({agent!r}) needs by=: an administrator or the "
                                f"lead of {agent}'s tier", action=Action.RETURN.value)
        actor = inputs.actor_name(by)
        why = inputs.text(reason, "reason", required=False) or f"{agent} was removed"
        return self._return_cases(agent, actor, why)

    def _return_cases(self, agent: str, actor: str | None, why: str) -> list[Event]:
        """Send every unclosed case `agent` owns back to its queue; the `returned` events."""
        events: list[Event] = []
        owned = self.store.find(CaseQuery(owner=Agent(agent).ref,
                                          status=("open", "active", "waiting", "resolved")))
        for case in owned:
            self._authorize(case, Action.RETURN, actor)  # all or none
        for case in owned:
            try:
                updated = self._act(case.id, Action.RETURN, actor,
                                    lambda c, _a: _Step(owner=Queue(c.tier), tier=c.tier,
                                                        reason=why),
                                    check=lambda c: c.owner == Agent(agent))
            except _NothingToDo:
                continue
            events.append(next(e for e in reversed(self.store.events(updated.id))
                               if e.kind is EventKind.RETURNED))
        return events

    # -- availability ----------------------------------------------------------------

    def set_available(self, name: str, available: bool, *, by: str,
                      until: datetime | None = None, reason: str | None = None,
                      return_cases: bool = False) -> AvailabilityChange:
        """Record that agent `name` is (not) available, optionally only `until` a time.

        Allowed for the agent themself, a lead of one of their tiers, or an administrator.
        Unavailable agents are skipped by automatic assignment and by notifications; with
        `return_cases=True`, their unclosed cases go back to their queues (`returned`).
        """
        agent = inputs.actor_name(name, "name")
        actor = inputs.actor_name(by)
        if not isinstance(available, bool):
            raise InvalidInput(f"available must be True or False, got {available!r}")
        if not isinstance(return_cases, bool):
            raise InvalidInput(f"return_cases must be True or False, got {return_cases!r}")
        why = inputs.text(reason, "reason", required=False)
        now = self.clock.now()
        end = _aware(until, "until")
        if end is not None and end <= now:
            raise InvalidInput(f"until must be in the future, got {until!r}")
        assignment.authorize_availability(self.policy, agent, actor)
        for attempt in range(self.conflict_retries + 1):
            seq = len(self.store.availability(agent)) + 1
            change = AvailabilityChange(agent=agent, seq=seq, at=now, available=available,
                                        actor=actor, until=end, reason=why)
            try:
                self.store.record_availability(change)
                break
            except ConflictError:
                if attempt == self.conflict_retries:
                    raise
                self._back_off(attempt)
        if return_cases and not available:
            self._return_cases(agent, actor, why or f"{agent} is unavailable")
        return change

    def available(self, name: str, at: datetime | None = None) -> bool:
        """Whether agent `name` is available at `at` (default: now); True if never changed."""
        agent = inputs.actor_name(name, "name")
        moment = _aware(at, "at") or self.clock.now()
        trail = [c for c in self.store.availability(agent) if c.at <= moment]
        return True if not trail else trail[-1].available_at(moment)

    def availability(self, name: str | None = None) -> list[AvailabilityChange]:
        """The availability trail of agent `name` (of everyone when None), oldest first."""
        agent = None if name is None else inputs.actor_name(name, "name")
        return self.store.availability(agent)

    # -- timers ------------------------------------------------------------------------

    def tick(self, now: datetime | None = None, *, batch: int = 500,
             stop: threading.Event | None = None) -> list[Event]:
        """Fire every timer due at `now` (default: the clock's now), earliest first.

        Warnings, SLA breaches, tier escalations and top-tier re-alerts are recorded as events,
        each timer in its own transaction; returns the events recorded, in order. When `stop`
        is set, the tick returns after the timer in flight and leaves the rest due.
        """
        moment = _aware(now, "now") or self.clock.now()
        recorded: list[Event] = []
        prepared: dict[tuple[str, int], Case] = {}
        kept: dict[tuple[str, str], Case] = {}

        def handle(case: Case, timer: Timer) -> Change | Keep | None:
            change = self._fire(case, timer)
            if isinstance(change, Keep):
                kept[(case.id, timer.clock)] = case
            elif change is not None:
                for event in change.events:
                    prepared[(event.case_id, event.seq)] = change.case
            return change

        while True:
            fired = self.store.fire_due(moment, batch, handle, stop)
            for event in fired:
                self._observe(prepared[(event.case_id, event.seq)], event)
            recorded.extend(fired)
            if not fired or (stop is not None and stop.is_set()):
                log_kept(kept, self.policy)
                return recorded

    def _fire(self, case: Case, timer: Timer) -> Change | Keep | None:
        """The change a due timer makes to `case`; KEEP when this desk cannot act on it.

        A timer is only ever dropped (None) when its clock no longer runs towards anything,
        which does not depend on the policy. A case in a tier this desk's policy lacks keeps
        its timers for a desk whose policy has the tier (see docs/policy.md). Otherwise the
        timer fires as this desk's policy says for that clock and due time.
        """
        clock = case.clock(timer.clock)
        if clock is None or not clock.running:
            return None
        if case.tier not in self._known_tiers:
            return KEEP
        planned = {t.clock: t for t in timing.timers_for(self.policy, case)}.get(timer.clock)
        if planned is None:
            return None  # a breached SLA clock: nothing more to fire
        if planned.due_at > timer.due_at:
            return KEEP  # not due yet by the case's clock; verify reports the drift
        timer = planned
        assert clock.due_at is not None
        at = max(timer.due_at, case.updated_at)
        clocks = {c.name: c for c in case.clocks}
        target = format_duration(clock.target)
        label = clock.name.replace("_", " ")
        events: list[Event] = []
        if clock.name == timing.IDLE:
            step = self._idle_step(case, clock, timer.action)
        elif timer.action is Action.WARN:
            clocks[clock.name] = timing.after_warning(clock)
            used = f"{round((clock.warn_fraction or 0) * 100)}% of {target}"
            reason = f"{label} clock at {used}; due {_when(clock.due_at)}"
            if clock.name == timing.TIER:
                reason = f"{used} of tier {case.tier} used; escalates {_when(clock.due_at)}"
            step = _same(case, reason)
        elif timer.action is Action.BREACH:
            clocks[clock.name] = timing.after_breach(clock)
            step = _same(case, f"{label} target of {target} missed (due "
                               f"{_when(clock.due_at)})")
        elif clock.name == timing.CLAIM:
            clocks[clock.name] = timing.after_realert(self.policy, clock, clock.target)
            called = assignment.claim_callees(self.policy, self.policy.tier(case.tier), at,
                                              clock.alerts + 1, self._away(at))
            step = _Step(owner=case.owner, tier=case.tier, data={"called": called},
                         reason=f"not claimed within {target} in the {case.tier} queue; "
                                f"re-alert {clock.alerts + 1}")
        elif timer.action is Action.REALERT:
            interval = self.policy.tier(case.tier).realert_every or clock.target
            clocks[clock.name] = timing.after_realert(self.policy, clock, interval)
            step = _same(case, f"still unresolved at the top tier {case.tier}; re-alert "
                               f"{clock.alerts + 1}")
        else:
            step = self._escalate_step(case, f"not resolved within {target} of business time "
                                             f"in tier {case.tier}")
        action = timer.action
        step = attrs.evolve(step, data={**step.data, "clock": clock.name})
        first = self._timer_event(case, action, step, at)
        away = self._away(at)
        after, first = self._prepare(case, first, None if action in (Action.ESCALATE,
                                                                     Action.RETURN)
                                     else timing.ordered(clocks.values()), away)
        events.append(first)
        if action is Action.BREACH and self._escalates_on_breach(after):
            upper = self._escalate_step(after, f"{label} target missed and the policy "
                                               "escalates on breach")
            upper = attrs.evolve(upper, data={"clock": clock.name})
            second = self._timer_event(after, Action.ESCALATE, upper, at)
            after, second = self._prepare(after, second, away=away)
            events.append(second)
        given = self._auto_assign(after, at, away)
        if given is not None:
            after, third = given
            events.append(third)
        return self._change(case, after, tuple(events), away)

    def _escalates_on_breach(self, case: Case) -> bool:
        target = timing.sla_target(self.policy, case.sla)
        if target is None or not target.escalate_on_breach or case.status not in (
                Status.OPEN, Status.ACTIVE):
            return False
        try:
            return self.policy.ladder_of(case.tier).next_tier(case.tier) is not None
        except KeyError:
            return False

    def _timer_event(self, case: Case, action: Action, step: _Step, at: datetime) -> Event:
        return Event(
            case_id=case.id, seq=case.version + 1, at=at, kind=EVENT_OF_ACTION[action],
            actor=None, owner_before=case.owner, owner_after=step.owner,
            status_before=case.status,
            status_after=lifecycle.next_status(case.status, action, case.id),
            tier_before=case.tier, tier_after=step.tier, reason=step.reason, data=step.data,
        )

    def next_due(self) -> datetime | None:
        """When the earliest stored timer falls due, or None when no timer is stored."""
        return self.store.next_due_at()

    def run_worker(self, *, max_sleep: float = 30.0, stop: threading.Event | None = None,
                   handle_signals: bool = True, iterations: int | None = None) -> None:
        """Tick (and dispatch notifications) in a loop until stopped; see escalate.worker."""
        from .worker import run_worker

        run_worker(self, max_sleep=max_sleep, stop=stop, handle_signals=handle_signals,
                   iterations=iterations)

    # -- notifications ---------------------------------------------------------------------

    def dispatch(self, now: datetime | None = None, *, limit: int = 100,
                 stop: threading.Event | None = None) -> list[Notification]:
        """Deliver due outbox rows through the notifier hooks; returns them with their outcome.

        Rows are claimed one at a time, each just before it is sent (see escalate.outbox);
        when `stop` is set, no further row is claimed.
        """
        moment = _aware(now, "now")
        clock = self.clock.now if moment is None else (lambda: moment)
        return outbox.deliver_due(self.store, self._deliver, self.policy.notifications, clock,
                                  self._rng, limit, stop)

    def _deliver(self, notification: Notification) -> bool | None:
        """Offer the row to each notifier in turn; one that raises does not stop the others."""
        failure: Exception | None = None
        for impl in reversed(self.plugins.hook.escalate_deliver.get_hookimpls()):
            try:
                if impl.function(notification=notification):
                    return True
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return None

    def outbox(self, *, status: str | None = None, case_id: str | None = None,
               limit: int | None = None) -> list[Notification]:
        """Outbox rows, oldest first: status "pending", "delivered" or "dead" (dead letters)."""
        if status is not None and status not in (outbox.PENDING, outbox.DELIVERED, outbox.DEAD):
            raise InvalidInput(f"unknown outbox status {status!r}; expected pending, "
                               "delivered or dead")
        case_id = inputs.filter_text(case_id, "case_id")
        return self.store.notifications(status=status, case_id=case_id,
                                        limit=inputs.limit(limit))

    def retry_notification(self, key: str) -> Notification:
        """Put a dead-lettered row back in the queue, due now."""
        inputs.filter_text(key, "key")
        dead = {n.key: n for n in self.store.notifications(status=outbox.DEAD)}
        if key not in dead:
            raise InvalidInput(f"no dead-lettered notification with key {key!r}; list them "
                               "with desk.outbox(status='dead')")
        revived = attrs.evolve(dead[key], status=outbox.PENDING, attempts=0,
                               next_attempt_at=self.clock.now())
        self.store.update_notification(revived)
        return revived

    # -- policy changes ----------------------------------------------------------------

    def preview_policy(self, policy: Policy, *,
                       tier_map: Mapping[str, str] | None = None) -> list[CasePlan]:
        """A dry run: per unclosed case, how its due times would move under `policy`.

        With `tier_map` ({old tier: tier of `policy`}), cases in a mapped tier are shown
        moved to the mapped tier.
        """
        mapping = checked_tier_map(policy, tier_map)
        now = self.clock.now()
        unclosed = self.store.find(CaseQuery(status=("open", "active", "waiting", "resolved")))
        return [plan_case(self.policy, policy, case, now, mapping) for case in unclosed]

    def change_policy(self, policy: Policy, *, migrate: bool = False, by: str | None = None,
                      tier_map: Mapping[str, str] | None = None) -> list[Event]:
        """Switch to `policy`; with `migrate`, recompute open cases' clocks (one event each).

        Without `migrate` the new policy applies to new cases and to clocks started from now
        on; open cases keep their due times, and a case in a tier the new policy lacks keeps
        its timers unfired (verify reports it) until it is moved. With `migrate`, every
        unclosed case in a tier the new policy lacks must be named by `tier_map`
        ({old tier: tier of the new policy}); it moves there in its migration event.
        Otherwise InvalidInput is raised and nothing changes.
        """
        if not isinstance(policy, Policy):
            raise ConfigError("policy", f"expected a Policy, got {type(policy).__name__}")
        actor = None if by is None else inputs.actor_name(by)
        if tier_map is not None and not migrate:
            raise InvalidInput("tier_map moves cases as part of a migration; pass "
                               "migrate=True with it")
        plans = self.preview_policy(policy, tier_map=tier_map) if migrate else []
        stranded = sorted({plan.tier for plan in plans if not plan.tier_exists})
        if stranded:
            raise InvalidInput(
                f"unclosed cases are in tiers the new policy does not have "
                f"({', '.join(map(repr, stranded))}); say where they go with tier_map="
                f"{{{stranded[0]!r}: '<a tier of the new policy>', ...}}; nothing was changed")
        old = self.policy
        self.policy, self._known_tiers = policy, _tier_names(policy)
        events: list[Event] = []
        for plan in plans:
            if plan.changes:
                events.append(self._migrate_case(plan, old, actor))
        return events

    def _migrate_case(self, plan: CasePlan, old: Policy, actor: str | None) -> Event:
        """Record one case's migration to the current policy: new clocks, maybe a new tier."""
        case = self.get(plan.case_id)
        tier, owner, data = case.tier, case.owner, {"policy_version": self.policy.version}
        if plan.moved_to is not None:
            tier = plan.moved_to
            if not (isinstance(owner, Agent) and self.policy.tier(tier).can_work(owner.name)):
                owner = Queue(tier)
            data["ladder"] = self.policy.ladder_of(tier).name
        event = Event(
            case_id=case.id, seq=case.version + 1, at=max(self.clock.now(), case.updated_at),
            kind=EventKind.NOTED, actor=actor, owner_before=case.owner, owner_after=owner,
            status_before=case.status, status_after=case.status, tier_before=case.tier,
            tier_after=tier, data=data,
            reason=f"policy changed from {old.version} to {self.policy.version}; " + plan.line())
        after, event = self._prepare(case, event, plan.clocks)
        self.store.commit(self._change(case, after, (event,)))
        self._observe(after, event)
        return event

    # -- the action pipeline -----------------------------------------------------------

    def _act(self, case_id: str, action: Action, by: str | None,
             decide: Callable[[Case, str | None], _Step],
             check: Callable[[Case], bool] | None = None, anonymous: bool = False,
             expected_version: int | None = None) -> Case:
        """Load, authorize, check the lifecycle, decide, and commit; retry lost races.

        `anonymous` lets `by` be None for actions nobody on the desk takes (a customer's
        rating); otherwise only a return may have no actor. With `expected_version` the
        action is based on that version of the case: a stale version raises ConflictError
        at once and a lost race is not retried.
        """
        case_id = self._case_id(case_id)
        nobody = by is None and (anonymous or action is Action.RETURN)
        actor = None if nobody else inputs.actor_name(by)
        expected = inputs.expected_version(expected_version)
        retries = self.conflict_retries if expected is None else 0
        for attempt in range(retries + 1):
            case = self.get(case_id)
            if expected is not None and case.version != expected:
                raise ConflictError(case.id, expected, case.version)
            if check is not None and not check(case):
                raise _NothingToDo
            self._authorize(case, action, actor)
            status = lifecycle.next_status(case.status, action, case.id)
            step = decide(case, actor)
            event = Event(
                case_id=case.id, seq=case.version + 1, at=max(self.clock.now(), case.updated_at),
                kind=EVENT_OF_ACTION[action], actor=actor, owner_before=case.owner,
                owner_after=step.owner, status_before=case.status, status_after=status,
                tier_before=case.tier, tier_after=step.tier, reason=step.reason, data=step.data,
            )
            try:
                return self._commit(case, event)
            except ConflictError:
                if attempt == retries:
                    raise
                log.debug("conflict on %s %s, retrying (%d)", action.value, case_id, attempt + 1)
                self._back_off(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _commit(self, before: Case | None, event: Event) -> Case:
        away = self._away(event.at)
        after, event = self._prepare(before, event, away=away)
        observed = [(after, event)]
        given = self._auto_assign(after, event.at, away)
        if given is not None:
            observed.append(given)
            after = given[0]
        self.store.commit(self._change(before, after, tuple(e for _, e in observed), away))
        for case, committed in observed:
            self._observe(case, committed)
        return after

    def _back_off(self, attempt: int) -> None:
        """Wait a random moment before retry `attempt + 1`, so racing writers spread out."""
        time.sleep(self._rng.uniform(0, min(0.1, 0.005 * 2 ** attempt)))

    def _away(self, at: datetime) -> frozenset[str]:
        """Agents unavailable at `at`, from the roster."""
        return assignment.unavailable(self.store.latest_availability(), at)

    def _auto_assign(self, case: Case, at: datetime,
                     away: frozenset[str]) -> tuple[Case, Event] | None:
        """The `assigned` event a tier with automatic assignment records for an arrival."""
        if not isinstance(case.owner, Queue) or case.status is not Status.OPEN:
            return None
        try:
            tier = self.policy.tier(case.tier)
        except KeyError:
            return None
        if tier.assign == "manual":
            return None
        pool = assignment.candidates(self.policy, tier, at, away)
        if not pool:
            return None
        chosen = self._plugin_choice(case, tier.name, pool)
        strategy = "plugin" if chosen is not None else tier.assign
        if chosen is None:
            chosen = assignment.choose(
                tier.assign, pool,
                turn=lambda: self.store.next_in_rotation(f"assign:{tier.name}"),
                load=lambda name: len(self.store.find(CaseQuery(
                    owner=Agent(name).ref, status=("open", "active", "waiting")))))
        event = Event(
            case_id=case.id, seq=case.version + 1, at=at, kind=EventKind.ASSIGNED, actor=None,
            owner_before=case.owner, owner_after=Agent(chosen), status_before=case.status,
            status_after=lifecycle.next_status(case.status, Action.ASSIGN, case.id),
            tier_before=case.tier, tier_after=case.tier,
            reason=f"assigned automatically ({strategy})", data={"strategy": strategy})
        return self._prepare(case, event, away=away)

    def _plugin_choice(self, case: Case, tier: str, pool: list[str]) -> str | None:
        """An `escalate_assign` plugin's pick among `pool`, or None to use the strategy."""
        try:
            chosen = self.plugins.hook.escalate_assign(desk=self, case=case, tier=tier,
                                                       candidates=list(pool))
        except Exception:
            log.exception("assignment plugin failed on case %s; using the tier's strategy",
                          case.id)
            return None
        if chosen is not None and chosen not in pool:
            log.warning("assignment plugin chose %r for case %s, who is not among the "
                        "candidates %s; using the tier's strategy", chosen, case.id, pool)
            return None
        return chosen  # type: ignore[no-any-return]

    def _prepare(self, before: Case | None, event: Event,
                 clocks: tuple[ClockState, ...] | None = None,
                 away: frozenset[str] = frozenset()) -> tuple[Case, Event]:
        """The case after `event`, with the event's clock changes written into its data."""
        provisional = apply(before, event)
        if clocks is None:
            clocks = timing.next_clocks(self.policy, before, provisional, event)
        data = {**event.data, **notify.on_call_data(self.policy, provisional, event, away)}
        if clocks != provisional.clocks:
            data = {**data, "clocks": [clock_to_dict(c) for c in clocks]}
        event = seal(event, "" if before is None else before.last_hash, data)
        # the same as apply(before, event): only the clocks and the hash differ
        return attrs.evolve(provisional, clocks=clocks, last_hash=event.hash), event

    def _change(self, before: Case | None, after: Case, events: tuple[Event, ...],
                away: frozenset[str] = frozenset()) -> Change:
        timers = timing.timers_for(self.policy, after)
        unchanged = before is not None and timers == timing.timers_for(self.policy, before)
        return Change(case=after, events=events,
                      expected_version=0 if before is None else before.version,
                      timers=None if unchanged else timers,
                      notifications=notify.plan(self.policy, after, events, away))

    def _observe(self, case: Case, event: Event) -> None:
        hook = self.plugins.hook.escalate_event_committed
        for impl in hook.get_hookimpls():
            try:
                impl.function(desk=self, case=case, event=event)
            except Exception:
                log.exception("observer %s failed on %s of case %s; continuing",
                              impl.plugin_name, event.kind.value, event.case_id)

    def _authorize(self, case: Case | None, action: Action, actor: str | None) -> None:
        allowed = self.plugins.hook.escalate_authorize(policy=self.policy, case=case,
                                                       action=action, actor=actor)
        if not allowed:
            if default_decision(self.policy, case, action, actor):
                where = "" if case is None else f" case {case.id!r}"
                message = (f"{actor!r} may not {action.value}{where}: refused by an "
                           "authorization plugin (escalate_authorize)")
            else:
                message = explain_refusal(self.policy, case, action, actor)
            raise NotAuthorized(message, actor=actor, action=action.value,
                                case_id=None if case is None else case.id)

    def _route(self, attributes: dict[str, Any]) -> Route:
        route = self.plugins.hook.escalate_route(policy=self.policy, attributes=attributes)
        if route is None:
            route = self.policy.route(attributes)
        if route.ladder not in self.policy.ladders:
            raise ConfigError("routes", f"routing chose unknown ladder {route.ladder!r}")
        return route  # type: ignore[no-any-return]

    @staticmethod
    def _case_id(case_id: object) -> str:
        if not isinstance(case_id, str) or not case_id:
            raise CaseNotFound(repr(case_id))
        if not inputs.encodable(case_id):
            raise CaseNotFound(case_id, "it contains invalid Unicode, a lone surrogate, so no "
                                        "case can have it")
        return case_id

    # -- decisions of individual actions ----------------------------------------------

    def _tier_at_level(self, case: Case) -> int:
        try:
            return self.policy.level(case.tier)
        except KeyError:
            raise InvalidTransition(stranded_help(self.policy, case), case_id=case.id) from None

    def _update_step(self, case: Case, wanted: dict[str, Any], reason: str) -> _Step:
        route = self._route(updating.attributes_of(case, wanted))
        sla = updating.sla_for(self.policy, route, wanted.get("priority", case.priority))
        data = updating.update_data(case, wanted, sla, updating.route_index(self.policy, route))
        return _Step(owner=case.owner, tier=case.tier, reason=reason, data=data)

    def _idle_step(self, case: Case, clock: ClockState, action: Action) -> _Step:
        idle = format_duration(clock.target)
        who = case.owner.name if isinstance(case.owner, Agent) else str(case.owner)
        why = f"{who} recorded nothing on the case for {idle} of business time (idle_after)"
        if action is Action.ESCALATE:
            step = self._escalate_step(case, f"{why}; escalated")
        else:
            step = _Step(owner=Queue(case.tier), tier=case.tier,
                         reason=f"{why}; back to the {case.tier} queue")
        return attrs.evolve(step, data={"clock": timing.IDLE})

    def _rescue_step(self, case: Case, target: Owner, actor: str | None,
                     reason: str | None) -> _Step:
        """An administrator moves a case out of a tier the policy lacks, into any tier."""
        if actor not in self.policy.admins:
            raise InvalidTransition(stranded_help(self.policy, case), case_id=case.id)
        tiers = ([t for t in (self._tier_or_none(target.name),) if t is not None]
                 if isinstance(target, Queue) else self.policy.tiers_of(target.name))
        if not tiers:
            raise InvalidInput(f"cannot move case {case.id!r} to {target}: no tier of the "
                               f"policy is {'named' if isinstance(target, Queue) else 'worked by'}"
                               f" {target.name!r} (tiers: {', '.join(sorted(self._known_tiers))})")
        tier = tiers[0].name
        return _Step(owner=target, tier=tier, reason=reason,
                     data={"ladder": self.policy.ladder_of(tier).name})

    def _tier_or_none(self, name: str) -> Tier | None:
        try:
            return self.policy.tier(name)
        except KeyError:
            return None

    def _transfer_step(self, case: Case, to: str | Owner, note: str,
                       actor: str | None = None) -> _Step:
        target: Owner = to if isinstance(to, Agent | Queue) else Agent(inputs.actor_name(to, "to"))
        if case.tier not in self._known_tiers:
            return self._rescue_step(case, target, actor, note)
        limit = self.policy.max_transfers
        if limit is not None and case.transfers >= limit:
            raise InvalidTransition(
                f"case {case.id!r} has been transferred {case.transfers} times and the policy "
                f"allows {limit} (max_transfers); escalate it instead with "
                f"desk.escalate({case.id!r}, by=..., reason=...)",
                case_id=case.id, action="transfer", status=case.status.value)
        level = self._tier_at_level(case)
        if target == case.owner:
            raise InvalidInput(f"case {case.id!r} is already owned by {target}; transfer it to "
                               "someone else")
        same_level = [tier for ladder in self.policy.ladders.values()
                      for i, tier in enumerate(ladder.tiers) if i == level]
        tier: Tier | None
        if isinstance(target, Queue):
            tier = next((t for t in same_level if t.name == target.name), None)
        else:
            current = self.policy.tier(case.tier)
            tier = current if current.can_work(target.name) else next(
                (t for t in same_level if t.can_work(target.name)), None)
        if tier is None:
            choices = sorted({m for t in same_level for m in t.members})
            raise InvalidInput(
                f"cannot transfer case {case.id!r} to {target}: a transfer goes sideways, to a "
                f"member or queue of a tier at the same level as {case.tier!r} "
                f"(agents: {', '.join(choices)}; queues: "
                f"{', '.join(t.name for t in same_level)}); to move up, escalate")
        data: dict[str, Any] = {}
        if tier.name != case.tier:
            data["ladder"] = self.policy.ladder_of(tier.name).name
        return _Step(owner=target, tier=tier.name, reason=note, data=data)

    def _escalate_step(self, case: Case, reason: str | None) -> _Step:
        self._tier_at_level(case)
        upper = self.policy.ladder_of(case.tier).next_tier(case.tier)
        if upper is None:
            raise InvalidTransition(
                f"case {case.id!r} is already at the top tier {case.tier!r} of ladder "
                f"{case.ladder!r}; the top tier keeps its cases (ask its lead to assign it)",
                case_id=case.id, action="escalate", status=case.status.value)
        return _Step(owner=Queue(upper.name), tier=upper.name, reason=reason)

    def _assign_step(self, case: Case, target: str, note: str | None,
                     actor: str | None = None) -> _Step:
        if case.tier not in self._known_tiers:
            return self._rescue_step(case, Agent(target), actor, note)
        tier = self.policy.tier(case.tier)
        if not tier.can_work(target):
            raise InvalidInput(f"cannot assign case {case.id!r} to {target!r}: not a member of "
                               f"tier {tier.name!r} (members: {', '.join(tier.members)})")
        if case.owner == Agent(target):
            raise InvalidInput(f"case {case.id!r} is already owned by {target}")
        return _Step(owner=Agent(target), tier=case.tier, reason=note)


class _NothingToDo(Exception):
    """Raised inside the pipeline when a precondition no longer holds (the case moved on)."""


def _aware(moment: datetime | None, what: str) -> datetime | None:
    return None if moment is None else checked_time(moment, what)


def _tier_names(policy: Policy) -> frozenset[str]:
    return frozenset(t.name for ladder in policy.ladders.values() for t in ladder.tiers)


def _when(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M} UTC"


def _required(value: str | None) -> str:
    assert value is not None
    return value


def _contact(case: Case, actor: str | None) -> dict[str, Any]:
    return {"contact": actor} if case.contact is None and actor is not None else {}


def _take_over(case: Case, actor: str | None) -> _Step:
    assert actor is not None
    return _Step(owner=Agent(actor), tier=case.tier, data=_contact(case, actor))


def _keep_or_take(case: Case, actor: str | None, reason: str | None,
                  extra: dict[str, Any] | None = None) -> _Step:
    owner = Agent(actor) if isinstance(case.owner, Queue) and actor is not None else case.owner
    return _Step(owner=owner, tier=case.tier, reason=reason,
                 data={**_contact(case, actor), **(extra or {})})


def _same(case: Case, reason: str | None) -> _Step:
    return _Step(owner=case.owner, tier=case.tier, reason=reason)
