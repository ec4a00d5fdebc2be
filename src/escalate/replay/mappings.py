"""Ready mappings for public helpdesk logs: the BPI Challenge 2013 (Volvo IT Belgium VINST).

The incident log is UTF-8, comma-separated, with ISO times carrying their UTC offset; the two
problem logs are `;`-separated ISO-8859-1 exports whose columns have other names and another
order (they are read by name). In all three, the owner is the first name paired with the
owner's country (first names are not unique), `Siebel` is the system account that closes
cases, `-` stands for no owner, and the team's tier is its ` 2nd` / ` 3rd` suffix (none is
the 1st line).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .mapping import ReplayMapping

__all__ = [
    "BPIC2013_INCIDENTS",
    "BPIC2013_PROBLEMS_CLOSED",
    "BPIC2013_PROBLEMS_OPEN",
    "BPIC2013_STATUS_MAP",
    "MAPPINGS",
]

#: VINST status / sub status, joined with "/", to the escalate action each one reports.
BPIC2013_STATUS_MAP: Mapping[str, str] = MappingProxyType({
    "Queued/Awaiting Assignment": "return",     # sits in the team's queue
    "Accepted/In Progress": "claim",            # an agent works on it
    "Accepted/Assigned": "assign",              # given to a named agent, not started
    "Accepted/Wait": "wait",
    "Accepted/Wait - User": "wait",
    "Accepted/Wait - Customer": "wait",
    "Accepted/Wait - Vendor": "wait",
    "Accepted/Wait - Implementation": "wait",
    "Completed/Resolved": "resolve",
    "Completed/In Call": "resolve",             # solved at first contact
    "Completed/Closed": "close",
    "Completed/Cancelled": "close",
    "Unmatched/Unmatched": "note",
})

_IMPACT = {"Low": "low", "Medium": "medium", "High": "high", "Major": "major"}
_TIERS = ("1st line", "2nd line", "3rd line")
_SUFFIXES = {" 2nd": 2, " 3rd": 3}

#: `bpic2013_incidents.csv`: 65,533 events of 7,554 incidents.
BPIC2013_INCIDENTS = ReplayMapping(
    case_id="SR Number",
    timestamp="Change Date+Time",
    status=("Status", "Sub Status"),
    owner=("Owner First Name", "Owner Country"),
    team="Involved ST",
    priority="SR Latest Impact",
    tiebreak="event_index",
    fields=("Product", "Involved Org line 3", "Involved ST Function Div", "Country"),
    missing=("", "-"),
    system_accounts=("Siebel",),
    status_map=BPIC2013_STATUS_MAP,
    tiers=_TIERS,
    tier_suffixes=_SUFFIXES,
    priority_map=_IMPACT,
    encoding="utf-8",
    delimiter=",",
)


def _problems() -> ReplayMapping:
    return ReplayMapping(
        case_id="Problem Number",
        timestamp="Problem Change Date+Time",
        status=("Problem Status", "Problem Sub Status"),
        owner=("Problem Involved Action Owner First Name",
               "Problem Involved Action Owner Country"),
        team="Problem Involved Owner ST",
        priority="Problem Latest Impact",
        fields=("Product", "Problem Involved ST Org line 3",
                "Problem Involved ST Function Div", "Country"),
        missing=("", "-"),
        system_accounts=("Siebel",),
        status_map=BPIC2013_STATUS_MAP,
        tiers=_TIERS,
        tier_suffixes=_SUFFIXES,
        priority_map=_IMPACT,
        encoding="iso-8859-1",
        delimiter=";",
    )


#: `vinst_closed_problems.csv`: 6,660 events of 1,487 problems.
BPIC2013_PROBLEMS_CLOSED = _problems()

#: `vinst_open_problems.csv`: 2,351 events of 819 problems (same columns, another order).
BPIC2013_PROBLEMS_OPEN = _problems()

#: The ready mappings by the name the command line takes (`escalate replay --mapping`).
MAPPINGS: Mapping[str, ReplayMapping] = MappingProxyType({
    "bpic2013-incidents": BPIC2013_INCIDENTS,
    "bpic2013-problems-closed": BPIC2013_PROBLEMS_CLOSED,
    "bpic2013-problems-open": BPIC2013_PROBLEMS_OPEN,
})
