"""One month of the roster as the checker and the solver see it: the database's rows
(:func:`app.rosters.data.roster_inputs`) turned into the plain rule model (:mod:`app.rosters.model`),
the fairness balance carried forward from the months before, the check of the month's roster as
it stands — what the grid flags after every edit — and the month solved (kept cells locked, few
changes) and optionally saved into its draft.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import calendar_for
from app.progress import Progress
from app.rosters.checker import HolidayCalendar, Violation, check
from app.rosters.data import (
    LEAVE_KIND_LABELS,
    AssignmentView,
    RosterInputs,
    ShiftTypeView,
    earlier_roster_months,
    get_or_create_roster,
    list_leaves,
    list_shift_types,
    month_bounds,
    month_cells,
    roster_inputs,
    save_solution,
)
from app.rosters.fairness import FairnessCounts, carry_forward, fairness_counts
from app.rosters.model import Assignment, Category, Demand, Leave, Person, Roster, Rules, ShiftType

if TYPE_CHECKING:
    from app.rosters.solver import SolveResult


@dataclass(frozen=True)
class MonthModel:
    """A month in the rule model's terms, ready for ``check`` or ``solve``."""

    month: dt.date  # the first day
    people: tuple[Person, ...]
    shifts: tuple[ShiftType, ...]
    demands: tuple[Demand, ...]
    leaves: tuple[Leave, ...]
    roster: Roster


def model_of(inputs: RosterInputs) -> MonthModel:
    """The rule model of a month read from the database."""
    people = tuple(
        Person(p.member_id, p.name, Category(p.category.value), p.is_leader, p.certified_days)
        for p in inputs.people
    )
    shifts = tuple(
        ShiftType(s.code, s.name, s.start, s.end, s.is_night, s.is_24h, s.needs_police)
        for s in inputs.shift_types
    )
    demands = tuple(
        Demand(d.day, d.shift_code, d.headcount, d.min_certified, d.min_police, d.needs_leader)
        for d in inputs.demands
    )
    leaves = tuple(Leave(v.member_id, LEAVE_KIND_LABELS[v.kind], v.start, v.end) for v in inputs.leaves)
    roster = Roster(inputs.first, _cells(inputs.assignments), _cells(inputs.previous))
    return MonthModel(inputs.first, people, shifts, demands, leaves, roster)


def _cells(rows: tuple[AssignmentView, ...]) -> tuple[Assignment, ...]:
    return tuple(Assignment(a.member_id, a.day, a.shift_code, a.locked) for a in rows)


def _shift(s: ShiftTypeView) -> ShiftType:
    return ShiftType(s.code, s.name, s.start, s.end, s.is_night, s.is_24h, s.needs_police)


#: How far back the fairness balance reaches: a year, so the Spring Festival of last winter still
#: counts when this winter's is rostered, yet a squad's distant past does not weigh for ever.
CARRY_MONTHS = 12


def carried_balance(
    session: Session,
    actor: Actor,
    month: str,
    people: tuple[Person, ...],
    calendar: HolidayCalendar | None = None,
) -> dict[str, FairnessCounts]:
    """The fairness balance (结转) ``month`` starts with: the months before it that have a roster,
    up to :data:`CARRY_MONTHS`, folded oldest first with :func:`~app.rosters.fairness.carry_forward`
    — each month's nights, 24-hour duties, weekends and holidays per member, pro rata to the days
    they were not on leave, less the lowest of their peer group. Members are today's ``people``
    (with today's certificates deciding their peer group)."""
    calendar = calendar if calendar is not None else calendar_for(session)
    shifts = tuple(_shift(s) for s in list_shift_types(session, actor, include_inactive=True))
    balance: dict[str, FairnessCounts] = {}
    for earlier in reversed(earlier_roster_months(session, actor, month, CARRY_MONTHS)):
        first, last = month_bounds(earlier)
        roster = Roster(first, _cells(month_cells(session, actor, earlier)))
        days = (last - first).days + 1
        away: dict[str, set[dt.date]] = {}
        for leave in list_leaves(session, actor, earlier):
            span = away.setdefault(leave.member_id, set())
            day = max(leave.start, first)
            while day <= min(leave.end, last):
                span.add(day)
                day += dt.timedelta(days=1)
        available = {p.member_id: days - len(away.get(p.member_id, ())) for p in people}
        own = fairness_counts(roster, people, shifts, calendar)
        balance = carry_forward(own, balance, people, available, days)
    return balance


def check_month(
    session: Session, actor: Actor, month: str, rules: Rules | None = None
) -> tuple[MonthModel, list[Violation]]:
    """The month's roster as stored, checked against every hard rule."""
    model = model_of(roster_inputs(session, actor, month))
    violations = check(
        model.roster, model.people, model.shifts, model.demands, model.leaves, rules, calendar_for(session)
    )
    return model, violations


def solve_month(
    session: Session,
    actor: Actor,
    month: str,
    *,
    seconds: float = 10.0,
    seed: int | None = None,
    save: bool = False,
    progress: Progress | None = None,
) -> SolveResult:
    """Solve ``month`` with its locked cells kept and few changes from what it holds now; with
    ``save``, write the solution into the month's draft (unlocked days replaced) in the caller's
    unit of work. The solver is imported here so that reading rosters never loads OR-Tools."""
    from app.rosters.solver import solve

    require(actor, Permission.EDIT_ROSTERS if save else Permission.VIEW_PERSONNEL)
    inputs = roster_inputs(session, actor, month)
    model = model_of(inputs)
    calendar = calendar_for(session)
    result = solve(
        model.people,
        model.shifts,
        model.demands,
        model.leaves,
        month=model.month,
        previous=model.roster.previous,
        locked=tuple(a for a in model.roster.assignments if a.locked),
        current=model.roster.assignments,
        carried=carried_balance(session, actor, inputs.month, model.people, calendar),
        calendar=calendar,
        seconds=seconds,
        seed=seed,
        progress=progress,
    )
    if save:
        apply_solution(session, actor, month, result)
    return result


def apply_solution(session: Session, actor: Actor, month: str, result: SolveResult, reason: str = "") -> int:
    """Write a solver's roster into ``month``'s draft (its unlocked days replaced; the locked ones
    stay) in the caller's unit of work; the number of member-days changed. On a published roster
    ``reason`` is required and each changed day is recorded."""
    if not result.assignments:
        return 0
    shift_ids = {s.code: s.id for s in list_shift_types(session, actor, include_inactive=True)}
    roster = get_or_create_roster(session, actor, month)
    cells = [(a.member_id, a.day, shift_ids[a.shift]) for a in result.assignments if not a.locked]
    return save_solution(session, actor, roster.id, cells, reason=reason)


__all__ = [
    "CARRY_MONTHS",
    "MonthModel",
    "apply_solution",
    "carried_balance",
    "check_month",
    "model_of",
    "solve_month",
]
