"""Reusable proofs for stores and plugins: the stateful lifecycle machine and contract tests.

Needs the `dev` extra (pytest and hypothesis).
"""

from __future__ import annotations

from .machine import (
    ACTORS,
    STANDARD_POLICY,
    TIMED_POLICY,
    StoreFactory,
    StoreOpener,
    lifecycle_machine,
    standard_policy,
    timed_policy,
)
from .notifier_contract import NotifierContract, sample_notification
from .store_contract import StoreContract

__all__ = [
    "ACTORS",
    "STANDARD_POLICY",
    "TIMED_POLICY",
    "NotifierContract",
    "StoreContract",
    "StoreFactory",
    "StoreOpener",
    "lifecycle_machine",
    "sample_notification",
    "standard_policy",
    "timed_policy",
]
