"""escalate: every customer problem has one owner, climbs tiers on time, and leaves a trail."""

from __future__ import annotations

from .calendars import BusinessHours
from .clock import Clock, ManualClock, SystemClock
from .desk import Desk
from .errors import (
    CaseExists,
    CaseNotFound,
    ConfigError,
    ConflictError,
    EscalateError,
    InvalidInput,
    InvalidTransition,
    NotAuthorized,
    StorageError,
)
from .hookspecs import hookimpl
from .model import Action, Agent, Case, ClockState, Event, EventKind, Owner, Queue, Status
from .policy import Ladder, Policy, Route, SlaTarget, Tier
from .reporting import Report
from .schedules import Schedule
from .stores.base import AvailabilityChange, CaseQuery, Change, Notification, Store, Timer

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Agent",
    "AvailabilityChange",
    "BusinessHours",
    "Case",
    "CaseExists",
    "CaseNotFound",
    "CaseQuery",
    "Change",
    "Clock",
    "ClockState",
    "ConfigError",
    "ConflictError",
    "Desk",
    "EscalateError",
    "Event",
    "EventKind",
    "InvalidInput",
    "InvalidTransition",
    "Ladder",
    "ManualClock",
    "NotAuthorized",
    "Notification",
    "Owner",
    "Policy",
    "Queue",
    "Report",
    "Route",
    "Schedule",
    "SlaTarget",
    "Status",
    "StorageError",
    "Store",
    "SystemClock",
    "Tier",
    "Timer",
    "hookimpl",
]
