"""Ready mappings for public helpdesk logs (also importable from `escalate.replay.mappings`)."""

from __future__ import annotations

from .replay.mappings import (
    BPIC2013_INCIDENTS,
    BPIC2013_PROBLEMS_CLOSED,
    BPIC2013_PROBLEMS_OPEN,
    BPIC2013_STATUS_MAP,
    MAPPINGS,
)

__all__ = [
    "BPIC2013_INCIDENTS",
    "BPIC2013_PROBLEMS_CLOSED",
    "BPIC2013_PROBLEMS_OPEN",
    "BPIC2013_STATUS_MAP",
    "MAPPINGS",
]
