"""Loading policies: the documented example, dict/TOML equivalence, round trips, routing, and
one test per kind of bad configuration, each naming the exact key path."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import (
    BusinessHours,
    ConfigError,
    Desk,
    Ladder,
    ManualClock,
    Policy,
    Route,
    SlaTarget,
    Tier,
)
from escalate.testing import STANDARD_POLICY, TIMED_POLICY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "escalation.toml"


def example_data() -> dict[str, Any]:
    with EXAMPLE.open("rb") as file:
        return tomllib.load(file)


def bad(mutate: Callable[[dict[str, Any]], object], path: str, *fragments: str) -> ConfigError:
    """Apply `mutate` to the example's data and expect a ConfigError at exactly `path`."""
    data = example_data()
    mutate(data)
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(data)
    error = info.value
    assert error.path == path, str(error)
    assert str(error).startswith(f"{path}: "), str(error)
    for fragment in fragments:
        assert fragment in str(error), f"{fragment!r} not in {str(error)!r}"
    return error


def tier(data: dict[str, Any], index: int) -> dict[str, Any]:
    return data["ladders"]["support"]["tiers"][index]  # type: ignore[no-any-return]


# -- the documented example ---------------------------------------------------------------------


def test_example_policy_loads_as_documented() -> None:
    policy = Policy.from_toml(EXAMPLE)
    assert policy.max_transfers == 2
    assert policy.admins == ("root",)

    office = policy.calendars["office"]
    assert office.timezone == "Europe/Bucharest"
    assert office.holidays == frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    assert office.holiday_country == "RO"
    assert office.weekly is not None and sorted(office.weekly) == [0, 1, 2, 3, 4]
    assert len(office.weekly[4]) == 2  # Friday has a lunch break
    assert policy.calendars["always"].is_always

    urgent, normal = policy.sla["urgent"], policy.sla["normal"]
    assert urgent == SlaTarget(priority="urgent", first_response=timedelta(hours=1),
                               resolution=timedelta(hours=8), warn_at=0.8, calendar="always",
                               escalate_on_breach=True)
    # "5d" is five days of 24 business hours each
    assert normal == SlaTarget(priority="normal", first_response=timedelta(hours=8),
                               resolution=timedelta(hours=120), warn_at=0.8, calendar="office")

    ladder = policy.ladders["support"]
    assert ladder.calendar == "office"
    assert [t.name for t in ladder.tiers] == ["frontline", "specialists", "management"]
    frontline, specialists, management = ladder.tiers
    assert frontline == Tier(name="frontline", members=("ana", "bo"),
                             escalate_after=timedelta(hours=20))
    assert specialists == Tier(name="specialists", members=("cy", "dan"), lead="cy",
                               escalate_after=timedelta(hours=20), warn_at=0.75)
    assert management == Tier(name="management", members=("dee",), lead="dee",
                              realert_every=timedelta(hours=4), last_resort=("root",))
    assert ladder.first is frontline and ladder.top is management
    assert ladder.next_tier("frontline") is specialists and ladder.next_tier("management") is None

    assert policy.routes == (Route(ladder="support", when={"priority": ("urgent",)}),
                             Route(ladder="support"))
    settings = policy.notifications
    assert settings.channels == ("log",)
    assert (settings.max_attempts, settings.backoff, settings.max_backoff) == (
        8, timedelta(seconds=30), timedelta(hours=1))

    assert policy.agents() == {"ana", "bo", "cy", "dan", "dee", "root"}
    assert policy.level("specialists") == 1
    assert policy.tier_calendar_name("management") == "office"
    assert [t.name for t in policy.tiers_of("cy")] == ["specialists"]


def test_the_packaged_example_matches_the_documented_one() -> None:
    packaged = ROOT / "src" / "escalate" / "escalation.toml"
    assert Policy.from_toml(packaged) == Policy.from_toml(EXAMPLE)


def test_from_dict_equals_from_toml() -> None:
    from_file = Policy.from_toml(EXAMPLE)
    from_dict = Policy.from_dict(example_data())
    from_text = Policy.from_toml_text(EXAMPLE.read_text(encoding="utf-8"))
    assert from_file == from_dict == from_text
    assert from_file.version == from_dict.version == from_text.version


@pytest.mark.parametrize("data", [example_data(), STANDARD_POLICY, TIMED_POLICY],
                         ids=["example", "standard", "timed"])
def test_to_dict_round_trips(data: dict[str, Any]) -> None:
    policy = Policy.from_dict(data)
    again = Policy.from_dict(policy.to_dict())
    assert again == policy
    assert again.version == policy.version
    assert again.to_dict() == policy.to_dict()


def test_round_trip_keeps_notification_settings_and_templates() -> None:
    data = example_data()
    data["notifications"] = {
        "channels": ["email", "log"], "recipients": {"dee": ["sms"]},
        "notify_customer": True, "customer_channel": "email", "max_attempts": 3,
        "backoff": "10s", "max_backoff": "5m", "lease": "1m", "timeout": "2s",
        "templates": {"escalated": {"subject": "UP {case_id}", "body": "{headline}"}},
    }
    policy = Policy.from_dict(data)
    again = Policy.from_dict(policy.to_dict())
    assert again == policy and again.version == policy.version
    assert again.notifications.templates["escalated"].subject == "UP {case_id}"
    assert again.notifications.channels_for("dee") == ("sms",)
    assert again.notifications.channels_for("ana") == ("email", "log")


def test_version_changes_with_content() -> None:
    data = example_data()
    original = Policy.from_dict(data)
    tier(data, 0)["escalate_after"] = "21h"
    changed = Policy.from_dict(data)
    assert changed != original
    assert changed.version != original.version
    assert len(original.version) == 12


def test_policy_built_in_code_equals_the_loaded_one() -> None:
    built = Policy(
        ladders={"support": Ladder(name="support", tiers=[
            Tier(name="frontline", members=["ana", "bo"]),
            Tier(name="specialists", members=["cy", "dan"], lead="cy"),
            Tier(name="management", members=["dee"], lead="dee"),
        ])},
        max_transfers=2, admins=["root"],
    )
    assert built == Policy.from_dict(STANDARD_POLICY)
    assert built.version == Policy.from_dict(STANDARD_POLICY).version


def test_policy_built_in_code_is_validated() -> None:
    with pytest.raises(ConfigError) as info:
        Policy(ladders={"support": Ladder(name="support", tiers=[Tier(name="solo")])})
    assert info.value.path == "ladders.support.tiers[0].members"
    with pytest.raises(ConfigError) as info:
        Policy(ladders={"a": Ladder(name="b", tiers=[Tier(name="t", members=["x"])])})
    assert info.value.path == "ladders.a"
    with pytest.raises(ConfigError) as info:
        Policy(ladders={})
    assert info.value.path == "ladders"
    with pytest.raises(ConfigError) as info:
        Policy(ladders={"s": Ladder(name="s", tiers=[Tier(name="t", members=["x"])])},
               calendars={"office": "9-5"})
    assert info.value.path == "calendars.office"
    ok = Policy(ladders={"s": Ladder(name="s", tiers=[Tier(name="t", lead="x")],
                                     calendar="office")},
                calendars={"office": BusinessHours.always("Europe/Bucharest")})
    assert ok.tier_calendar_name("t") == "office"


# -- routing -----------------------------------------------------------------------------------


def routed_policy(*, catch_all: bool = True) -> Policy:
    data = copy.deepcopy(TIMED_POLICY)
    data["ladders"]["vip"] = {"tiers": [{"name": "concierge", "members": ["vi"]}]}
    data["routes"] = [
        {"when": {"priority": "urgent", "channel": ["phone", "chat"]}, "ladder": "vip"},
        {"when": {"priority": "urgent"}, "ladder": "support", "sla": "normal"},
        {"when": {"customer": ["acme"]}, "ladder": "vip"},
    ]
    if catch_all:
        data["routes"].append({"ladder": "support"})
    return Policy.from_dict(data)


def test_first_matching_route_wins() -> None:
    policy = routed_policy()
    urgent_phone = {"priority": "urgent", "channel": "phone", "category": None,
                    "customer": "acme"}
    assert policy.route(urgent_phone).ladder == "vip"
    assert policy.route(urgent_phone) is policy.routes[0]
    urgent_web = {**urgent_phone, "channel": "web"}
    assert policy.route(urgent_web) is policy.routes[1]  # not the later "acme" route
    assert policy.route(urgent_web).sla == "normal"
    acme = {**urgent_web, "priority": "normal"}
    assert policy.route(acme) is policy.routes[2]


def test_fallback_route_catches_the_rest() -> None:
    policy = routed_policy()
    other = {"priority": "normal", "channel": "email", "category": "billing", "customer": "x"}
    assert policy.route(other) is policy.routes[-1]
    assert policy.route(other) == Route(ladder="support")


def test_without_routes_the_first_ladder_takes_every_case() -> None:
    policy = Policy.from_dict(STANDARD_POLICY)
    assert policy.routes == ()
    assert policy.route({"priority": "anything"}) == Route(ladder="support")


def test_no_matching_route_is_a_config_error() -> None:
    policy = routed_policy(catch_all=False)
    with pytest.raises(ConfigError) as info:
        policy.route({"priority": "normal", "channel": "email", "category": None,
                      "customer": "zz"})
    assert info.value.path == "routes"
    assert "priority='normal'" in str(info.value)
    assert "add a last route without `when`" in str(info.value)


def test_desk_opens_cases_on_the_routed_ladder_and_sla() -> None:
    desk = Desk(routed_policy(), store="memory://", clock=ManualClock(), autoload_plugins=False)
    vip = desk.open(title="t", customer="c", channel="chat", priority="urgent")
    assert (vip.ladder, vip.tier, vip.sla) == ("vip", "concierge", "urgent")
    slower = desk.open(title="t", customer="c", channel="web", priority="urgent")
    assert (slower.ladder, slower.tier, slower.sla) == ("support", "frontline", "normal")
    unrouted = Desk(routed_policy(catch_all=False), store="memory://", clock=ManualClock(),
                    autoload_plugins=False)
    with pytest.raises(ConfigError, match="no route matches"):
        unrouted.open(title="t", customer="c", channel="web", priority="normal")
    assert list(unrouted.cases()) == []


# -- one test per kind of bad configuration -------------------------------------------------------


def test_unknown_top_level_key() -> None:
    bad(lambda d: d.update(max_transfer=3), "max_transfer", "unknown key", "max_transfers")


def test_unknown_tier_key() -> None:
    bad(lambda d: tier(d, 1).update(escalate_afte="20h"),
        "ladders.support.tiers[1].escalate_afte", "unknown key", "escalate_after")


def test_empty_tiers_list() -> None:
    bad(lambda d: d["ladders"]["support"].update(tiers=[]), "ladders.support.tiers",
        "at least one tier", "[[ladders.support.tiers]]")


def test_ladder_without_tiers() -> None:
    bad(lambda d: d["ladders"]["support"].pop("tiers"), "ladders.support.tiers",
        "at least one tier")


def test_no_ladders() -> None:
    bad(lambda d: d.pop("ladders"), "ladders", "missing")
    bad(lambda d: d.update(ladders={}), "ladders", "no ladder defined")


def test_tier_without_name() -> None:
    bad(lambda d: tier(d, 1).pop("name"), "ladders.support.tiers[1].name", "missing",
        "needs a name")


@pytest.mark.parametrize("name", ["", "  ", " padded", 3])
def test_tier_with_a_bad_name(name: Any) -> None:
    bad(lambda d: tier(d, 0).update(name=name), "ladders.support.tiers[0].name",
        "expected a non-empty name")


def test_tier_without_members_or_lead() -> None:
    bad(lambda d: tier(d, 0).pop("members"), "ladders.support.tiers[0].members",
        "at least one member or a lead")
    bad(lambda d: tier(d, 0).update(members=[]), "ladders.support.tiers[0].members",
        "at least one member or a lead")


def test_a_member_listed_twice() -> None:
    bad(lambda d: tier(d, 0).update(members=["ana", "bo", "ana"]),
        "ladders.support.tiers[0].members[2]", "listed twice")


def test_duplicate_tier_names_across_ladders() -> None:
    bad(lambda d: d["ladders"].update(vip={"tiers": [{"name": "specialists",
                                                      "members": ["vi"]}]}),
        "ladders.vip.tiers[0].name", "'specialists' is already defined in ladder 'support'",
        "unique")


def test_duplicate_tier_names_in_one_ladder() -> None:
    bad(lambda d: tier(d, 2).update(name="frontline"), "ladders.support.tiers[2].name",
        "already defined")


@pytest.mark.parametrize(("value", "fragment"), [
    ("-1h", "must be greater than zero"),
    ("0h", "greater than zero"),
    ("0m0s", "greater than zero"),
    ("twenty hours", "is not a duration"),
    ("20", "is not a duration"),
    (20, "expected a duration"),
    (timedelta(hours=-1), "greater than zero"),
    (timedelta(0), "greater than zero"),
])
def test_bad_durations(value: Any, fragment: str) -> None:
    bad(lambda d: tier(d, 1).update(escalate_after=value),
        "ladders.support.tiers[1].escalate_after", fragment)


def test_bad_durations_elsewhere() -> None:
    bad(lambda d: d["sla"]["normal"].update(resolution="0d"), "sla.normal.resolution",
        "greater than zero")
    bad(lambda d: tier(d, 2).update(realert_every="often"),
        "ladders.support.tiers[2].realert_every", "not a duration")
    bad(lambda d: d["notifications"].update(backoff="-30s"), "notifications.backoff")


@pytest.mark.parametrize("value", [0, 1, 1.5, "80%", True, -0.2])
def test_bad_warn_fraction(value: Any) -> None:
    bad(lambda d: d["sla"]["urgent"].update(warn_at=value), "sla.urgent.warn_at",
        "between 0 and 1", "0.8")
    bad(lambda d: tier(d, 1).update(warn_at=value), "ladders.support.tiers[1].warn_at",
        "between 0 and 1")


def test_realert_every_on_a_lower_tier() -> None:
    bad(lambda d: tier(d, 1).update(realert_every="4h"),
        "ladders.support.tiers[1].realert_every", "only the top tier re-alerts")


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d["ladders"]["support"].update(calendar="night"), "ladders.support.calendar"),
    (lambda d: d["sla"]["normal"].update(calendar="night"), "sla.normal.calendar"),
    (lambda d: tier(d, 2).update(calendar="night"), "ladders.support.tiers[2].calendar"),
], ids=["ladder", "sla", "tier"])
def test_unknown_calendar_reference(mutate: Callable[[dict[str, Any]], object],
                                    path: str) -> None:
    bad(mutate, path, "unknown calendar 'night'", "office, always", "[calendars.night]")


def test_unknown_ladder_in_a_route() -> None:
    bad(lambda d: d["routes"][0].update(ladder="suport"), "routes[0].ladder",
        "unknown ladder 'suport'", "support")


def test_route_problems() -> None:
    bad(lambda d: d["routes"][0].pop("ladder"), "routes[0].ladder", "missing")
    bad(lambda d: d["routes"][0].update(sla="gold"), "routes[0].sla", "unknown SLA target")
    bad(lambda d: d["routes"][0].update(when={"colour": 1.5}), "routes[0].when.colour",
        "whole number or true/false", "1.5")
    bad(lambda d: d["routes"][0].update(when={"plan": ["gold", None]}),
        "routes[0].when.plan[1]", "expected text")
    bad(lambda d: d["routes"][0].update(when={"plan": []}), "routes[0].when.plan",
        "non-empty list")
    bad(lambda d: d.update(routes={"ladder": "support"}), "routes", "list of routes")


def test_catch_all_route_that_is_not_last() -> None:
    bad(lambda d: d["routes"].reverse(), "routes[0]", "without `when`", "move it to the end")


@pytest.mark.parametrize("value", [-1, "2", True, 1.5])
def test_bad_max_transfers(value: Any) -> None:
    bad(lambda d: d.update(max_transfers=value), "max_transfers", "whole number >= 0",
        repr(value))


def test_zero_max_transfers_is_allowed() -> None:
    data = example_data()
    data["max_transfers"] = 0
    assert Policy.from_dict(data).max_transfers == 0


def test_unknown_time_zone() -> None:
    bad(lambda d: d["calendars"]["office"].update(timezone="Europe/Bucharestt"),
        "calendars.office.timezone", "unknown time zone", 'did you mean "Europe/Bucharest"')
    bad(lambda d: d["calendars"]["office"].update(timezone="Mars/Olympus"),
        "calendars.office.timezone", "IANA")


@pytest.mark.parametrize(("day", "value"), [("mon", "9-17"), ("tue", "17:00-09:00"),
                                            ("wed", "09:00-25:00"), ("thu", 9)])
def test_bad_hours(day: str, value: Any) -> None:
    bad(lambda d: d["calendars"]["office"]["hours"].update({day: value}),
        f"calendars.office.hours.{day}")


def test_unknown_day_in_hours() -> None:
    bad(lambda d: d["calendars"]["office"]["hours"].update(funday="09:00-17:00"),
        "calendars.office.hours.funday", "unknown day", "mon")


def test_unknown_calendar_key() -> None:
    bad(lambda d: d["calendars"]["office"].update(holiday="2026-12-24"),
        "calendars.office.holiday", "unknown key", 'did you mean "holidays"')


def test_invalid_toml_text() -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_toml_text("max_transfers = \n[ladders", source="broken.toml")
    assert info.value.path == ""
    assert "broken.toml is not valid TOML" in str(info.value)
    assert str(info.value).startswith("<policy>: ")


def test_missing_policy_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        Policy.from_toml(missing)
    assert "cannot read policy file" in str(info.value)
    assert str(missing) in str(info.value)


def test_unknown_notification_key() -> None:
    bad(lambda d: d["notifications"].update(retries=3), "notifications.retries",
        "unknown key", "max_attempts")


def test_template_with_an_unknown_field() -> None:
    bad(lambda d: d["notifications"].update(
        templates={"escalated": {"subject": "Case {nope} moved"}}),
        "notifications.templates.escalated.subject", "'nope'", "case_id")


def test_template_with_broken_format() -> None:
    bad(lambda d: d["notifications"].update(templates={"escalated": {"body": "oops {"}}),
        "notifications.templates.escalated.body")


def test_template_for_an_unknown_kind() -> None:
    bad(lambda d: d["notifications"].update(templates={"exploded": {"subject": "x"}}),
        "notifications.templates.exploded", "unknown event kind", "escalated")


def test_template_with_an_unknown_part() -> None:
    bad(lambda d: d["notifications"].update(templates={"escalated": {"title": "x"}}),
        "notifications.templates.escalated.title", "unknown key")


@pytest.mark.parametrize("value", [0, -1, "3", True])
def test_bad_max_attempts(value: Any) -> None:
    bad(lambda d: d["notifications"].update(max_attempts=value),
        "notifications.max_attempts", "whole number >= 1")


def test_empty_notification_channels() -> None:
    bad(lambda d: d["notifications"].update(channels=[]), "notifications.channels",
        "at least one name")
    bad(lambda d: d["notifications"].update(recipients={"dee": []}),
        "notifications.recipients.dee", "at least one name")


def test_bad_tables() -> None:
    bad(lambda d: d.update(sla=["urgent"]), "sla", "expected a table")
    bad(lambda d: d["ladders"].update(support="frontline"), "ladders.support",
        "expected a table")
    bad(lambda d: d["sla"]["urgent"].update(escalate_on_breach="yes"),
        "sla.urgent.escalate_on_breach", "true or false")
