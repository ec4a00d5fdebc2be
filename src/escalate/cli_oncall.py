"""`escalate oncall TIER`: who is on call for a tier now (or at another time), and until when."""

from __future__ import annotations

from datetime import datetime

import click

from .cli_common import emit, json_option, policy_option, reports_errors
from .clock import SystemClock, as_utc
from .errors import InvalidInput
from .policy import Policy

__all__ = ["oncall"]


def _moment(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--at {text!r} is not a time; write it like "
                           "2026-12-24T10:00+02:00 or 2026-12-24T08:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"--at {text!r} has no offset; add one such as +02:00 or Z")
    return as_utc(moment)


@click.command()
@click.argument("tier")
@click.option("--at", "at_text", default=None,
              help="An ISO time with offset (default: now), e.g. 2026-12-24T10:00+02:00.")
@policy_option
@json_option
@reports_errors
def oncall(tier: str, at_text: str | None, policy_path: str, as_json: bool) -> None:
    """Who is on call for TIER, by its schedule, and the next hand-off."""
    policy = Policy.from_toml(policy_path)
    moment = _moment(at_text)
    try:
        spec = policy.tier(tier)
    except KeyError:
        known = ", ".join(t.name for ladder in policy.ladders.values() for t in ladder.tiers)
        raise InvalidInput(f"unknown tier {tier!r}; the policy defines {known}") from None
    names = policy.on_call(tier, moment)
    schedule = None if spec.on_call is None else policy.schedules[spec.on_call]
    handoff = None if schedule is None else schedule.next_handoff(moment, policy.calendars)
    data = {"tier": tier, "at": moment.isoformat(), "on_call": names,
            "schedule": spec.on_call,
            "next_handoff": None if handoff is None else handoff.isoformat()}

    def text() -> str:
        who = ", ".join(names) if names else "nobody (calls go to the tier lead)"
        if schedule is None:
            return f"{tier}: {who} (no schedule: every member is on call)"
        zone = schedule.zone
        until = ("" if handoff is None else
                 f"; next hand-off {handoff.astimezone(zone):%a %Y-%m-%d %H:%M} "
                 f"{schedule.timezone}")
        return f"{tier}: {who} (schedule {schedule.name}{until})"

    emit(data, as_json, text)
