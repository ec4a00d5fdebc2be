"""Fixtures: a running HTTP receiver and a clean environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhook_support import Receiver


@pytest.fixture(scope="module")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver: Receiver) -> Receiver:
    """The module's receiver with its request log emptied."""
    _receiver.requests.clear()
    return _receiver


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No webhook settings leak in from the developer's environment."""
    for name in ("ESCALATE_WEBHOOK_URL", "ESCALATE_WEBHOOK_SECRET", "ESCALATE_WEBHOOK_SHAPE",
                 "ESCALATE_WEBHOOK_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
