"""The demo behind `escalate demo`: a simulated working week at a small help desk, on SQLite."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from .clock import ManualClock
from .desk import Desk
from .model import Event, EventKind
from .policy import Policy
from .reporting.timeline import write_case_pages

__all__ = ["demo_policy", "policy_text", "run_demo", "write_html_report"]

#: Monday 2026-11-23, 09:00 in Bucharest.
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def policy_text() -> str:
    """The documented example policy file (the same as examples/escalation.toml)."""
    return resources.files("escalate").joinpath("escalation.toml").read_text(encoding="utf-8")


def demo_policy() -> Policy:
    """The example policy the demo runs."""
    return Policy.from_toml_text(policy_text(), source="escalation.toml")


def _story(event: Event) -> str:
    who = event.actor or ("unknown" if event.kind is EventKind.OPENED else "escalate")
    reason = f" ({event.reason})" if event.reason else ""
    return f"  {event.at:%a %H:%M} UTC  {event.case_id:<5} {event.kind.value:<11} by {who:<8}" \
           f" -> {event.owner_after}{reason}"


def write_html_report(desk: Desk, path: Path) -> Path:
    """Write the week's report as one HTML page at `path`, with the timeline page of every
    breached case in a `cases` folder beside it; return `path`."""
    report = desk.report(trend="day")
    write_case_pages(desk, (b.case_id for b in report.breaches), path.parent / "cases")
    path.write_text(report.to_html(case_links="cases/{file}.html"), encoding="utf-8")
    return path


def run_demo(url: str, say: Callable[[str], None] = print, *,
             html: Path | None = None) -> Desk:
    """Run the week on the store at `url`, telling the story through `say`; returns the desk.

    With `html`, the report is also written there as an HTML page (`write_html_report`).
    """
    clock = ManualClock(START)
    desk = Desk(demo_policy(), store=url, clock=clock, autoload_plugins=False)
    seen = 0

    def show(title: str) -> None:
        nonlocal seen
        events = list(desk.events())
        if title:
            say(title)
        for event in events[seen:]:
            say(_story(event))
        seen = len(events)

    def later(minutes: int) -> None:
        clock.advance(timedelta(minutes=minutes))

    say(f"escalate demo: one working week at a help desk, stored in {url}")
    say("(times are UTC; the office is in Bucharest, UTC+2)\n")
    printer = desk.open(title="Printer prints blank pages", customer="acme", channel="phone",
                        by="ana")
    desk.claim(printer.id, by="ana")
    later(25)
    desk.resolve(printer.id, by="ana", resolution="replaced the toner cartridge")
    desk.rate(printer.id, score=5, comment="Fixed in half an hour, and ana explained why")
    invoice = desk.open(title="Invoice is wrong", customer="c-17", channel="email")
    later(10)
    desk.claim(invoice.id, by="ana")
    desk.transfer(invoice.id, to="bo", by="ana",
                  note="Customer sent the invoice; needs a credit note for line 3")
    outage = desk.open(title="Web shop is down", customer="globex", channel="chat",
                       priority="urgent")
    vpn = desk.open(title="VPN drops every hour", customer="initech", channel="web")
    later(30)
    desk.respond(vpn.id, by="bo", message="Asked for the client logs")
    desk.wait(vpn.id, by="bo", reason="waiting for the customer's VPN logs")
    show("Monday morning: four cases arrive")

    clock.set(START + timedelta(hours=2))
    desk.tick()
    show("\nNobody picked up the urgent outage within its 1h first-response target:")

    desk.claim(outage.id, by="cy")
    desk.respond(outage.id, by="cy", message="We are on it")
    later(90)
    desk.resolve(outage.id, by="cy", resolution="restarted the payment gateway")
    desk.rate(outage.id, score=2, comment="Nobody answered for two hours while the shop was down")
    desk.claim(invoice.id, by="bo")
    show("\nSpecialists take the outage; bo starts on the invoice:")

    for hours in range(4, 24 * 8, 4):
        clock.set(START + timedelta(hours=hours))
        desk.tick()
        if hours == 24:
            desk.resume(vpn.id, by="bo", reason="logs received")
        if hours == 80:
            desk.escalate(vpn.id, by="cy", reason="customer threatens to cancel the contract")
    show("\nThe worker ticks on: 20 business hours per tier, then up; the top re-alerts")
    desk.dispatch()

    _summary(desk, say, html)
    return desk


def _summary(desk: Desk, say: Callable[[str], None], html: Path | None) -> None:
    """The end of the week: every case, the events, the outbox, verify, the report."""
    cases = list(desk.cases())
    kinds = Counter(event.kind.value for event in desk.events())
    say("\nAt the end of the week:")
    for case in cases:
        say(f"  {case.id:<5} {case.status.value:<9} {case.tier:<12} owner {case.owner}  "
            f"({case.transfers} transfers, {case.escalations} escalations) {case.title}")
    say("  events: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    delivered = len(desk.outbox(status="delivered"))
    say(f"  notifications delivered: {delivered}; pending: {len(desk.outbox(status='pending'))}")
    problems = desk.verify()
    say(f"  verify: {problems if problems else 'all invariants hold'}")
    say("\nThe report a manager reads at the end of the week (escalate report):\n")
    say(desk.report().to_text())
    if html is not None:
        write_html_report(desk, html)
        say(f"The same report as a web page: {html.resolve().as_uri()}")
