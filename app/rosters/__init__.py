"""Duty rosters (排班): the rule model, the one rule checker and the fairness counts.

Pure Python: no database, no Qt, no solver. The CP-SAT solver and the database adapter build on
these types; the grid calls ``check`` on every hand edit.
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
