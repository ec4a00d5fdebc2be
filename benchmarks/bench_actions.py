"""Per-action cost of Desk on memory:// against a bare `transitions` trigger.

Escalate: `Desk(standard_policy(), store="memory://", autoload_plugins=False)` runs
  (a) claim -> wait -> resume -> note on cases opened beforehand (opening is not timed), and
  (b) open -> claim -> resolve on new cases.
Baseline: the same lifecycle built as a bare `transitions.Machine` (model=None,
  auto_transitions=False) triggered with `machine.events[name].trigger(carrier)` on a slotted
  carrier object, the same action sequence per case.

Both sides run in the same process, interleaved repeat by repeat. The ratio is escalate's
median cost per action over the bare trigger's. The project's target is at most 3x.

A cost ledger follows: the steps of one action as Desk._act/_prepare/_change take them (load,
authorize, lifecycle check, event, fold, clocks, hash chain, timers, notifications, commit)
timed one by one on the same cases, so the gap can be read without a profiler's distortion;
it mirrors the pipeline in src/escalate/desk.py and needs updating when that changes.
`--profile` adds a cProfile listing.

    python benchmarks/bench_actions.py [--quick] [--cases N] [--repeats R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
from collections.abc import Callable, Sequence

import _harness as h
import attrs
from transitions import Machine

from escalate import Action, Desk, ManualClock, Policy, inputs, notify, timing
from escalate import lifecycle as lifecycle_module
from escalate.chain import seal
from escalate.fold import apply
from escalate.model import Case, Event
from escalate.stores.base import Change
from escalate.stores.memory import MemoryStore
from escalate.testing import standard_policy, timed_policy

CYCLE = ("claim", "wait", "resume", "note")
OPEN_CLAIM_RESOLVE = ("open", "claim", "resolve")


# -- the baseline ------------------------------------------------------------------------

class Carrier:
    """What the bare machine is triggered on: one slot for the state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def bare_machine() -> Machine:
    """The lifecycle's own transition table, as a bare machine with no model."""
    table = lifecycle_module._TRANSITIONS
    states = ["new", *dict.fromkeys(s for _, sources, dest in table
                                    for s in [*sources, *([dest] if dest else [])])]
    return Machine(
        model=None, states=states, initial="new", auto_transitions=False, send_event=False,
        transitions=[{"trigger": action.value, "source": sources, "dest": dest}
                     for action, sources, dest in table],
    )


def bare_run(machine: Machine, start: str, actions: Sequence[str], cases: int) -> float:
    """Seconds per trigger for `cases` carriers each taken through `actions`."""
    events = machine.events

    def work() -> None:
        for _ in range(cases):
            carrier = Carrier(start)
            for name in actions:
                events[name].trigger(carrier)

    return h.timed(work) / (cases * len(actions))


# -- escalate ----------------------------------------------------------------------------

def new_desk(policy: Policy) -> Desk:
    return Desk(policy, store="memory://", clock=ManualClock(), autoload_plugins=False)


def open_cases(desk: Desk, count: int) -> list[str]:
    return [desk.open(title="Invoice is wrong", customer=f"c-{i}", channel="phone").id
            for i in range(count)]


def desk_cycle(policy: Policy, cases: int) -> float:
    """Seconds per action for claim, wait, resume, note on `cases` fresh open cases."""
    desk = new_desk(policy)
    ids = open_cases(desk, cases)

    def work() -> None:
        for case_id in ids:
            desk.claim(case_id, by="ana")
            desk.wait(case_id, by="ana", reason="asked for the invoice number")
            desk.resume(case_id, by="ana")
            desk.note(case_id, "customer sent the invoice", by="ana")

    return h.timed(work) / (cases * len(CYCLE))


def desk_open_claim_resolve(policy: Policy, cases: int) -> float:
    """Seconds per action for open, claim, resolve of `cases` new cases."""
    desk = new_desk(policy)

    def work() -> None:
        for i in range(cases):
            case = desk.open(title="Invoice is wrong", customer=f"c-{i}", channel="phone")
            desk.claim(case.id, by="ana")
            desk.resolve(case.id, by="ana", resolution="credit note issued")

    return h.timed(work) / (cases * len(OPEN_CLAIM_RESOLVE))


# -- the cost ledger ---------------------------------------------------------------------

def captured_steps(policy: Policy, cases: int) -> tuple[Desk, list[tuple[Case, Case, Event]]]:
    """(before, after, event) of every cycle action, taken from real runs."""
    desk = new_desk(policy)
    steps = []
    for case_id in open_cases(desk, cases):
        desk.claim(case_id, by="ana")
        desk.wait(case_id, by="ana", reason="asked for the invoice number")
        desk.resume(case_id, by="ana")
        desk.note(case_id, "customer sent the invoice", by="ana")
        history = desk.history(case_id)
        before = apply(None, history[0])
        for event in history[1:]:
            after = apply(before, event)
            steps.append((before, after, event))
            before = after
    return desk, steps


def ledger(policy: Policy, cases: int, repeats: int) -> tuple[float, list[tuple[str, float]]]:
    """The whole action and each step the Desk takes in it, in seconds per action.

    Every step runs on its own over the (before, after, event) of real actions, interleaved
    with the whole cycle in the same repeats; what the steps do not account for is glue.
    """
    desk, steps = captured_steps(policy, cases)
    n = len(steps)
    hook = desk.plugins.hook
    action_of = {"claimed": Action.CLAIM, "waited": Action.WAIT, "resumed": Action.RESUME,
                 "noted": Action.NOTE}

    def get() -> None:
        for before, _, _ in steps:
            desk.store.get(before.id)

    def check_inputs() -> None:
        for _, _, event in steps:
            inputs.actor_name(event.actor)
            inputs.text(event.reason, "reason", required=False)

    def authorize() -> None:
        for before, _, event in steps:
            hook.escalate_authorize(policy=policy, case=before, action=action_of[event.kind],
                                    actor=event.actor)

    def lifecycle_check() -> None:
        for before, _, event in steps:
            lifecycle_module.next_status(before.status, action_of[event.kind], before.id)

    def build_event() -> None:
        for before, after, event in steps:
            Event(case_id=before.id, seq=before.version + 1, at=event.at, kind=event.kind,
                  actor=event.actor, owner_before=before.owner, owner_after=after.owner,
                  status_before=before.status, status_after=after.status,
                  tier_before=before.tier, tier_after=after.tier, reason=event.reason,
                  data=event.data)

    def fold() -> None:
        for before, _, event in steps:
            apply(before, event)

    def evolve_case() -> None:
        for _, after, event in steps:
            attrs.evolve(after, clocks=after.clocks, last_hash=event.hash)

    def clocks() -> None:
        for before, after, event in steps:
            timing.next_clocks(policy, before, after, event)

    def hash_chain() -> None:
        for before, _, event in steps:
            seal(event, before.last_hash)

    def timers_twice() -> None:
        for before, after, _ in steps:
            timing.timers_for(policy, after)
            timing.timers_for(policy, before)

    def notifications() -> None:
        for _, after, event in steps:
            notify.plan(policy, after, (event,))

    def build_change() -> None:
        for before, after, event in steps:
            Change(case=after, events=(event,), expected_version=before.version, timers=None,
                   notifications=())

    changes = [Change(case=after, events=(event,), expected_version=before.version)
               for before, after, event in steps]
    openers = [before for before, _, _ in steps if before.version == 1]

    def commit() -> None:
        store = MemoryStore()
        for case in openers:  # seed the opened cases (a dict store, a few % of the loop)
            store._cases[case.id] = case
        for change in changes:
            store.commit(change)

    def observe() -> None:
        for _, after, event in steps:
            for impl in hook.escalate_event_committed.get_hookimpls():
                impl.function(desk=desk, case=after, event=event)

    parts: dict[str, Callable[[], None]] = {
        "argument checks (inputs.actor_name, inputs.text)": check_inputs,
        "store.get (load the case)": get,
        "authorize (pluggy hook, default rules)": authorize,
        "lifecycle.next_status (wraps the transitions trigger)": lifecycle_check,
        "Event(...) construction": build_event,
        "fold.apply (the case after the event: attrs.evolve)": fold,
        "attrs.evolve of the case (its clocks and hash)": evolve_case,
        "timing.next_clocks (business-time clocks)": clocks,
        "chain.seal (event_to_dict, canonical JSON, SHA-256, evolve)": hash_chain,
        "timing.timers_for x2 (before + after)": timers_twice,
        "notify.plan (outbox rows)": notifications,
        "Change(...) construction": build_change,
        "store.commit (memory)": commit,
        "observers (escalate_event_committed)": observe,
    }
    runs: dict[str, Callable[[], float]] = {
        name: (lambda fn=fn: h.timed(fn) / n) for name, fn in parts.items()}
    runs["whole"] = lambda: desk_cycle(policy, cases)
    got = h.interleave(runs, repeats)
    whole = got.pop("whole").median
    results = [(name, sample.median) for name, sample in got.items()]
    accounted = sum(t for _, t in results)
    results.append(("everything else (_Step, method calls, closures, GC)",
                    whole - accounted))
    return whole, results


def history_costs(policy: Policy, lengths: Sequence[int], notes: int,
                  repeats: int) -> dict[int, h.Sample]:
    """Seconds per `note` on one case that already has `length` events (memory://)."""
    desk = new_desk(policy)
    (case_id,) = open_cases(desk, 1)
    desk.claim(case_id, by="ana")
    got: dict[int, h.Sample] = {}

    def burst() -> float:
        def work() -> None:
            for _ in range(notes):
                desk.note(case_id, "customer called again", by="ana")
        return h.timed(work) / notes

    for length in sorted(lengths):
        while desk.get(case_id).version < length:
            desk.note(case_id, "customer called again", by="ana")
        got[length] = h.Sample(tuple(burst() for _ in range(repeats)))
    return got


def profile(policy: Policy, cases: int, top: int = 25) -> str:
    """cProfile of the cycle workload: the top functions by own time, with their share."""
    desk = new_desk(policy)
    ids = open_cases(desk, cases)
    profiler = cProfile.Profile()
    profiler.enable()
    for case_id in ids:
        desk.claim(case_id, by="ana")
        desk.wait(case_id, by="ana", reason="asked for the invoice number")
        desk.resume(case_id, by="ana")
        desk.note(case_id, "customer sent the invoice", by="ana")
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    entries = stats.stats  # type: ignore[attr-defined]
    by_own = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (path, line, func), (_cc, calls, own, cum, _callers) in by_own:
        where = path.split("site-packages/")[-1].split("/src/")[-1]
        rows.append((f"{func} ({where}:{line})", calls, h.pct(own / total), h.pct(cum / total)))
    out = io.StringIO()
    out.write(f"cProfile of {cases} cases x {len(CYCLE)} actions "
              f"(profiler overhead inflates small calls; read shares, not times)\n\n")
    out.write(h.table(["function", "calls", "own time", "cumulative"], rows))
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--cases", type=int, help="cases per repeat (default 2000, quick 300)")
    parser.add_argument("--repeats", type=int, help="repeats per side (default 7, quick 5)")
    parser.add_argument("--profile", action="store_true", help="add a cProfile listing")
    args = parser.parse_args(argv)
    cases = args.cases or (300 if args.quick else 2000)
    repeats = args.repeats or (5 if args.quick else 7)

    h.banner("Per-action cost: Desk on memory:// vs a bare transitions trigger")
    print(f"{cases} cases per repeat, {repeats} repeats, interleaved; figures are medians, "
          "spread is (max - min) / median.")
    print()

    machine = bare_machine()
    bare_cases = max(cases, 3000)  # the bare side is cheap: a longer batch steadies it
    std, timed = standard_policy(), timed_policy()
    for policy in (std, timed):  # warm both paths (imports, caches) before measuring
        desk_cycle(policy, 20)
        desk_open_claim_resolve(policy, 20)
    bare_run(machine, "open", CYCLE, 200)

    workloads = [
        ("claim/wait/resume/note, standard_policy", CYCLE, "open",
         lambda: desk_cycle(std, cases)),
        ("open/claim/resolve, standard_policy", OPEN_CLAIM_RESOLVE, "new",
         lambda: desk_open_claim_resolve(std, cases)),
        ("claim/wait/resume/note, timed_policy (SLA clocks)", CYCLE, "open",
         lambda: desk_cycle(timed, cases)),
    ]
    rows = []
    for label, actions, start, run in workloads:
        got = h.interleave({
            "escalate": run,
            "bare": lambda actions=actions, start=start: bare_run(machine, start, actions,
                                                                 bare_cases),
        }, repeats)
        esc, bare = got["escalate"], got["bare"]
        rows.append((label, h.us(esc.median), h.pct(esc.spread), h.us(bare.median),
                     h.pct(bare.spread), h.ratio_text(esc, bare), "<= 3x",
                     f"{1 / esc.median:,.0f}"))
    print(h.table(["workload", "escalate us/action", "spread", "bare trigger us",
                   "spread", "ratio (range)", "target", "escalate actions/s"], rows))
    print()

    for name, policy in (("standard_policy", std), ("timed_policy", timed)):
        print(f"### Where one action's time goes (claim/wait/resume/note, {name})")
        print()
        print("Each step timed on its own over the same actions, interleaved with the whole "
              "cycle; 'everything else' is the whole minus the steps.")
        print()
        whole, parts = ledger(policy, min(cases, 1000), repeats)
        print(h.table(["step", "us/action", "share of the action"],
                      [*[(step, h.us(t), h.pct(t / whole)) for step, t in parts],
                       ("whole action (measured)", h.us(whole), "100.0%")]))
        print()
    lengths = [10, 1000, 3000] if args.quick else [10, 1000, 10000]
    print("### One action on a case with a long history (note, standard_policy, memory://)")
    print()
    notes = 200
    costs = history_costs(std, lengths, notes, 3)
    bare_note = h.interleave({"bare": lambda: bare_run(machine, "active", ("note",),
                                                       bare_cases)}, 3)["bare"]
    print(h.table(
        ["events already on the case", "escalate us/note", "spread", "vs 10 events",
         "ratio to the bare trigger"],
        [(f"{n:,}", h.us(c.median), h.pct(c.spread),
          f"{c.median / costs[lengths[0]].median:.2f}x", f"{h.ratio(c, bare_note):.1f}x")
         for n, c in costs.items()]))
    print()
    print(f"Each figure: {notes} notes right after the case reached that many events, "
          "3 repeats (consecutive, so the history grows by a few hundred events across them).")
    print()
    if args.profile:
        print("### cProfile")
        print()
        print(profile(std, min(cases, 1000)))
        print()


if __name__ == "__main__":
    main()
