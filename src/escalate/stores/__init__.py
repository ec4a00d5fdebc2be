"""Built-in stores and the function that opens a store from its URL."""

from __future__ import annotations

from .base import CaseQuery, Change, Notification, Store, Timer, TimerHandler
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = [
    "CaseQuery",
    "Change",
    "MemoryStore",
    "Notification",
    "SqliteStore",
    "Store",
    "Timer",
    "TimerHandler",
]
