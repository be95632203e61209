"""Duty rosters (排班): the rule model, the one rule checker and the fairness counts.

What this package exports is pure Python: no database, no Qt, no solver. Beside it:
:mod:`app.rosters.data` (the database side: shift types, demand, leave, rosters, publication),
:mod:`app.rosters.month` (a month read into the rule model and checked), and
:mod:`app.rosters.solver` (OR-Tools CP-SAT; imported on its own so the rest never loads ortools).
The grid calls ``check`` on every hand edit; the solver's output goes through the same ``check``.
"""

from __future__ import annotations

from app.rosters.checker import RULE_LABELS, HolidayCalendar, Rule, Violation, capacity_check, check
from app.rosters.fairness import CATEGORY_NAMES, FairnessCounts, Spread, fairness_counts, fairness_summary
from app.rosters.model import (
    CATEGORY_LABELS,
    Assignment,
    Category,
    Demand,
    Leave,
    Person,
    Roster,
    Rules,
    ShiftType,
    certified_days,
    day_label,
)

__all__ = [
    "CATEGORY_LABELS",
    "CATEGORY_NAMES",
    "RULE_LABELS",
    "Assignment",
    "Category",
    "Demand",
    "FairnessCounts",
    "HolidayCalendar",
    "Leave",
    "Person",
    "Roster",
    "Rule",
    "Rules",
    "ShiftType",
    "Spread",
    "Violation",
    "capacity_check",
    "certified_days",
    "check",
    "day_label",
    "fairness_counts",
    "fairness_summary",
]
