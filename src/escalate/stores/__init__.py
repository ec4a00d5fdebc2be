"""Built-in stores and the function that opens a store from its URL."""

from __future__ import annotations

from .base import KEEP, CaseQuery, Change, Keep, Notification, Store, Timer, TimerHandler
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = [
    "KEEP",
    "CaseQuery",
    "Change",
    "Keep",
    "MemoryStore",
    "Notification",
    "SqliteStore",
    "Store",
    "Timer",
    "TimerHandler",
]
