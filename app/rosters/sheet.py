"""The month sheet (月排班表): one month of the roster as the grid, the printout and the Excel export
show it — members × days with each day's kind (workday, weekend, holiday, make-up workday), every
cell's shift and lock, leave, the checker's violations placed on their cells and days, totals per
member and per day against the demand, and the fairness counts with the balance carried forward.

Read in one call (:func:`month_sheet`) and handed out frozen, so a widget never holds a Session and
the grid's flags after an edit are the checker's verdict on the month as stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.auth.roles import Actor
from app.calendar import calendar_for
from app.rosters.checker import Rule, Violation, check
from app.rosters.data import (
    AssignmentView,
    ChangeView,
    DemandView,
    RosterView,
    ShiftTypeView,
    list_changes,
    list_shift_types,
    roster_inputs,
)
from app.rosters.fairness import (
    FairnessCounts,
    PeerGroup,
    Spread,
    day_kind,
    fairness_counts,
    fairness_summary,
    peer_group,
)
from app.rosters.model import CATEGORY_LABELS, Category, Rules
from app.rosters.month import carried_balance, model_of

WEEKDAY_NAMES = ("一", "二", "三", "四", "五", "六", "日")

#: Violations that belong to a whole day's shift rather than to one member's cell.
DAY_RULES = frozenset({Rule.HEADCOUNT, Rule.OVERSTAFFED, Rule.MIN_CERTIFIED, Rule.MIN_POLICE, Rule.LEADER})


@dataclass(frozen=True)
class DayColumn:
    day: dt.date
    #: ``"workday"``, ``"weekend"`` or ``"holiday"`` (a make-up workday is a workday).
    kind: str
    #: The holiday's name, "调休上班" for a make-up workday, else "".
    name: str

    @property
    def weekday(self) -> str:
        return WEEKDAY_NAMES[self.day.weekday()]

    @property
    def is_makeup_workday(self) -> bool:
        return self.kind == "workday" and self.day.weekday() >= 5


@dataclass(frozen=True)
class PersonRow:
    member_id: str
    name: str
    unit: str
    category: Category
    group: PeerGroup
    is_leader: bool
    #: Days of the month on which the member may act as an enforcement officer.
    certified_days: frozenset[dt.date]

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]


@dataclass(frozen=True)
class Cell:
    shift_type_id: str
    code: str
    locked: bool


@dataclass(frozen=True)
class MonthSheet:
    month: str
    first: dt.date
    roster: RosterView | None
    days: tuple[DayColumn, ...]
    people: tuple[PersonRow, ...]
    #: Active shift types in display order, plus any inactive one still used in the month.
    shifts: tuple[ShiftTypeView, ...]
    cells: Mapping[tuple[str, dt.date], tuple[Cell, ...]]
    #: Leave kind label (年休假, 病假 …) per member and day on leave.
    leave: Mapping[tuple[str, dt.date], str]
    demands: tuple[DemandView, ...]
    violations: tuple[Violation, ...]
    #: This month's own counts per member.
    counts: Mapping[str, FairnessCounts]
    #: The balance carried in from the months before (see ``app.rosters.month.carried_balance``).
    carried: Mapping[str, FairnessCounts]
    changes: tuple[ChangeView, ...] = ()
    _hours: Mapping[str, float] = field(default_factory=dict)
    _staffed: Mapping[tuple[dt.date, str], int] = field(default_factory=dict)

    # ---- lookups the grid and the printout share ----

    def shift(self, code: str) -> ShiftTypeView | None:
        return next((s for s in self.shifts if s.code == code), None)

    def cell_violations(self, member_id: str, day: dt.date) -> list[Violation]:
        return [v for v in self.violations if v.member_id == member_id and v.day == day]

    def day_violations(self, day: dt.date) -> list[Violation]:
        return [v for v in self.violations if v.day == day and v.rule in DAY_RULES]

    def worked_days(self, member_id: str) -> int:
        return sum(1 for (m, _), cells in self.cells.items() if m == member_id and cells)

    def hours(self, member_id: str) -> float:
        return self._hours.get(member_id, 0.0)

    def staffed(self, day: dt.date, code: str) -> int:
        return self._staffed.get((day, code), 0)

    def needed(self, day: dt.date, code: str) -> int:
        return sum(d.headcount for d in self.demands if d.day == day and d.shift_code == code)

    def total(self, member_id: str) -> FairnessCounts:
        """This month's counts plus the carried balance — what the solver evens out."""
        return self.counts.get(member_id, FairnessCounts()) + self.carried.get(member_id, FairnessCounts())

    def summary(self) -> dict[PeerGroup, dict[str, Spread]]:
        """Min, max and spread of the totals per peer group and category, for groups with members."""
        out: dict[PeerGroup, dict[str, Spread]] = {}
        for group in PeerGroup:
            members = {p.member_id: self.total(p.member_id) for p in self.people if p.group is group}
            if members:
                out[group] = fairness_summary(members)
        return out

    @property
    def published(self) -> bool:
        return self.roster is not None and self.roster.published_version > 0


def month_sheet(
    session: Session, actor: Actor, month: str, rules: Rules | None = None, today: dt.date | None = None
) -> MonthSheet:
    """Everything the month grid shows, read and checked in one go."""
    inputs = roster_inputs(session, actor, month, today)
    model = model_of(inputs)
    calendar = calendar_for(session)
    violations = check(model.roster, model.people, model.shifts, model.demands, model.leaves, rules, calendar)
    by_code = {s.code: s for s in list_shift_types(session, actor, include_inactive=True)}
    used = {a.shift_code for a in inputs.assignments}
    shifts = tuple(
        sorted(
            {s.code: s for s in (*inputs.shift_types, *(by_code[c] for c in used if c in by_code))}.values(),
            key=lambda s: (s.sort_order, s.code),
        )
    )
    cells: dict[tuple[str, dt.date], list[Cell]] = defaultdict(list)
    hours: dict[str, float] = defaultdict(float)
    staffed: dict[tuple[dt.date, str], int] = defaultdict(int)
    for a in inputs.assignments:
        cells[(a.member_id, a.day)].append(_cell(a))
        staffed[(a.day, a.shift_code)] += 1
        shift = by_code.get(a.shift_code)
        hours[a.member_id] += shift.hours if shift else 0.0
    leave: dict[tuple[str, dt.date], str] = {}
    for v in inputs.leaves:
        day = max(v.start, inputs.first)
        while day <= min(v.end, inputs.last):
            leave[(v.member_id, day)] = v.kind_label
            day += dt.timedelta(days=1)
    days = tuple(DayColumn(info.day, day_kind(info.day, calendar), info.name) for info in inputs.calendar)
    rows = tuple(
        PersonRow(
            p.member_id,
            p.name,
            i.unit,
            p.category,
            peer_group(p),
            p.is_leader,
            p.certified_days,
        )
        for p, i in zip(model.people, inputs.people, strict=True)
    )
    return MonthSheet(
        month=inputs.month,
        first=inputs.first,
        roster=inputs.roster,
        days=days,
        people=rows,
        shifts=shifts,
        cells={k: tuple(v) for k, v in cells.items()},
        leave=leave,
        demands=inputs.demands,
        violations=tuple(violations),
        counts=fairness_counts(model.roster, model.people, model.shifts, calendar),
        carried=carried_balance(session, actor, inputs.month, model.people, calendar),
        changes=tuple(list_changes(session, actor, inputs.roster.id)) if inputs.roster else (),
        _hours=dict(hours),
        _staffed=dict(staffed),
    )


def _cell(a: AssignmentView) -> Cell:
    return Cell(a.shift_type_id, a.shift_code, a.locked)


__all__ = ["DAY_RULES", "WEEKDAY_NAMES", "Cell", "DayColumn", "MonthSheet", "PersonRow", "month_sheet"]
