"""The tree of errors escalate raises; every message says what was wrong and what to do."""

from __future__ import annotations

__all__ = [
    "CaseExists",
    "CaseNotFound",
    "ConfigError",
    "ConflictError",
    "EscalateError",
    "InvalidInput",
    "InvalidTransition",
    "NotAuthorized",
    "StorageError",
]


class EscalateError(Exception):
    """Base class of every error escalate raises on purpose."""


class InvalidTransition(EscalateError):
    """The action is not allowed for the case in its current status or tier."""

    def __init__(self, message: str, *, case_id: str | None = None, action: str | None = None,
                 status: str | None = None) -> None:
        """`case_id`, `action` and `status` say what was refused, where known."""
        super().__init__(message)
        self.case_id = case_id
        self.action = action
        self.status = status


class InvalidInput(InvalidTransition, ValueError):
    """An argument of the action is missing or malformed; the action is refused."""


class NotAuthorized(EscalateError):
    """The actor may not perform this action on this case."""

    def __init__(self, message: str, *, actor: str | None = None, action: str | None = None,
                 case_id: str | None = None) -> None:
        """`actor`, `action` and `case_id` say who was refused what."""
        super().__init__(message)
        self.actor = actor
        self.action = action
        self.case_id = case_id


class CaseNotFound(EscalateError, KeyError):
    """No case with this id exists in the store."""

    def __init__(self, case_id: str, why: str | None = None) -> None:
        """`case_id` is the id that was asked for; `why` says more when known."""
        because = f" ({why})" if why else ""
        super().__init__(
            f"no case with id {case_id!r}{because}; list existing cases with desk.cases() "
            "or `escalate list`"
        )
        self.case_id = case_id

    def __str__(self) -> str:
        return str(self.args[0])


class ConflictError(EscalateError):
    """Another writer changed the case first (optimistic concurrency); safe to retry.

    `expected_version` is the version the action was based on; `actual_version` is the
    stored version when it is known (None when the store only knew that they differed).
    `message` replaces the default text for conflicts on other records (an agent's
    availability trail).
    """

    def __init__(self, case_id: str, expected_version: int,
                 actual_version: int | None = None, *, message: str | None = None) -> None:
        """The case `case_id` is no longer at `expected_version`."""
        now = "" if actual_version is None else f" (it is at version {actual_version} now)"
        super().__init__(message or (
            f"case {case_id!r} was changed by someone else after version {expected_version}"
            f"{now}; reload it with desk.get() and try the action again"
        ))
        self.case_id = case_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class CaseExists(EscalateError):
    """A case with the requested id already exists; nothing was written.

    Raised by `Desk.open(..., case_id=...)` when the id is taken (a web app answers 409).
    """

    def __init__(self, case_id: str) -> None:
        """`case_id` is the id that is taken."""
        super().__init__(
            f"a case with id {case_id!r} already exists; pass another case_id, or leave it "
            "out to get a new one"
        )
        self.case_id = case_id


class ConfigError(EscalateError, ValueError):
    """A policy or setting has a bad value; `path` names the key."""

    def __init__(self, path: str, problem: str) -> None:
        """`path` names the bad key (dotted, as in the TOML); `problem` says what is wrong."""
        where = path or "<policy>"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.problem = problem


class StorageError(EscalateError):
    """The store could not read or write; nothing was half-written."""
