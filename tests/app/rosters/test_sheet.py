"""The month sheet and what it carries across months: the fairness balance handed forward (peer
group minimum subtracted, pro rata for leave), the last week of the month before checked with this
month's first days, and the sheet's totals agreeing with its cells and the demand."""

from __future__ import annotations

import calendar
import datetime as dt

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext
from app.demo import fill_demo
from app.rosters.checker import Rule
from app.rosters.data import (
    LeaveInput,
    add_leave,
    get_or_create_roster,
    list_shift_types,
    month_of,
    save_solution,
    set_cell,
)
from app.rosters.fairness import FairnessCounts, PeerGroup, carry_forward
from app.rosters.model import Category, Person
from app.rosters.month import carried_balance, solve_month
from app.rosters.sheet import month_sheet
from db.models.rosters import LeaveKind

A = Person("a", "甲", Category.CIVIL_SERVANT, certified_days=frozenset({dt.date(2026, 1, 1)}))
B = Person("b", "乙", Category.CIVIL_SERVANT, certified_days=frozenset({dt.date(2026, 1, 1)}))
C = Person("c", "丙", Category.AUXILIARY)
P = Person("p", "警", Category.POLICE)


def test_only_differences_within_a_peer_group_are_carried() -> None:
    counts = {
        "a": FairnessCounts(nights=5, weekends=4),
        "b": FairnessCounts(nights=3, weekends=4),
        "c": FairnessCounts(nights=9),
        "p": FairnessCounts(nights=2),
    }
    out = carry_forward(counts, {}, [A, B, C, P], {}, 31)
    assert out["a"] == FairnessCounts(nights=2)
    assert out["b"] == FairnessCounts()
    # Alone in their group, the auxiliary and the police officer owe nobody anything.
    assert out["c"] == FairnessCounts() and out["p"] == FairnessCounts()


def test_a_balance_shrinks_as_the_others_catch_up() -> None:
    carried = {"a": FairnessCounts(nights=2)}
    out = carry_forward(
        {"a": FairnessCounts(nights=2), "b": FairnessCounts(nights=3)}, carried, [A, B], {}, 30
    )
    assert out["a"] == FairnessCounts(nights=1) and out["b"] == FairnessCounts()


def test_leave_is_taken_pro_rata_and_a_whole_month_away_keeps_the_balance() -> None:
    # b worked 2 nights in the 15 days not on leave: as if 4 in the month, the same pace as a.
    out = carry_forward(
        {"a": FairnessCounts(nights=4), "b": FairnessCounts(nights=2)}, {}, [A, B], {"b": 15}, 30
    )
    assert out["a"] == FairnessCounts() and out["b"] == FairnessCounts()
    away = carry_forward(
        {"a": FairnessCounts(nights=4)}, {"b": FairnessCounts(nights=1)}, [A, B], {"b": 0}, 30
    )
    assert away["b"] == FairnessCounts(nights=1) and away["a"] == FairnessCounts()


def _demo(ctx: AppContext) -> Actor:
    fill_demo(ctx)
    return authenticate(ctx, "admin", "squad2026")


def _next(month: str) -> str:
    first = dt.date.fromisoformat(month + "-01")
    return month_of(first + dt.timedelta(days=32))


def test_a_solved_month_hands_its_balance_to_the_next(bare_ctx: AppContext) -> None:
    admin = _demo(bare_ctx)
    month = month_of(dt.date.today())
    with bare_ctx.unit_of_work(admin, "排班") as s:
        result = solve_month(s, admin, month, seconds=5, seed=1, save=True)
    assert result.feasible
    with bare_ctx.read() as s:
        assert month_sheet(s, admin, month).violations == ()
    # However evenly the solver made the month, one officer does an extra night by hand, so
    # something must travel.
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
    officer = next(p for p in sheet.people if p.group is PeerGroup.OFFICERS and not p.is_leader)
    free = next(d.day for d in sheet.days if not sheet.cells.get((officer.member_id, d.day)))
    with bare_ctx.unit_of_work(admin, "排班") as s:
        night = next(t for t in list_shift_types(s, admin) if t.code == "夜")
        roster = get_or_create_roster(s, admin, month)
        set_cell(s, admin, roster.id, officer.member_id, free, night.id)
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
        following = carried_balance(s, admin, _next(month), tuple(_persons(sheet)))
    # Pro rata: an officer on leave for some days counts as if they had worked the whole month.
    days = len(sheet.days)
    nights = {}
    for p in sheet.people:
        if p.group is PeerGroup.OFFICERS:
            away = sum(1 for d in sheet.days if (p.member_id, d.day) in sheet.leave)
            nights[p.member_id] = (
                round(sheet.counts[p.member_id].nights * days / (days - away)) if away < days else None
            )
    lowest = min(n for n in nights.values() if n is not None)
    for member_id, n in nights.items():
        if n is not None:
            assert following[member_id].nights == n - lowest
    assert following[officer.member_id].nights >= 1  # something really travelled


def _persons(sheet: object) -> list[Person]:
    from app.rosters.sheet import MonthSheet

    assert isinstance(sheet, MonthSheet)
    return [Person(p.member_id, p.name, p.category, p.is_leader, p.certified_days) for p in sheet.people]


def test_the_last_week_of_the_month_before_is_checked_with_the_first_days(bare_ctx: AppContext) -> None:
    admin = _demo(bare_ctx)
    month = _next(month_of(dt.date.today()))
    first = dt.date.fromisoformat(month + "-01")
    before = month_of(first - dt.timedelta(days=1))
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
    member = sheet.people[0].member_id
    with bare_ctx.unit_of_work(admin, "排班") as s:
        ids = {t.code: t.id for t in list_shift_types(s, admin)}
        old = get_or_create_roster(s, admin, before)
        set_cell(s, admin, old.id, member, first - dt.timedelta(days=1), ids["24"])
        new = get_or_create_roster(s, admin, month)
        set_cell(s, admin, new.id, member, first, ids["早"])
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
    flags = sheet.cell_violations(member, first)
    assert [v.rule for v in flags] == [Rule.REST_AFTER_24H], flags


def test_the_sheet_totals_agree_with_cells_leave_and_demand(bare_ctx: AppContext) -> None:
    admin = _demo(bare_ctx)
    month = _next(month_of(dt.date.today()))
    first = dt.date.fromisoformat(month + "-01")
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
    member = sheet.people[1].member_id
    with bare_ctx.unit_of_work(admin, "排班") as s:
        ids = {t.code: t.id for t in list_shift_types(s, admin)}
        roster = get_or_create_roster(s, admin, month)
        save_solution(
            s, admin, roster.id, [(member, first + dt.timedelta(days=i), ids["夜"]) for i in range(3)]
        )
        add_leave(
            s,
            admin,
            LeaveInput(
                member, LeaveKind.ANNUAL, first + dt.timedelta(days=10), first + dt.timedelta(days=12)
            ),
        )
    with bare_ctx.read() as s:
        sheet = month_sheet(s, admin, month)
    assert sheet.worked_days(member) == 3
    assert sheet.hours(member) == 24.0
    assert sheet.counts[member].nights == 3
    assert sheet.staffed(first, "夜") == 1
    assert sheet.leave[(member, first + dt.timedelta(days=11))] == "年休假"
    assert (member, first + dt.timedelta(days=13)) not in sheet.leave
    assert [d.day for d in sheet.days] == [
        first + dt.timedelta(days=i) for i in range(calendar.monthrange(first.year, first.month)[1])
    ]
    assert not sheet.published and sheet.roster is not None
