"""Shared fixtures and Hypothesis profiles for escalate's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from escalate import Desk, ManualClock, Policy
from escalate.testing import standard_policy

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

os.environ.setdefault("ESCALATE_DISABLE_PLUGIN_AUTOLOAD", "")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def example_policy() -> Policy:
    """The documented example policy, examples/escalation.toml."""
    return Policy.from_toml(ROOT / "examples" / "escalation.toml")


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL: memory, then a fresh SQLite file."""
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def policy() -> Policy:
    return standard_policy()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest, policy: Policy, clock: ManualClock,
         tmp_path: Path) -> Desk:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    with Desk(policy, store=url, clock=clock, autoload_plugins=False) as desk:
        yield desk
