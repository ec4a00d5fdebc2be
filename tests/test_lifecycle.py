"""The lifecycle machine: every (status, action) pair against a table written out here, the
refusal messages, the checked-in diagram, and no models left on the shared machine."""

from __future__ import annotations

import contextlib
import gc
import re
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalate import Action, InvalidTransition, Status, lifecycle
from escalate.cli import main
from escalate.lifecycle import SYSTEM_ACTIONS, allowed_actions, mermaid, next_status

ROOT = Path(__file__).resolve().parent.parent
CONCEPTS = ROOT / "docs" / "concepts.md"

NEW = None
OP, AC, WA, RE, CL = (Status.OPEN, Status.ACTIVE, Status.WAITING, Status.RESOLVED, Status.CLOSED)

#: status -> action -> status afterwards; a pair that is not listed is refused.
TABLE: dict[Status | None, dict[Action, Status]] = {
    NEW: {Action.OPEN: OP},
    OP: {Action.CLAIM: AC, Action.RESPOND: AC, Action.TRANSFER: OP, Action.ESCALATE: OP,
        Action.ASSIGN: OP, Action.RESOLVE: RE, Action.NOTE: OP, Action.RETURN: OP,
        Action.WARN: OP, Action.BREACH: OP, Action.REALERT: OP, Action.UPDATE: OP},
    AC: {Action.RESPOND: AC, Action.TRANSFER: OP, Action.ESCALATE: OP, Action.ASSIGN: OP,
        Action.WAIT: WA, Action.RESOLVE: RE, Action.NOTE: AC, Action.RETURN: OP,
        Action.WARN: AC, Action.BREACH: AC, Action.REALERT: AC, Action.UPDATE: AC},
    WA: {Action.TRANSFER: WA, Action.ESCALATE: WA, Action.ASSIGN: WA, Action.RESUME: AC,
        Action.RESOLVE: RE, Action.NOTE: WA, Action.RETURN: WA, Action.UPDATE: WA,
        Action.WARN: WA, Action.BREACH: WA},
    RE: {Action.REOPEN: OP, Action.CLOSE: CL, Action.NOTE: RE, Action.RETURN: RE,
        Action.RATE: RE},
    CL: {Action.RATE: CL},
}

PAIRS = [(status, action) for status in TABLE for action in Action]


def _id(value: object) -> str:
    return "new" if value is None else str(getattr(value, "value", value))


def test_the_table_covers_every_status() -> None:
    assert set(TABLE) == {None, *Status}
    assert len(PAIRS) == 6 * len(Action)


@pytest.mark.parametrize(("status", "action"), PAIRS,
                         ids=[f"{_id(s)}-{_id(a)}" for s, a in PAIRS])
def test_next_status_matches_the_table(status: Status | None, action: Action) -> None:
    expected = TABLE[status].get(action)
    if expected is not None:
        result = next_status(status, action, "C-1")
        assert result is expected
        assert isinstance(result, Status)
        return
    with pytest.raises(InvalidTransition) as info:
        next_status(status, action, "C-1")
    error = info.value
    assert (error.case_id, error.action) == ("C-1", action.value)
    assert error.status == (None if status is None else status.value)
    message = str(error)
    assert message.startswith(f"cannot {action.value}: ")
    where = "no case yet" if status is None else f"case 'C-1' is {status.value}"
    assert where in message
    listed = message.split("allowed now: ", 1)[1]
    users = [a.value for a in TABLE[status] if a not in SYSTEM_ACTIONS]
    assert listed == (", ".join(a.value for a in Action if a.value in users) or "nothing")


@pytest.mark.parametrize("status", list(TABLE), ids=_id)
def test_allowed_actions(status: Status | None) -> None:
    everything = [a for a in Action if a in TABLE[status]]
    assert allowed_actions(status, include_system=True) == everything
    assert allowed_actions(status) == [a for a in everything if a not in SYSTEM_ACTIONS]


def test_system_actions() -> None:
    assert {Action.RETURN, Action.WARN, Action.BREACH, Action.REALERT} == SYSTEM_ACTIONS


def test_next_status_without_a_case_id() -> None:
    with pytest.raises(InvalidTransition, match=r"closed; allowed now: rate$"):
        next_status(Status.CLOSED, Action.NOTE)
    assert next_status(Status.OPEN, Action.CLAIM) is Status.ACTIVE


# -- the diagram ---------------------------------------------------------------------------------


def checked_in_diagram(page: str) -> str:
    found = re.search(r"```mermaid\n(.*?)```\n", page, re.DOTALL)
    assert found, "docs/concepts.md has no ```mermaid block"
    return found.group(1)


def test_checked_in_diagram_is_current() -> None:
    current = checked_in_diagram(CONCEPTS.read_text(encoding="utf-8"))
    assert current == mermaid(), (
        "the lifecycle diagram in docs/concepts.md is stale; regenerate it with "
        "`escalate diagram --write docs/concepts.md`")


def test_diagram_draws_every_transition_of_the_table() -> None:
    edges: dict[tuple[str, str], set[str]] = {}
    for line in mermaid().splitlines()[1:]:
        found = re.fullmatch(r"    (\S+) --> (\S+)(?: : (.*))?", line)
        assert found, line
        left, right, labels = found.groups()
        assert (left, right) not in edges, f"edge {left} -> {right} drawn twice"
        edges[(left, right)] = set(labels.split(", ")) if labels else set()
    expected: dict[tuple[str, str], set[str]] = {}
    for status, moves in TABLE.items():
        for action, after in moves.items():
            left = "[*]" if status is None else status.value
            expected.setdefault((left, after.value), set()).add(action.value)
    expected[("closed", "[*]")] = set()
    assert edges == expected
    assert mermaid().startswith("stateDiagram-v2\n") and mermaid().endswith("\n")


def test_diagram_write_refreshes_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "concepts.md"
    shutil.copy(CONCEPTS, page)
    text = page.read_text(encoding="utf-8")
    stale = text.replace("resolved --> closed : close", "resolved --> closed : shut")
    assert stale != text
    page.write_text(stale, encoding="utf-8")
    assert checked_in_diagram(stale) != mermaid(), "the staleness check must notice this"
    result = CliRunner().invoke(main, ["diagram", "--write", str(page)])
    assert result.exit_code == 0, result.output
    refreshed = page.read_text(encoding="utf-8")
    assert checked_in_diagram(refreshed) == mermaid()
    outside = text.split("```mermaid")
    assert refreshed.split("```mermaid")[0] == outside[0], "text around the diagram is kept"


# -- the shared machine ----------------------------------------------------------------------------


def test_the_shared_machine_keeps_no_models() -> None:
    machine = lifecycle._MACHINE
    assert len(machine.models) == 0
    for _ in range(200):
        for status, action in PAIRS:
            with contextlib.suppress(InvalidTransition):
                next_status(status, action)
    assert len(machine.models) == 0
    gc.collect()
    carriers = [o for o in gc.get_objects() if type(o).__name__ == "_Carrier"]
    assert carriers == [], "carriers of finished triggers are still referenced"


def test_the_shared_machine_is_safe_across_threads() -> None:
    failures: list[str] = []

    def work() -> None:
        for _ in range(40):
            for status, action in PAIRS:
                expected = TABLE[status].get(action)
                try:
                    got: Status | None = next_status(status, action)
                except InvalidTransition:
                    got = None
                except Exception as exc:  # a MachineError from shared state would land here
                    failures.append(repr(exc))
                    return
                if got is not expected:
                    failures.append(f"{status} {action}: {got} != {expected}")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(lifecycle._MACHINE.models) == 0
