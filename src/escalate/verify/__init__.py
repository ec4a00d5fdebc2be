"""Check a store: every case owned, events gap-free and sealed, replay equal to state, rows in
agreement with their bodies, timers and outbox rows as the cases call for, no case deleted,
and (with a digest kept elsewhere) nothing removed or rolled back.

Modules: `problem` (the Problem record), `rows` (decoding rows without raising, columns
against bodies), `case` (one case's invariants), `timers`, `outbox`, `anchor` (the store
digest) and `store` (the walk over a whole store).
"""

from __future__ import annotations

from .anchor import Anchor, DigestError, digest, parse_digest
from .case import check_case
from .problem import STORE, Problem
from .store import verify_store

__all__ = ["STORE", "Anchor", "DigestError", "Problem", "check_case", "digest", "parse_digest",
           "verify_store"]
