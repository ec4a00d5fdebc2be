"""A policy kept in the store beside the cases, so that a replayed store reads on its own.

`escalate replay` stores the policy its cases live in; `escalate report`, `show`, `verify`
and the other commands use it when no policy file is given (or the named one is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

from .builtin import sqlite_path
from .errors import ConfigError
from .plugins import make_plugin_manager
from .policy import Policy
from .stores.base import Store

__all__ = ["POLICY_KEY", "load_stored_policy", "policy_in", "store_policy"]

#: The setting the policy is kept under.
POLICY_KEY = "policy"


def store_policy(store: Store, policy: Policy) -> None:
    """Keep `policy` in `store`, replacing the one kept before."""
    store.put_setting(POLICY_KEY, json.dumps(policy.to_dict(), sort_keys=True, default=str))


def load_stored_policy(store: Store) -> Policy | None:
    """The policy kept in `store`, or None when there is none."""
    text = store.get_setting(POLICY_KEY)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("policy", f"the policy stored in {store.url or 'the store'} is not "
                                    f"valid JSON ({exc}); replay the log again") from None
    return Policy.from_dict(data)


def policy_in(url: str) -> Policy | None:
    """The policy kept in the store at `url`, or None (no such store, or none kept).

    A SQLite file that does not exist is not created.
    """
    if url.startswith("sqlite:"):
        try:
            path = sqlite_path(url)
        except ValueError:
            return None
        if path == ":memory:" or not Path(path).is_file():
            return None
    try:
        store = make_plugin_manager().hook.escalate_open_store(url=url)
    except ValueError:
        return None
    if store is None:
        return None
    try:
        return load_stored_policy(store)
    finally:
        store.close()
