"""A month read from the database into the rule model and checked as it stands (what the roster
grid flags): the demo month's demand is all short while nothing is assigned; one cell filled by
an auxiliary member still leaves the shift short of certified officers, named as such."""

from __future__ import annotations

import datetime as dt

from app.auth.service import authenticate
from app.context import AppContext
from app.demo import fill_demo
from app.rosters.checker import Rule
from app.rosters.data import get_or_create_roster, list_shift_types, month_of, set_cell
from app.rosters.model import Category
from app.rosters.month import check_month


def test_the_demo_month_is_checked_as_it_stands(bare_ctx: AppContext) -> None:
    fill_demo(bare_ctx)
    admin = authenticate(bare_ctx, "admin", "squad2026")
    month = month_of(dt.date.today())
    with bare_ctx.read() as s:
        model, violations = check_month(s, admin, month)
    assert model.people and model.demands and model.shifts
    assert model.roster.assignments == ()
    short = [v for v in violations if v.rule is Rule.HEADCOUNT]
    assert len(short) == len(model.demands)  # every demanded shift is short while empty

    auxiliary = next(p for p in model.people if p.category is Category.AUXILIARY)
    early = model.demands[0]
    with bare_ctx.unit_of_work(admin, "排班") as s:
        roster = get_or_create_roster(s, admin, month)
        code = {t.code: t.id for t in list_shift_types(s, admin)}
        set_cell(s, admin, roster.id, auxiliary.member_id, early.day, code[early.shift])
    with bare_ctx.read() as s:
        model, violations = check_month(s, admin, month)
    assert len(model.roster.assignments) == 1
    certified = [
        v
        for v in violations
        if v.rule is Rule.MIN_CERTIFIED and v.day == early.day and v.shift == early.shift
    ]
    assert certified and "持证" in certified[0].message
