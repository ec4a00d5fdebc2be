"""The tree of errors escalate raises; every message says what was wrong and what to do."""

from __future__ import annotations

__all__ = [
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
        super().__init__(message)
        self.actor = actor
        self.action = action
        self.case_id = case_id


class CaseNotFound(EscalateError, KeyError):
    """No case with this id exists in the store."""

    def __init__(self, case_id: str, why: str | None = None) -> None:
        because = f" ({why})" if why else ""
        super().__init__(
            f"no case with id {case_id!r}{because}; list existing cases with desk.cases() "
            "or `escalate list`"
        )
        self.case_id = case_id

    def __str__(self) -> str:
        return str(self.args[0])


class ConflictError(EscalateError):
    """Another writer changed the case first (optimistic concurrency); safe to retry."""

    def __init__(self, case_id: str, expected_version: int, message: str | None = None) -> None:
        super().__init__(message or (
            f"case {case_id!r} was changed by someone else after version {expected_version}; "
            "reload it with desk.get() and try the action again"
        ))
        self.case_id = case_id
        self.expected_version = expected_version


class ConfigError(EscalateError, ValueError):
    """A policy or setting has a bad value; `path` names the key."""

    def __init__(self, path: str, problem: str) -> None:
        where = path or "<policy>"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.problem = problem


class StorageError(EscalateError):
    """The store could not read or write; nothing was half-written."""
