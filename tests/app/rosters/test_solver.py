"""The CP-SAT roster solver: its rosters pass the checker; leave, a certificate expiring mid-month,
last month's last days and locked cells are respected; a re-solve after one edit changes little;
an infeasible month is explained with the right day and rule and still gets a best-effort roster;
cancel stops the solve. Small instances and a fixed seed keep every solve well under a second."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections import Counter
from dataclasses import replace

import pytest

from app.calendar import WorkCalendar
from app.errors import Cancelled
from app.progress import Progress
from app.rosters.checker import Rule, check
from app.rosters.fairness import FairnessCounts, fairness_counts
from app.rosters.model import Assignment, Category, Demand, Leave, Person, Roster, ShiftType
from app.rosters.solver import SolveResult, SolveStatus, solve

D = dt.date
T = dt.time
DEC = D(2026, 12, 1)
DEC_DAYS = [D(2026, 12, n) for n in range(1, 32)]
ALL = frozenset(DEC_DAYS)

SHIFTS = [
    ShiftType("E", "早班", T(8), T(16)),
    ShiftType("M", "中班", T(12), T(20)),
    ShiftType("N", "夜班", T(16), T(0), is_night=True),
    ShiftType("D24", "24小时值班", T(8), T(8), is_24h=True),
    ShiftType("L", "带班领导", T(8), T(17)),
    ShiftType("J", "联勤巡逻", T(9), T(17), needs_police=True),
]

LI = Person("m01", "李明", Category.CIVIL_SERVANT, is_leader=True, certified_days=ALL)
LIU = Person("m02", "刘强", Category.CIVIL_SERVANT, is_leader=True, certified_days=ALL)
ZHANG = Person("m03", "张三", Category.CAREER, certified_days=ALL)
WANG_WU = Person("m04", "王五", Category.CIVIL_SERVANT, certified_days=ALL)
#: 孙七's certificate runs out on 15 December: from the 16th he no longer counts as certified.
SUN = Person("m05", "孙七", Category.CAREER, certified_days=frozenset(d for d in DEC_DAYS if d.day <= 15))
ZHOU = Person("m06", "周八", Category.CAREER, certified_days=ALL)
WANG_AUX = Person("m07", "王某", Category.AUXILIARY)
WU = Person("m08", "吴九", Category.AUXILIARY)
ZHAO = Person("m09", "赵六", Category.POLICE)
QIAN = Person("m10", "钱二", Category.POLICE)
PEOPLE = [LI, LIU, ZHANG, WANG_WU, SUN, ZHOU, WANG_AUX, WU, ZHAO, QIAN]
DEC_PEOPLE = {p.member_id: p for p in PEOPLE}


def month_demand(days: list[D] = DEC_DAYS) -> list[Demand]:
    """Two on the early shift and one certified officer on the night every day; a leader and a
    joint patrol on weekdays, a 24-hour duty at weekends."""
    out = []
    for day in days:
        out.append(Demand(day, "E", 2, min_certified=1))
        out.append(Demand(day, "N", 1, min_certified=1))
        if day.weekday() < 5:
            out.append(Demand(day, "L", 1, needs_leader=True))
            out.append(Demand(day, "J", 2, min_police=1))
        else:
            out.append(Demand(day, "D24", 1, min_certified=1))
    return out


DEMAND = month_demand()
ANNUAL = Leave(WANG_WU.member_id, "年休假", D(2026, 12, 5), D(2026, 12, 7))


def run(**kwargs: object) -> SolveResult:
    args: dict[str, object] = {
        "people": PEOPLE,
        "shifts": SHIFTS,
        "demands": DEMAND,
        "leaves": [ANNUAL],
        "month": DEC,
        "seconds": 5.0,
        "seed": 7,
        "workers": 1,
    }
    args.update(kwargs)
    return solve(**args)  # type: ignore[arg-type]


def lawful(
    result: SolveResult, leaves: list[Leave] | None = None, previous: tuple[Assignment, ...] = ()
) -> None:
    assert result.feasible, result
    assert result.violations == ()
    roster = Roster(DEC, result.assignments, previous)
    assert check(roster, PEOPLE, SHIFTS, DEMAND, [ANNUAL] if leaves is None else leaves) == []


def shift_of(result: SolveResult) -> dict[tuple[int, D], str]:
    return {(a.member_id, a.day): a.shift for a in result.assignments}


@functools.cache
def first_solve() -> SolveResult:
    """The month solved from scratch (shared: results are frozen)."""
    return run()


def test_a_month_solves_and_passes_the_checker() -> None:
    result = first_solve()
    lawful(result)
    assert result.capacity == ()
    assert result.explanation == ()
    assert result.first_solution_seconds is not None and result.objective is not None
    assert result.bound is not None and result.bound <= result.objective
    staffed = Counter((a.day, a.shift) for a in result.assignments)
    assert staffed == {(d.day, d.shift): d.headcount for d in DEMAND}
    assert result.changes == len(result.assignments)  # a first solve: every filled cell is new


def test_stop_at_first_returns_a_lawful_roster() -> None:
    result = run(stop_at_first=True, workers=2)
    lawful(result)
    assert result.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert result.first_solution_seconds is not None


def test_leave_and_a_certificate_expiring_mid_month_are_respected() -> None:
    result = first_solve()
    on = shift_of(result)
    assert not any((WANG_WU.member_id, day) in on for day in (D(2026, 12, 5), D(2026, 12, 6), D(2026, 12, 7)))
    # The night needs its one person certified: 孙七 may take it until the 15th, never after.
    late_nights = [a for a in result.assignments if a.member_id == SUN.member_id and a.shift == "N"]
    assert all(a.day.day <= 15 for a in late_nights)
    assert all(
        any(
            DEC_PEOPLE[a.member_id].certified_on(a.day)
            for a in result.assignments
            if (a.day, a.shift) == (day, "N")
        )
        for day in DEC_DAYS
    )


def test_last_month_s_last_days_count_at_the_month_start() -> None:
    previous = (
        Assignment(ZHANG.member_id, D(2026, 11, 30), "D24"),  # rest day on 1 December
        Assignment(ZHOU.member_id, D(2026, 11, 30), "N"),  # no early shift on 1 December
        *(Assignment(LI.member_id, D(2026, 11, n), "L") for n in range(25, 31)),  # six days in a row
    )
    result = run(previous=previous)
    lawful(result, previous=previous)
    on = shift_of(result)
    assert (ZHANG.member_id, DEC) not in on
    assert on.get((ZHOU.member_id, DEC)) not in ("E", "L", "J", "D24")
    assert (LI.member_id, DEC) not in on


def test_locked_cells_are_kept() -> None:
    locked = [
        Assignment(WANG_AUX.member_id, D(2026, 12, 10), "E", locked=True),
        Assignment(SUN.member_id, D(2026, 12, 3), "N", locked=True),
        Assignment(LIU.member_id, D(2026, 12, 12), "D24", locked=True),
    ]
    result = run(locked=locked)
    lawful(result)
    assert set(locked) <= set(result.assignments)
    assert sum(a.locked for a in result.assignments) == 3


def test_re_solving_after_one_locked_edit_changes_few_cells() -> None:
    first = first_solve()
    # The clerk moves someone from the early shift on 10 December to the night and locks the cell.
    day = D(2026, 12, 10)
    moved = next(
        a
        for a in first.assignments
        if a.day == day and a.shift == "E" and DEC_PEOPLE[a.member_id].certified_on(day)
    )
    edited = replace(moved, shift="N", locked=True)
    current = [edited if a == moved else a for a in first.assignments]
    assert check(Roster(DEC, tuple(current)), PEOPLE, SHIFTS, DEMAND, [ANNUAL])  # the edit breaks the roster

    result = run(current=current, locked=[edited])
    lawful(result)
    assert edited in result.assignments
    # The moved officer's next early shift breaks the rest rule too: the repair is a short chain,
    # whose length depends on the first roster (found within a time limit, so not always the same).
    assert 1 <= result.changes <= 8 < len(first.assignments) // 4, result.changed
    assert (edited.member_id, day) not in result.changed


def test_fairness_spreads_nights_and_carries_last_month_forward() -> None:
    heavy = {ZHANG.member_id: FairnessCounts(nights=6)}  # 张三 did six nights more than anyone last month
    result = run(carried=heavy, calendar=WorkCalendar())
    lawful(result)
    counts = fairness_counts(Roster(DEC, result.assignments), PEOPLE, SHIFTS, WorkCalendar(), heavy)
    # Certified officers without leave are compared on nights (only they may take the night alone).
    peers = [LI, LIU, ZHANG, SUN, ZHOU]
    totals = [counts[p.member_id].nights for p in peers]
    assert max(totals) - min(totals) <= 1
    this_month = counts[ZHANG.member_id].nights - 6
    assert all(this_month <= counts[p.member_id].nights - 5 for p in peers if p is not ZHANG)


# --- infeasible months -------------------------------------------------------------------------

FEW = [LI, ZHANG, WANG_AUX, WU, ZHAO]
DEC_3 = D(2026, 12, 3)
FEW_DEMAND = [*(Demand(day, "E", 1) for day in DEC_DAYS[:7]), Demand(DEC_3, "N", 2, min_certified=2)]
SICK = Leave(ZHANG.member_id, "病假", D(2026, 12, 2), D(2026, 12, 4))


def test_an_infeasible_month_is_explained_with_the_right_day_and_rule() -> None:
    result = run(people=FEW, demands=FEW_DEMAND, leaves=[SICK])
    assert result.status is SolveStatus.INFEASIBLE
    assert [v.message for v in result.capacity] == [
        "12月3日 夜班需要2名持证执法人员，可排1名：张三休假（病假）"
    ]
    assert result.explanation == ("12月3日：持证执法人员人数、请假期间不排班",)
    [conflict] = result.conflicts
    assert (conflict.day, conflict.rules) == (DEC_3, (Rule.MIN_CERTIFIED, Rule.ON_LEAVE))
    assert result.explain_seconds is not None

    # The best roster anyway: everything staffed, the one shortage named by the checker.
    staffed = Counter((a.day, a.shift) for a in result.assignments)
    assert staffed == {(d.day, d.shift): d.headcount for d in FEW_DEMAND}
    [short] = result.violations
    assert (short.rule, short.day, short.shift) == (Rule.MIN_CERTIFIED, DEC_3, "N")
    assert short.message.startswith("12月3日 夜班需要2名持证执法人员，实排1名（")
    assert not any(a.member_id == ZHANG.member_id and a.day == DEC_3 for a in result.assignments)


def test_two_conflicts_are_explained_one_line_a_day() -> None:
    away = [SICK, Leave(LI.member_id, "年休假", D(2026, 12, 5), D(2026, 12, 5))]
    demand = [*FEW_DEMAND, Demand(D(2026, 12, 5), "L", 1, needs_leader=True)]
    result = run(people=FEW, demands=demand, leaves=away)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.explanation == (
        "12月3日：持证执法人员人数、请假期间不排班",
        "12月5日：带班领导、请假期间不排班",
    )
    assert [(v.rule, v.day) for v in result.violations] == [
        (Rule.MIN_CERTIFIED, DEC_3),
        (Rule.LEADER, D(2026, 12, 5)),
    ]


def test_a_locked_cell_against_leave_is_named() -> None:
    locked = [Assignment(ZHANG.member_id, DEC_3, "E", locked=True)]
    demand = [Demand(day, "E", 1) for day in DEC_DAYS[:7]]
    result = run(people=FEW, demands=demand, leaves=[SICK], locked=locked)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.explanation == ("12月3日：请假期间不排班、锁定的排班",)
    assert len(result.assignments) == 7  # the locked cell gives way to the leave
    assert result.violations == ()


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_from_the_progress_object_stops_the_solve() -> None:
    texts: list[str] = []

    def report(done: int, total: int, text: str) -> None:
        texts.append(text)
        if text.startswith("已找到"):
            progress.cancel()  # the clerk presses Cancel once a first roster is reported

    progress = Progress(report)
    started = time.perf_counter()
    with pytest.raises(Cancelled):
        run(progress=progress, seconds=60.0)
    assert time.perf_counter() - started < 30
    assert any(t.startswith("已找到排班方案") for t in texts)


def test_a_cancelled_progress_stops_before_solving() -> None:
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        run(progress=progress)
