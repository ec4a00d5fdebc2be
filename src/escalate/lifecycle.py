"""The case lifecycle, defined once as a `transitions` machine, and its Mermaid diagram.

One module-level machine serves every case: an action is triggered on a tiny carrier
object that holds only the status, so no case is ever added to the machine.
"""

from __future__ import annotations

from collections.abc import Iterable

from transitions import Machine, MachineError

from .errors import InvalidTransition
from .model import Action, Status

__all__ = ["SYSTEM_ACTIONS", "allowed_actions", "mermaid", "next_status"]

_NEW = "new"  # before the case exists; drawn as [*]
_STATES = [_NEW, *(status.value for status in Status)]

_O, _A, _W, _R, _C = (Status.OPEN.value, Status.ACTIVE.value, Status.WAITING.value,
                      Status.RESOLVED.value, Status.CLOSED.value)

#: (action, sources, destination); a destination of None keeps the status.
_TRANSITIONS: list[tuple[Action, list[str], str | None]] = [
    (Action.OPEN, [_NEW], _O),
    (Action.CLAIM, [_O], _A),
    (Action.RESPOND, [_O], _A),
    (Action.RESPOND, [_A], None),
    (Action.TRANSFER, [_A], _O),
    (Action.TRANSFER, [_O, _W], None),
    (Action.ESCALATE, [_A], _O),
    (Action.ESCALATE, [_O, _W], None),
    (Action.ASSIGN, [_A], _O),
    (Action.ASSIGN, [_O, _W], None),
    (Action.WAIT, [_A], _W),
    (Action.RESUME, [_W], _A),
    (Action.RESOLVE, [_O, _A, _W], _R),
    (Action.REOPEN, [_R], _O),
    (Action.CLOSE, [_R], _C),
    (Action.NOTE, [_O, _A, _W, _R], None),
    (Action.RETURN, [_A], _O),
    (Action.RETURN, [_O, _W, _R], None),
    (Action.WARN, [_O, _A, _W], None),
    (Action.BREACH, [_O, _A, _W], None),
    (Action.REALERT, [_O, _A], None),
    (Action.RATE, [_R, _C], None),
    (Action.UPDATE, [_O, _A, _W], None),
]

_MACHINE = Machine(
    model=None,
    states=_STATES,
    transitions=[
        {"trigger": action.value, "source": sources, "dest": dest}
        for action, sources, dest in _TRANSITIONS
    ],
    initial=_NEW,
    auto_transitions=False,
    send_event=False,
)


class _Carrier:
    """The only thing the machine ever touches: a status, for the length of one trigger."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def next_status(status: Status | None, action: Action, case_id: str | None = None) -> Status:
    """Return the status after `action`, or raise InvalidTransition if it is not allowed.

    `status` None means the case does not exist yet (only `open` is allowed).
    """
    carrier = _Carrier(_NEW if status is None else status.value)
    try:
        _MACHINE.events[action.value].trigger(carrier)
    except MachineError:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "nothing"
        if status is None:
            where = "no case yet"
        elif case_id is None:
            where = f"the case is {status.value}"
        else:
            where = f"case {case_id!r} is {status.value}"
        raise InvalidTransition(
            f"cannot {action.value}: {where}; allowed now: {allowed}",
            case_id=case_id, action=action.value,
            status=None if status is None else status.value,
        ) from None
    return Status(carrier.state)


#: Actions only the library takes (timer firings, returns of a removed agent's cases).
SYSTEM_ACTIONS = frozenset({Action.RETURN, Action.WARN, Action.BREACH, Action.REALERT})


def allowed_actions(status: Status | None, *, include_system: bool = False) -> list[Action]:
    """The actions the lifecycle allows in `status`, in definition order."""
    state = _NEW if status is None else status.value
    names = set(_MACHINE.get_triggers(state))
    return [action for action in Action if action.value in names
            and (include_system or action not in SYSTEM_ACTIONS)]


def _label(actions: Iterable[Action]) -> str:
    return ", ".join(dict.fromkeys(action.value for action in actions))


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, generated from the machine definition."""
    edges: dict[tuple[str, str], list[Action]] = {}
    for action, sources, dest in _TRANSITIONS:
        for source in sources:
            edges.setdefault((source, dest or source), []).append(action)
    lines = ["stateDiagram-v2"]
    for (source, dest), actions in edges.items():
        left = "[*]" if source == _NEW else source
        lines.append(f"    {left} --> {dest} : {_label(actions)}")
    lines.append(f"    {_C} --> [*]")
    return "\n".join(lines) + "\n"
