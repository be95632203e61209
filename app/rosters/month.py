"""One month of the roster as the checker and the solver see it: the database's rows
(:func:`app.rosters.data.roster_inputs`) turned into the plain rule model (:mod:`app.rosters.model`),
the check of the month's roster as it stands — what the grid flags after every edit — and the
month solved (kept cells locked, few changes) and optionally saved into its draft.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.calendar import calendar_for
from app.progress import Progress
from app.rosters.checker import Violation, check
from app.rosters.data import (
    LEAVE_KIND_LABELS,
    RosterInputs,
    get_or_create_roster,
    roster_inputs,
    save_solution,
)
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
    cells = tuple(Assignment(a.member_id, a.day, a.shift_code, a.locked) for a in inputs.assignments)
    return MonthModel(inputs.first, people, shifts, demands, leaves, Roster(inputs.first, cells))


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
    result = solve(
        model.people,
        model.shifts,
        model.demands,
        model.leaves,
        month=model.month,
        locked=tuple(a for a in model.roster.assignments if a.locked),
        current=model.roster.assignments,
        calendar=calendar_for(session),
        seconds=seconds,
        seed=seed,
        progress=progress,
    )
    if save and result.assignments:
        shift_ids = {s.code: s.id for s in inputs.shift_types}
        roster = get_or_create_roster(session, actor, month)
        cells = [(a.member_id, a.day, shift_ids[a.shift]) for a in result.assignments if not a.locked]
        save_solution(session, actor, roster.id, cells, reason="自动排班")
    return result


__all__ = ["MonthModel", "check_month", "model_of", "solve_month"]
