"""The escalation policy: ladders of tiers, SLA targets, calendars, routing and limits.

A policy is built in code from `Ladder`, `Tier`, `SlaTarget` and `BusinessHours`, or
loaded from the TOML format documented in docs/policy.md with `Policy.from_toml`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from .calendars import BusinessHours
from .configreader import (
    check_keys,
    join,
    read_bool,
    read_duration,
    read_fraction,
    read_int,
    read_name,
    read_names,
    read_table,
)
from .durations import check_duration, check_reachable, format_duration
from .errors import ConfigError
from .schedules import Schedule

__all__ = [
    "DEFAULT_TEMPLATE",
    "Ladder",
    "NotificationSettings",
    "Policy",
    "Route",
    "SlaTarget",
    "Template",
    "Tier",
]

#: How a tier hands out cases that arrive in its queue (tier key `assign`).
ASSIGN_STRATEGIES = ("manual", "round_robin", "least_loaded")

#: Case attributes a route may match on; any other `when` key names a custom field.
ROUTE_FIELDS = ("priority", "channel", "category", "customer", "title")

#: Whom a case may wait on without the policy listing more words under `wait_on`.
WAIT_ON = ("customer", "third_party")

#: What happens to a case whose agent owner records nothing for the tier's `idle_after`.
IDLE_ACTIONS = ("return", "escalate")


def route_value(value: object) -> str | None:
    """A case attribute or custom field value as routes compare it (true/false, 5, text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _tiers(value: Iterable[Tier]) -> tuple[Tier, ...]:
    return tuple(value)


def _routes(value: Iterable[Route]) -> tuple[Route, ...]:
    return tuple(value)


@attrs.frozen
class Tier:
    """One level of a ladder: who works there and how long a case may stay."""

    name: str
    members: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    lead: str | None = None
    escalate_after: timedelta | None = None
    realert_every: timedelta | None = None
    warn_at: float | None = None
    calendar: str | None = None
    notify: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    last_resort: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    idle_after: timedelta | None = None
    idle_action: str = "return"
    on_call: str | None = None
    assign: str = "manual"
    claim_within: timedelta | None = None

    def can_work(self, agent: str) -> bool:
        """True if `agent` is a member or the lead of this tier."""
        return agent in self.members or agent == self.lead


@attrs.frozen
class Ladder:
    """The ordered tiers a case climbs, from first contact to the top."""

    name: str
    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers)
    calendar: str | None = None

    def index(self, tier: str) -> int:
        """Position of the named tier (0 is the first), or -1 if it is not in this ladder."""
        for i, candidate in enumerate(self.tiers):
            if candidate.name == tier:
                return i
        return -1

    def next_tier(self, tier: str) -> Tier | None:
        """The tier above `tier`, or None at the top."""
        i = self.index(tier)
        return self.tiers[i + 1] if 0 <= i < len(self.tiers) - 1 else None

    @property
    def first(self) -> Tier:
        """The first tier, where new cases arrive."""
        return self.tiers[0]

    @property
    def top(self) -> Tier:
        """The top tier, which never drops a case."""
        return self.tiers[-1]


@attrs.frozen
class SlaTarget:
    """Commitments for one priority: first response and resolution, in business time."""

    priority: str
    first_response: timedelta | None = None
    resolution: timedelta | None = None
    warn_at: float | None = 0.8
    calendar: str | None = None
    escalate_on_breach: bool = False
    next_update: timedelta | None = None
    pause_on: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_tuple))

    def pauses(self, waiting_on: str | None) -> bool:
        """True when a wait on `waiting_on` pauses this target's clocks (None: any wait)."""
        return self.pause_on is None or waiting_on is None or waiting_on in self.pause_on


def _freeze_when(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: tuple(values) for key, values in value.items()})


@attrs.frozen
class Route:
    """Sends new cases that match `when` to a ladder (and optionally an SLA target)."""

    ladder: str
    when: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_freeze_when,
                                                      hash=False)
    sla: str | None = None

    def matches(self, attributes: Mapping[str, object]) -> bool:
        """True when every condition of `when` holds for the case attributes and fields."""
        return all(route_value(attributes.get(key)) in values
                   for key, values in self.when.items())

    def describe(self) -> str:
        """The conditions as text: "priority=urgent, plan in (gold, platinum)"."""
        if not self.when:
            return "every case"
        return ", ".join(f"{key}={values[0]}" if len(values) == 1
                         else f"{key} in ({', '.join(values)})"
                         for key, values in self.when.items())


def _freeze(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


#: Event kinds whose message text a policy may override under [notifications.templates].
TEMPLATE_KINDS = ("opened", "claimed", "responded", "transferred", "escalated", "assigned",
                  "waited", "resumed", "resolved", "reopened", "closed", "noted", "warned",
                  "breached", "realerted", "returned", "updated")


@attrs.frozen
class Template:
    """Subject and body of a notification, as str.format templates over the event's fields."""

    subject: str
    body: str


@attrs.frozen
class NotificationSettings:
    """Who is told what, on which channel, and how hard delivery is retried."""

    channels: tuple[str, ...] = attrs.field(default=("log",), converter=_tuple)
    recipients: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_freeze,
                                                            hash=False)
    notify_customer: bool = False
    customer_channel: str = "email"
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    timeout: timedelta = timedelta(seconds=30)
    templates: Mapping[str, Template] = attrs.field(factory=dict, converter=_freeze, hash=False)

    def channels_for(self, recipient: str) -> tuple[str, ...]:
        """The channels an agent is told on: their own list, else the default."""
        return self.recipients.get(recipient, self.channels)


@attrs.frozen
class Policy:
    """Everything a desk needs to know to route, own, time and escalate cases."""

    ladders: Mapping[str, Ladder] = attrs.field(converter=_freeze, hash=False)
    sla: Mapping[str, SlaTarget] = attrs.field(factory=dict, converter=_freeze, hash=False)
    calendars: Mapping[str, BusinessHours] = attrs.field(factory=dict, converter=_freeze,
                                                         hash=False)
    routes: tuple[Route, ...] = attrs.field(default=(), converter=_routes)
    max_transfers: int | None = None
    admins: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    notifications: NotificationSettings = attrs.field(factory=NotificationSettings)
    wait_on: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    schedules: Mapping[str, Schedule] = attrs.field(factory=dict, converter=_freeze,
                                                    hash=False)

    def __attrs_post_init__(self) -> None:
        _validate(self)

    # -- lookups ---------------------------------------------------------------------

    def tier(self, name: str) -> Tier:
        """The tier with this name (tier names are unique across ladders)."""
        for ladder in self.ladders.values():
            for tier in ladder.tiers:
                if tier.name == name:
                    return tier
        raise KeyError(name)

    def ladder_of(self, tier: str) -> Ladder:
        """The ladder that contains the named tier."""
        for ladder in self.ladders.values():
            if ladder.index(tier) >= 0:
                return ladder
        raise KeyError(tier)

    def level(self, tier: str) -> int:
        """How high the tier stands in its ladder (0 is the first tier)."""
        return self.ladder_of(tier).index(tier)

    def tiers_of(self, agent: str) -> list[Tier]:
        """Every tier `agent` is a member or lead of, in ladder order."""
        return [tier for ladder in self.ladders.values() for tier in ladder.tiers
                if tier.can_work(agent)]

    def agents(self) -> set[str]:
        """Every agent named anywhere in the policy."""
        names = set(self.admins)
        for ladder in self.ladders.values():
            for tier in ladder.tiers:
                names.update(tier.members)
                if tier.lead:
                    names.add(tier.lead)
        return names

    def on_call(self, tier: str, at: datetime) -> list[str]:
        """Who the tier's schedule puts on call at `at`; every member if it has none."""
        spec = self.tier(tier)
        if spec.on_call is None:
            return list(dict.fromkeys([*spec.members, *([spec.lead] if spec.lead else [])]))
        return self.schedules[spec.on_call].on_call(at, self.calendars)

    def calendar(self, name: str | None) -> BusinessHours:
        """The named calendar; None means round the clock in UTC."""
        if name is None:
            return BusinessHours.always()
        return self.calendars[name]

    def tier_calendar_name(self, tier: str) -> str | None:
        """The calendar a tier's clock runs in: its own, else its ladder's."""
        return self.tier(tier).calendar or self.ladder_of(tier).calendar

    def wait_words(self) -> tuple[str, ...]:
        """Every word `desk.wait(on=...)` accepts: customer, third_party and `wait_on`."""
        return (*WAIT_ON, *(w for w in self.wait_on if w not in WAIT_ON))

    def route_index(self, attributes: Mapping[str, object]) -> int | None:
        """The position of the first matching route; None when the policy has no routes."""
        for i, route in enumerate(self.routes):
            if route.matches(attributes):
                return i
        if not self.routes:
            return None
        self.route(attributes)  # raises the ConfigError that says no route matches
        raise AssertionError("unreachable")  # pragma: no cover

    def route(self, attributes: Mapping[str, object]) -> Route:
        """The first route whose conditions match; without routes, the first ladder."""
        for route in self.routes:
            if route.matches(attributes):
                return route
        if not self.routes:
            return Route(ladder=next(iter(self.ladders)))
        described = ", ".join(f"{k}={v!r}" for k, v in attributes.items() if v is not None)
        raise ConfigError("routes", f"no route matches a case with {described}; add a last "
                                    "route without `when` to catch every case")

    @functools.cached_property
    def version(self) -> str:
        """A short fingerprint of the policy's content; cases record the one they run under."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Load a policy from a TOML file; any bad value raises ConfigError naming its key."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read policy file {str(file)!r}: "
                                  f"{exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError("", f"policy file {str(file)!r} is not UTF-8 (byte "
                                  f"{exc.object[exc.start]:#04x} at offset {exc.start}); save "
                                  "it as UTF-8") from None
        return cls.from_toml_text(text, source=str(file))

    @classmethod
    def from_toml_text(cls, text: str, source: str = "<string>") -> Policy:
        """Load a policy from TOML text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{source} is not valid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from the same structure as the TOML file."""
        return _parse(read_table(data, ""))

    def to_dict(self) -> dict[str, Any]:
        """The policy in the structure `from_dict` reads."""
        out: dict[str, Any] = {}
        if self.max_transfers is not None:
            out["max_transfers"] = self.max_transfers
        if self.admins:
            out["admins"] = list(self.admins)
        if self.wait_on:
            out["wait_on"] = list(self.wait_on)
        if self.calendars:
            out["calendars"] = {name: cal.to_config() for name, cal in self.calendars.items()}
        if self.schedules:
            out["schedules"] = {name: s.to_config() for name, s in self.schedules.items()}
        if self.sla:
            out["sla"] = {name: _sla_to_dict(target) for name, target in self.sla.items()}
        out["ladders"] = {name: _ladder_to_dict(ladder) for name, ladder in self.ladders.items()}
        if self.routes:
            out["routes"] = [_route_to_dict(route) for route in self.routes]
        if self.notifications != NotificationSettings():
            out["notifications"] = _notifications_to_dict(self.notifications)
        return out


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, (), [])}


def _sla_to_dict(target: SlaTarget) -> dict[str, Any]:
    return _drop_none({
        "first_response": target.first_response and format_duration(target.first_response),
        "resolution": target.resolution and format_duration(target.resolution),
        "warn_at": target.warn_at,
        "calendar": target.calendar,
        "escalate_on_breach": target.escalate_on_breach or None,
        "next_update": target.next_update and format_duration(target.next_update),
        "pause_on": None if target.pause_on is None else list(target.pause_on),
    })


def _tier_to_dict(tier: Tier) -> dict[str, Any]:
    return _drop_none({
        "name": tier.name,
        "members": list(tier.members),
        "lead": tier.lead,
        "escalate_after": tier.escalate_after and format_duration(tier.escalate_after),
        "realert_every": tier.realert_every and format_duration(tier.realert_every),
        "warn_at": tier.warn_at,
        "calendar": tier.calendar,
        "notify": list(tier.notify),
        "last_resort": list(tier.last_resort),
        "idle_after": tier.idle_after and format_duration(tier.idle_after),
        "idle_action": None if tier.idle_action == "return" else tier.idle_action,
        "on_call": tier.on_call,
        "assign": None if tier.assign == "manual" else tier.assign,
        "claim_within": tier.claim_within and format_duration(tier.claim_within),
    })


def _ladder_to_dict(ladder: Ladder) -> dict[str, Any]:
    return _drop_none({"calendar": ladder.calendar,
                       "tiers": [_tier_to_dict(tier) for tier in ladder.tiers]})


def _notifications_to_dict(settings: NotificationSettings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channels": list(settings.channels),
        "notify_customer": settings.notify_customer,
        "customer_channel": settings.customer_channel,
        "max_attempts": settings.max_attempts,
        "backoff": format_duration(settings.backoff),
        "max_backoff": format_duration(settings.max_backoff),
        "lease": format_duration(settings.lease),
        "timeout": format_duration(settings.timeout),
    }
    if settings.recipients:
        out["recipients"] = {name: list(chs) for name, chs in settings.recipients.items()}
    if settings.templates:
        out["templates"] = {kind: {"subject": t.subject, "body": t.body}
                            for kind, t in settings.templates.items()}
    return out


def _route_to_dict(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {"ladder": route.ladder}
    if route.when:
        out["when"] = {key: list(values) if len(values) > 1 else values[0]
                       for key, values in route.when.items()}
    if route.sla:
        out["sla"] = route.sla
    return out


# -- parsing -------------------------------------------------------------------------

_TOP_KEYS = ("max_transfers", "admins", "calendars", "sla", "ladders", "routes",
             "notifications", "wait_on", "schedules")
_NOTIFICATION_KEYS = ("channels", "recipients", "notify_customer", "customer_channel",
                      "max_attempts", "backoff", "max_backoff", "lease", "timeout", "templates")
_SLA_KEYS = ("first_response", "resolution", "warn_at", "calendar", "escalate_on_breach",
             "next_update", "pause_on")
_LADDER_KEYS = ("calendar", "tiers")
_TIER_KEYS = ("name", "members", "lead", "escalate_after", "realert_every", "warn_at",
              "calendar", "notify", "last_resort", "idle_after", "idle_action",
              "on_call", "assign", "claim_within")
_ROUTE_KEYS = ("when", "ladder", "sla")


def _parse(data: Mapping[str, Any]) -> Policy:
    check_keys(data, "", _TOP_KEYS)
    max_transfers = None
    if "max_transfers" in data:
        max_transfers = read_int(data["max_transfers"], "max_transfers")
    admins = read_names(data.get("admins", []), "admins")
    calendars = {
        read_name(name, join("calendars", name)):
            BusinessHours.from_config(read_table(spec, join("calendars", name)),
                                      join("calendars", name))
        for name, spec in read_table(data.get("calendars", {}), "calendars").items()
    }
    schedules = {
        read_name(name, join("schedules", name)):
            Schedule.from_config(name, spec, join("schedules", name), calendars)
        for name, spec in read_table(data.get("schedules", {}), "schedules").items()
    }
    sla = {name: _parse_sla(name, read_table(spec, join("sla", name)), join("sla", name))
           for name, spec in read_table(data.get("sla", {}), "sla").items()}
    if "ladders" not in data:
        raise ConfigError("ladders", "missing; define at least one ladder, e.g. "
                                     "[[ladders.support.tiers]] with name and members")
    ladders_table = read_table(data["ladders"], "ladders")
    if not ladders_table:
        raise ConfigError("ladders", "no ladder defined; define at least one ladder")
    ladders = {name: _parse_ladder(name, read_table(spec, join("ladders", name)))
               for name, spec in ladders_table.items()}
    routes_value = data.get("routes", [])
    if not isinstance(routes_value, list):
        raise ConfigError("routes", f"expected a list of routes ([[routes]]), got {routes_value!r}")
    routes = [_parse_route(read_table(spec, join("routes", i)), join("routes", i))
              for i, spec in enumerate(routes_value)]
    notifications = _parse_notifications(
        read_table(data.get("notifications", {}), "notifications"), "notifications")
    return Policy(ladders=ladders, sla=sla, calendars=calendars, routes=routes,
                  max_transfers=max_transfers, admins=admins, notifications=notifications,
                  wait_on=read_names(data.get("wait_on", []), "wait_on"),
                  schedules=schedules)


def _parse_notifications(spec: Mapping[str, Any], path: str) -> NotificationSettings:
    check_keys(spec, path, _NOTIFICATION_KEYS)
    defaults = NotificationSettings()
    recipients_path = join(path, "recipients")
    recipients = {name: read_names(value, join(recipients_path, name), allow_empty=False)
                  for name, value in read_table(spec.get("recipients", {}),
                                                recipients_path).items()}
    templates_path = join(path, "templates")
    templates = {}
    for kind, value in read_table(spec.get("templates", {}), templates_path).items():
        where = join(templates_path, kind)
        if kind not in TEMPLATE_KINDS:
            raise ConfigError(where, f"unknown event kind; expected one of "
                                     f"{', '.join(TEMPLATE_KINDS)}")
        table = read_table(value, where)
        check_keys(table, where, ("subject", "body"))
        base = DEFAULT_TEMPLATE
        template = Template(subject=_template_text(table.get("subject", base.subject),
                                                   join(where, "subject")),
                            body=_template_text(table.get("body", base.body), join(where, "body")))
        templates[kind] = template

    def pick(key: str, reader: Any) -> Any:
        return reader(spec[key], join(path, key)) if key in spec else getattr(defaults, key)

    return NotificationSettings(
        channels=pick("channels", lambda v, p: read_names(v, p, allow_empty=False)),
        recipients=recipients,
        notify_customer=pick("notify_customer", read_bool),
        customer_channel=pick("customer_channel", read_name),
        max_attempts=pick("max_attempts", lambda v, p: read_int(v, p, minimum=1)),
        backoff=pick("backoff", read_duration),
        max_backoff=pick("max_backoff", read_duration),
        lease=pick("lease", read_duration),
        timeout=pick("timeout", read_duration),
        templates=templates,
    )


#: The message used for every event kind without its own template.
DEFAULT_TEMPLATE = Template(
    subject="[{case_id}] {title}: {headline}",
    body=("{headline}\n\nCase {case_id} ({priority}, {channel}) for customer {customer}\n"
          "Status: {status}; owner: {owner}; tier: {tier}\n"
          "At: {at}\nBy: {actor}\n{reason_line}"),
)

#: Names a template may use.
TEMPLATE_FIELDS = ("case_id", "title", "headline", "kind", "priority", "channel", "customer",
                   "status", "owner", "tier", "at", "actor", "reason", "reason_line",
                   "recipient")


def _template_text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, f"expected non-empty template text, got {value!r}")
    text = value
    try:
        text.format_map({name: "" for name in TEMPLATE_FIELDS})
    except (KeyError, IndexError) as exc:
        raise ConfigError(path, f"template uses {exc} which is not available; use "
                                f"{{name}} with one of {', '.join(TEMPLATE_FIELDS)}") from None
    except ValueError as exc:
        raise ConfigError(path, f"template is not valid format text ({exc}); use "
                                f"{{name}} with one of {', '.join(TEMPLATE_FIELDS)}") from None
    return text


def _parse_sla(name: str, spec: Mapping[str, Any], path: str) -> SlaTarget:
    read_name(name, path)
    check_keys(spec, path, _SLA_KEYS)
    return SlaTarget(
        priority=name,
        first_response=_optional(spec, "first_response", path, read_duration),
        resolution=_optional(spec, "resolution", path, read_duration),
        warn_at=_optional(spec, "warn_at", path, read_fraction) or 0.8,
        calendar=_optional(spec, "calendar", path, read_name),
        escalate_on_breach=bool(_optional(spec, "escalate_on_breach", path, read_bool)),
        next_update=_optional(spec, "next_update", path, read_duration),
        pause_on=_optional(spec, "pause_on", path, read_names),
    )


def _parse_ladder(name: str, spec: Mapping[str, Any]) -> Ladder:
    path = join("ladders", name)
    read_name(name, path)
    check_keys(spec, path, _LADDER_KEYS)
    tiers_value = spec.get("tiers")
    tiers_path = join(path, "tiers")
    if not isinstance(tiers_value, list) or not tiers_value:
        raise ConfigError(tiers_path, "a ladder needs at least one tier; add "
                                      f"[[{tiers_path}]] with a name and members")
    tiers = [_parse_tier(read_table(t, join(tiers_path, i)), join(tiers_path, i))
             for i, t in enumerate(tiers_value)]
    return Ladder(name=name, tiers=tiers, calendar=_optional(spec, "calendar", path, read_name))


def _parse_tier(spec: Mapping[str, Any], path: str) -> Tier:
    check_keys(spec, path, _TIER_KEYS)
    if "name" not in spec:
        raise ConfigError(join(path, "name"), "missing; every tier needs a name")
    return Tier(
        name=read_name(spec["name"], join(path, "name")),
        members=read_names(spec.get("members", []), join(path, "members")),
        lead=_optional(spec, "lead", path, read_name),
        escalate_after=_optional(spec, "escalate_after", path, read_duration),
        realert_every=_optional(spec, "realert_every", path, read_duration),
        warn_at=_optional(spec, "warn_at", path, read_fraction),
        calendar=_optional(spec, "calendar", path, read_name),
        notify=read_names(spec.get("notify", []), join(path, "notify")),
        last_resort=read_names(spec.get("last_resort", []), join(path, "last_resort")),
        idle_after=_optional(spec, "idle_after", path, read_duration),
        idle_action=_optional(spec, "idle_action", path, read_name) or "return",
        on_call=_optional(spec, "on_call", path, read_name),
        assign=_optional(spec, "assign", path, _read_strategy) or "manual",
        claim_within=_optional(spec, "claim_within", path, read_duration),
    )


def _read_strategy(value: object, path: str) -> str:
    if not isinstance(value, str) or value not in ASSIGN_STRATEGIES:
        raise ConfigError(path, f"expected one of {', '.join(ASSIGN_STRATEGIES)}, got {value!r}")
    return value


def _parse_route(spec: Mapping[str, Any], path: str) -> Route:
    check_keys(spec, path, _ROUTE_KEYS)
    if "ladder" not in spec:
        raise ConfigError(join(path, "ladder"), "missing; say which ladder matching cases go to")
    when_path = join(path, "when")
    when = read_table(spec.get("when", {}), when_path)
    conditions = {read_name(key, when_path): _read_route_values(value, join(when_path, key))
                  for key, value in when.items()}
    return Route(ladder=read_name(spec["ladder"], join(path, "ladder")), when=conditions,
                 sla=_optional(spec, "sla", path, read_name))


def _read_route_values(value: object, path: str) -> tuple[str, ...]:
    """One value or a list of values (text, whole numbers, true/false) a route matches."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ConfigError(path, "expected a value or a non-empty list of values")
    out: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, float) or not isinstance(item, str | int | bool) or item == "":
            raise ConfigError(join(path, i) if isinstance(value, list) else path,
                              f"expected text, a whole number or true/false, got {item!r}")
        out.append(route_value(item) or "")
    return tuple(out)


def _optional(spec: Mapping[str, Any], key: str, path: str, reader: Any) -> Any:
    if key not in spec:
        return None
    return reader(spec[key], join(path, key))


# -- whole-policy checks (also run for policies built in code) ------------------------

def _validate(policy: Policy) -> None:
    if not policy.ladders:
        raise ConfigError("ladders", "no ladder defined; define at least one ladder")
    for name, cal in policy.calendars.items():
        if not isinstance(cal, BusinessHours):
            raise ConfigError(join("calendars", name), "expected a BusinessHours")
    for name, schedule in policy.schedules.items():
        if not isinstance(schedule, Schedule):
            raise ConfigError(join("schedules", name), "expected a Schedule")
        for i, layer in enumerate(schedule.layers):
            _check_calendar(policy, layer.hours,
                            join(join(join("schedules", name), "layers"), i) + ".hours")
    seen_tiers: dict[str, str] = {}
    for ladder_name, ladder in policy.ladders.items():
        path = join("ladders", ladder_name)
        if ladder.name != ladder_name:
            raise ConfigError(path, f"ladder is registered as {ladder_name!r} but named "
                                    f"{ladder.name!r}")
        _check_calendar(policy, ladder.calendar, join(path, "calendar"))
        if not ladder.tiers:
            raise ConfigError(join(path, "tiers"), "a ladder needs at least one tier")
        for i, tier in enumerate(ladder.tiers):
            _validate_tier(policy, tier, join(join(path, "tiers"), i),
                           is_top=i == len(ladder.tiers) - 1, seen=seen_tiers,
                           ladder=ladder_name)
    for name, target in policy.sla.items():
        path = join("sla", name)
        _check_calendar(policy, target.calendar, join(path, "calendar"))
        if target.warn_at is not None and not 0 < target.warn_at < 1:
            raise ConfigError(join(path, "warn_at"), "expected a fraction between 0 and 1")
        _check_pause_on(policy, target, join(path, "pause_on"))
        for key in ("first_response", "resolution", "next_update"):
            _check_limit(policy, getattr(target, key), target.calendar, join(path, key))
    for i, route in enumerate(policy.routes):
        path = join("routes", i)
        if route.ladder not in policy.ladders:
            raise ConfigError(join(path, "ladder"), f"unknown ladder {route.ladder!r}; "
                                                    f"expected one of {', '.join(policy.ladders)}")
        if route.sla is not None and route.sla not in policy.sla:
            raise ConfigError(join(path, "sla"), f"unknown SLA target {route.sla!r}; expected "
                                                 f"one of {', '.join(policy.sla) or '(none)'}")
        if not route.when and i != len(policy.routes) - 1:
            raise ConfigError(path, "a route without `when` matches every case, so the routes "
                                    "after it would never be used; move it to the end")
    if policy.max_transfers is not None and policy.max_transfers < 0:
        raise ConfigError("max_transfers", "expected a whole number >= 0")


def _validate_tier(policy: Policy, tier: Tier, path: str, *, is_top: bool,
                   seen: dict[str, str], ladder: str) -> None:
    if tier.name in seen:
        raise ConfigError(join(path, "name"), f"tier {tier.name!r} is already defined in ladder "
                                              f"{seen[tier.name]!r}; tier names must be unique")
    seen[tier.name] = ladder
    if not tier.members and not tier.lead:
        raise ConfigError(join(path, "members"), "a tier needs at least one member or a lead "
                                                 "so that someone can work its cases")
    _check_calendar(policy, tier.calendar, join(path, "calendar"))
    if tier.idle_action not in IDLE_ACTIONS:
        raise ConfigError(join(path, "idle_action"), f"unknown idle action {tier.idle_action!r}; "
                                                     "expected 'return' or 'escalate'")
    for key in ("escalate_after", "realert_every", "idle_after", "claim_within"):
        _check_limit(policy, getattr(tier, key), tier.calendar or policy.ladders[ladder].calendar,
                     join(path, key))
    if tier.warn_at is not None and not 0 < tier.warn_at < 1:
        raise ConfigError(join(path, "warn_at"), "expected a fraction between 0 and 1")
    if tier.on_call is not None and tier.on_call not in policy.schedules:
        known = ", ".join(policy.schedules) or "(none defined)"
        raise ConfigError(join(path, "on_call"), f"unknown schedule {tier.on_call!r}; expected "
                                                 f"one of {known}, or define "
                                                 f"[schedules.{tier.on_call}]")
    if tier.assign not in ASSIGN_STRATEGIES:
        raise ConfigError(join(path, "assign"), f"expected one of {', '.join(ASSIGN_STRATEGIES)}"
                                                f", got {tier.assign!r}")
    if not is_top and tier.realert_every is not None:
        raise ConfigError(join(path, "realert_every"), "only the top tier re-alerts; lower "
                                                       "tiers escalate after `escalate_after`")


def _check_limit(policy: Policy, value: timedelta | None, calendar: str | None,
                 path: str) -> None:
    """A business-time limit: positive, at most ten years, reachable on its calendar."""
    if value is None:
        return
    check_duration(value, path)
    if calendar is not None and calendar in policy.calendars:
        check_reachable(value, policy.calendars[calendar].open_per_week, calendar, path)


def _check_pause_on(policy: Policy, target: SlaTarget, path: str) -> None:
    words = policy.wait_words()
    for i, word in enumerate(target.pause_on or ()):
        if word not in words:
            raise ConfigError(join(path, i), f"unknown wait {word!r}; expected one of "
                                             f"{', '.join(words)}, or list it in `wait_on`")


def _check_calendar(policy: Policy, name: str | None, path: str) -> None:
    if name is not None and name not in policy.calendars:
        known = ", ".join(policy.calendars) or "(none defined)"
        raise ConfigError(path, f"unknown calendar {name!r}; expected one of {known}, or define "
                                f"[calendars.{name}]")
