"""The demo squad's roster inputs (演示排班数据): the default shift types, a month of demand for the
current month sized so the demo members can cover it, and a few leaves — through the real
services, so the solver and the checker start from data a clerk could have entered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.auth.roles import SYSTEM
from app.rosters.data import (
    DemandInput,
    LeaveInput,
    add_leave,
    ensure_default_shift_types,
    month_bounds,
    month_of,
    set_demand,
)
from db.models.rosters import LeaveKind

WEEKDAYS = frozenset(range(5))
#: shift code → (demand, weekdays or None for every day). About 10 people a day out of ~38.
DEMO_DEMAND: dict[str, tuple[DemandInput, frozenset[int] | None]] = {
    "早": (DemandInput(3, min_certified=2), None),
    "中": (DemandInput(3, min_certified=2), None),
    "夜": (DemandInput(2, min_certified=1), None),
    "联": (DemandInput(2, min_police=1), WEEKDAYS),
    "领": (DemandInput(1, needs_leader=True), None),
}
#: (member index in creation order, kind, first day of the month's leave, days, note)
DEMO_LEAVES: tuple[tuple[int, LeaveKind, int, int, str], ...] = (
    (5, LeaveKind.ANNUAL, 6, 5, "年休假（已审批）"),
    (14, LeaveKind.SICK, 12, 2, "急性肠胃炎"),
    (20, LeaveKind.BUSINESS, 18, 3, "赴区局参加执法培训"),
    (26, LeaveKind.COMPENSATORY, 24, 1, "节日值班调休"),
)


def fill_demo_rosters(session: Session, member_ids: Sequence[str], today: dt.date) -> None:
    """Demand and leave of ``today``'s month, written in the caller's unit of work."""
    month = month_of(today)
    first, last = month_bounds(month)
    shifts = {s.code: s for s in ensure_default_shift_types(session, SYSTEM)}
    for code, (demand, weekdays) in DEMO_DEMAND.items():
        set_demand(session, SYSTEM, shifts[code].id, first, last, demand, weekdays)
    for index, kind, start_day, length, note in DEMO_LEAVES:
        if index >= len(member_ids):
            continue
        start = first + dt.timedelta(days=start_day - 1)
        end = min(last, start + dt.timedelta(days=length - 1))
        add_leave(session, SYSTEM, LeaveInput(member_ids[index], kind, start, end, note))
