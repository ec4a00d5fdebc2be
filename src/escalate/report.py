"""Management reports: the names of escalate.reporting, importable as escalate.report too."""

from __future__ import annotations

from .reporting import (
    SLA_CLOCKS,
    TRENDS,
    AgentRow,
    Breach,
    ClockShare,
    Compliance,
    GroupRow,
    GroupTrend,
    Period,
    PingPong,
    RatedComment,
    Report,
    Satisfaction,
    Shuffling,
    TierRow,
    Totals,
    TrendRow,
    build_report,
)

__all__ = [
    "SLA_CLOCKS",
    "TRENDS",
    "AgentRow",
    "Breach",
    "ClockShare",
    "Compliance",
    "GroupRow",
    "GroupTrend",
    "Period",
    "PingPong",
    "RatedComment",
    "Report",
    "Satisfaction",
    "Shuffling",
    "TierRow",
    "Totals",
    "TrendRow",
    "build_report",
]
