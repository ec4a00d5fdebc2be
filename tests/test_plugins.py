"""Plugin discovery and isolation: entry points, autoload switch, typos, raising observers."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import pytest

from escalate import ConfigError, Desk, ManualClock, Policy, hookimpl
from escalate.plugins import make_plugin_manager
from escalate.policy import Route
from escalate.stores import MemoryStore


def install_fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str],
                      modules: dict[str, str]) -> None:
    """Make an installed distribution with `escalate` entry points, importable from tmp_path."""
    dist = tmp_path / "fakeplugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugins\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (dist / "entry_points.txt").write_text(f"[escalate]\n{lines}\n")
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in modules:
        sys.modules.pop(name, None)


GOOD = """
from escalate import hookimpl
SEEN = []

@hookimpl
def escalate_event_committed(desk, case, event):
    SEEN.append(event.kind.value)
"""


def test_entry_point_plugins_load_and_a_broken_one_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        policy: Policy) -> None:
    install_fake_dist(tmp_path, monkeypatch,
                      {"good": "fake_good", "broken": "fake_broken"},
                      {"fake_good": GOOD, "fake_broken": "raise RuntimeError('boom at import')"})
    with caplog.at_level(logging.ERROR, logger="escalate.plugins"):
        desk = Desk(policy, store="memory://", clock=ManualClock(), autoload_plugins=True)
    assert "broken" in caplog.text and "boom at import" in caplog.text
    desk.open(title="t", customer="c", channel="web")
    import fake_good  # type: ignore[import-not-found]

    assert fake_good.SEEN == ["opened"]


def test_autoload_can_be_switched_off_by_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: Policy) -> None:
    install_fake_dist(tmp_path, monkeypatch, {"good": "fake_good2"},
                      {"fake_good2": GOOD})
    monkeypatch.setenv("ESCALATE_DISABLE_PLUGIN_AUTOLOAD", "1")
    manager = make_plugin_manager()
    assert manager.get_plugin("good") is None
    monkeypatch.setenv("ESCALATE_DISABLE_PLUGIN_AUTOLOAD", "")
    assert make_plugin_manager().get_plugin("good") is not None


def test_a_misspelled_hook_fails_loudly(policy: Policy) -> None:
    class Typo:
        def escalate_deliverr(self, notification: object) -> bool:
            return True

    with pytest.raises(ConfigError, match="escalate_deliverr"):
        Desk(policy, store="memory://", plugins=[Typo()], autoload_plugins=False)


def test_a_raising_observer_stops_neither_others_nor_the_action(
        policy: Policy, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Raising:
        @hookimpl
        def escalate_event_committed(self, desk: Desk, case: object, event: object) -> None:
            raise RuntimeError("observer down")

    class Recording:
        @hookimpl
        def escalate_event_committed(self, desk: Desk, case: object, event: object) -> None:
            seen.append("ok")

    desk = Desk(policy, store="memory://", plugins=[Raising(), Recording()],
                autoload_plugins=False)
    with caplog.at_level(logging.ERROR, logger="escalate.desk"):
        case = desk.open(title="t", customer="c", channel="web")
    assert desk.get(case.id).version == 1
    assert seen == ["ok"]
    assert "observer down" in caplog.text


def test_a_store_plugin_serves_its_scheme(policy: Policy) -> None:
    made: list[str] = []

    class Scheme:
        @hookimpl
        def escalate_open_store(self, url: str) -> MemoryStore | None:
            if not url.startswith("ram://"):
                return None
            made.append(url)
            return MemoryStore(url)

    desk = Desk(policy, store="ram://x", plugins=[Scheme()], autoload_plugins=False)
    assert made == ["ram://x"] and desk.store.url == "ram://x"
    with pytest.raises(ConfigError, match="no installed store serves 'disk'"):
        Desk(policy, store="disk://x", autoload_plugins=False)


def test_the_route_hook_overrides_the_policy_routes() -> None:
    policy = Policy.from_dict({"ladders": {
        "support": {"tiers": [{"name": "frontline", "members": ["ana"]}]},
        "vip": {"tiers": [{"name": "concierge", "members": ["zoe"]}]}}})

    class VipRouting:
        @hookimpl
        def escalate_route(self, policy: Policy, attributes: dict[str, str]) -> Route | None:
            return Route(ladder="vip") if attributes["customer"].startswith("vip-") else None

    desk = Desk(policy, store="memory://", plugins=[VipRouting()], autoload_plugins=False)
    assert desk.open(title="t", customer="vip-1", channel="web").tier == "concierge"
    assert desk.open(title="t", customer="c-2", channel="web").tier == "frontline"


def test_every_hook_is_documented_and_tested() -> None:
    from escalate import hookspecs

    names = [n for n in dir(hookspecs) if n.startswith("escalate_")]
    assert names, "no hooks found"
    page = (Path(__file__).resolve().parent.parent / "docs" / "hooks.md").read_text()
    root = Path(__file__).resolve().parent.parent
    tested = [*root.glob("tests/test_*.py"), *root.glob("examples/*.py")]
    tests = "".join(p.read_text() for p in tested)
    for name in names:
        assert f"### {name}" in page, f"{name} is not in docs/hooks.md"
        assert f"def {name}(" in tests, f"{name} has no test implementing it"


def test_the_authorize_hook_can_loosen_and_tighten(policy: Policy) -> None:
    from escalate import Action, NotAuthorized

    class Rules:
        @hookimpl
        def escalate_authorize(self, policy: Policy, case: object, action: Action,
                               actor: str | None) -> bool | None:
            if actor == "auditor" and action is Action.ESCALATE:
                return True
            if actor == "bo" and action is Action.CLAIM:
                return False
            return None

    desk = Desk(policy, store="memory://", plugins=[Rules()], autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    with pytest.raises(NotAuthorized, match="authorization plugin"):
        desk.claim(case.id, by="bo")
    assert desk.get(case.id).version == 1
    assert desk.escalate(case.id, by="auditor").tier == "specialists"
    with pytest.raises(NotAuthorized):
        desk.escalate(case.id, by="zed")
