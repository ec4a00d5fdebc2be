"""Reusable proofs for stores and plugins: the stateful lifecycle machine and contract tests.

Needs the `dev` extra (pytest and hypothesis).
"""

from __future__ import annotations

from .machine import (
    ACTORS,
    SLA_POLICY,
    STANDARD_POLICY,
    TIMED_POLICY,
    StoreFactory,
    StoreOpener,
    lifecycle_machine,
    sla_policy,
    standard_policy,
    timed_policy,
)
from .notifier_contract import NotifierContract, sample_notification
from .store_contract import StoreContract

__all__ = [
    "ACTORS",
    "SLA_POLICY",
    "STANDARD_POLICY",
    "TIMED_POLICY",
    "NotifierContract",
    "StoreContract",
    "StoreFactory",
    "StoreOpener",
    "lifecycle_machine",
    "sample_notification",
    "sla_policy",
    "standard_policy",
    "timed_policy",
]
