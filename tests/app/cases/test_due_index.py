"""The due-date index of open cases (``app.cases.due``): kept current by the flush listener through
whole case walks, pauses, extensions, reopening, closure and calendar overrides; rebuilt when
emptied; never in the change log or the audit chain; and the to-do query built on it answers
exactly as the brute force over every open case (``due_clocks(..., use_index=False)``)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from case_builders import FINE, Crew, D, decide_case, make_crew, open_and_file, serve_case
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import verify
from app.auth.roles import SYSTEM, Actor
from app.calendar import WorkCalendar, set_override
from app.cases import due, timing
from app.cases.clocks import ClockKind, ClockState
from app.cases.service import SpotDecision, close_case, decide_on_the_spot, record_payment, reopen_case
from app.context import AppContext, open_data_dir
from app.demo import fill_demo
from db.models import AuditEntry, CasePause, ChangeLogEntry, LocalMeta
from db.models.due_index import CaseDueIndex

#: Query days across 2026 and into 2027 (no holiday data yet: provisional), every few days and
#: every day of the holidays (元旦, 春节, 清明, 劳动节, 端午, 中秋 and 国庆) and the turn of the year.
HOLIDAYS = [
    *(D(2026, 1, 1) + dt.timedelta(days=n) for n in range(-3, 5)),
    *(D(2026, 2, 12) + dt.timedelta(days=n) for n in range(18)),
    *(D(2026, 4, 2) + dt.timedelta(days=n) for n in range(6)),
    *(D(2026, 4, 29) + dt.timedelta(days=n) for n in range(10)),
    *(D(2026, 6, 17) + dt.timedelta(days=n) for n in range(6)),
    *(D(2026, 9, 23) + dt.timedelta(days=n) for n in range(19)),
    *(D(2026, 12, 24) + dt.timedelta(days=n) for n in range(14)),
]
DAYS = sorted({*HOLIDAYS, *(D(2026, 1, 2) + dt.timedelta(days=n) for n in range(0, 460, 4))})


@pytest.fixture
def crew(ctx: AppContext, admin: Actor) -> Crew:
    return make_crew(ctx, admin)


def _index(s: Session) -> dict[str, dt.date | None]:
    return {
        r.case_id: r.earliest_due for r in s.execute(select(CaseDueIndex.case_id, CaseDueIndex.earliest_due))
    }


def assert_index_fresh(ctx: AppContext) -> dict[str, dt.date | None]:
    """The stored index equals a recomputation from scratch (rolled back, so nothing is kept)."""
    with ctx.read() as s:
        stored = _index(s)
        assert due.due_index_is_current(s)
        due.rebuild_due_index(s)
        fresh = _index(s)
        s.rollback()
    assert stored == fresh
    return stored


def assert_same_todos(ctx: AppContext, days: list[dt.date] = DAYS) -> int:
    """``due.due_clocks`` answers as the brute force over every open case, and every stored day is
    a lower bound of the case's open due days on each of those days. Returns the clocks seen."""
    seen = 0
    with ctx.read() as s:
        index = _index(s)
        for today in days:
            for within in (2, 5):
                fast = due.due_clocks(s, SYSTEM, today, within)
                assert fast == due.due_clocks(s, SYSTEM, today, within, use_index=False), (today, within)
                seen += len(fast)
            for case_id, floor in index.items():
                open_dues = [
                    c.due
                    for c in timing.clocks_for_case(s, SYSTEM, case_id, today)
                    if c.state is not ClockState.DONE
                ]
                if floor is None:
                    assert open_dues == [], (case_id, today)
                else:
                    assert min(open_dues) >= floor, (case_id, today)
    return seen


def test_a_filed_case_is_indexed_and_a_closed_one_leaves(crew: Crew) -> None:
    case_id = open_and_file(crew, D(2026, 2, 12), D(2026, 2, 12))
    assert assert_index_fresh(crew.ctx) == {case_id: D(2026, 5, 13)}  # the 90-day decision clock
    decide_case(crew, case_id, D(2026, 2, 13))
    # decided: the service clock (7 working days across the Spring Festival) is the earliest
    assert assert_index_fresh(crew.ctx) == {case_id: D(2026, 3, 2)}
    serve_case(crew, case_id, D(2026, 2, 14))
    assert assert_index_fresh(crew.ctx) == {case_id: D(2026, 3, 2)}  # payment, rolled off Sunday
    with crew.ctx.unit_of_work(crew.actor) as s:
        record_payment(s, crew.actor, case_id, D(2026, 2, 26), 300000, "NO.1")
    # paid: nothing is left to act on, the case stays open until closure without a running clock
    assert assert_index_fresh(crew.ctx) == {case_id: None}
    with crew.ctx.unit_of_work(crew.actor) as s:
        close_case(s, crew.actor, case_id, D(2026, 2, 27))
    assert assert_index_fresh(crew.ctx) == {}
    with crew.ctx.unit_of_work(crew.actor) as s:
        reopen_case(s, crew.actor, case_id, D(2026, 3, 2), "复议机关责令重作")
    assert assert_index_fresh(crew.ctx) == {case_id: None}
    with crew.ctx.unit_of_work(crew.actor) as s:
        close_case(s, crew.actor, case_id, D(2026, 3, 3))
    assert assert_index_fresh(crew.ctx) == {}


def test_whole_walks_pauses_extensions_and_overrides_keep_it_exact(crew: Crew) -> None:
    a, ctx = crew.actor, crew.ctx
    paused = open_and_file(crew, D(2026, 1, 26), D(2026, 1, 27))
    still_paused = open_and_file(crew, D(2026, 4, 28), D(2026, 4, 29))
    walked = open_and_file(crew, D(2026, 2, 12), D(2026, 2, 12))
    national_day = open_and_file(crew, D(2026, 9, 20), D(2026, 9, 21))
    next_year = open_and_file(crew, D(2026, 11, 20))  # its 90 days run into 2027: provisional
    stalled = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))  # overdue from 1 June on
    assert_index_fresh(ctx)

    with ctx.unit_of_work(a) as s:
        timing.pause_case(s, a, paused, D(2026, 2, 10), "当事人下落不明")
        timing.pause_case(s, a, still_paused, D(2026, 5, 6), "需等待鉴定结论")
    index = assert_index_fresh(ctx)
    # an open pause is counted as if the case resumed the day after it began: the lowest bound
    assert index[still_paused] == D(2026, 7, 28)
    with ctx.unit_of_work(a) as s:
        timing.resume_case(s, a, paused, D(2026, 3, 1))
        timing.extend_case_period(s, a, paused, ClockKind.DECISION, 20, "案情复杂，需补充调查")
    assert assert_index_fresh(ctx)[paused] > index[paused]

    decide_case(crew, walked, D(2026, 2, 13))
    serve_case(crew, walked, D(2026, 2, 14))
    decide_case(crew, national_day, D(2026, 9, 28))
    with ctx.unit_of_work(a) as s:
        decide_on_the_spot(
            s,
            a,
            SpotDecision(
                "SR-001",
                crew.party_id,
                "占道经营",
                D(2026, 6, 17),  # the party pays within 15 days, across the Dragon Boat Festival
                tuple(crew.officers.values()),
                FINE,
                10000,
                "一般",
                violation_ended=D(2026, 6, 17),
            ),
        )
    assert_index_fresh(ctx)

    # a pause withdrawn as a synced tombstone would arrive: any flushed row with a case_id counts
    with ctx.unit_of_work(a) as s:
        row = s.scalars(select(CasePause).where(CasePause.case_id == paused, CasePause.kind == "pause")).one()
        row.deleted = True
    assert_index_fresh(ctx)

    # a local holiday on the day a clock is due moves it: the whole index follows in the same
    # transaction as the override
    with ctx.read() as s:
        before = _index(s)[stalled]
    assert before == D(2026, 6, 1)
    with ctx.unit_of_work(a) as s:
        set_override(s, a, before, False, "台风停工")
    assert assert_index_fresh(ctx)[stalled] == D(2026, 6, 2)

    assert next_year in assert_index_fresh(ctx)
    assert assert_same_todos(ctx) > 0

    with ctx.read() as s:
        # a derived cache: not a single change-log or audit entry, and the chain still verifies
        assert not s.scalar(
            select(func.count())
            .select_from(ChangeLogEntry)
            .where(ChangeLogEntry.table_name == "case_due_index")
        )
        assert not s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "case_due_index")
        )
        assert verify(s).ok


def test_a_rolled_back_action_leaves_the_index_as_it_was(crew: Crew) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    with pytest.raises(RuntimeError), crew.ctx.unit_of_work(crew.actor) as s:
        timing.extend_case_period(s, crew.actor, case_id, ClockKind.DECISION, 10, "等待鉴定")
        assert _index(s)[case_id] == D(2026, 6, 10)  # written in the action's own transaction …
        raise RuntimeError("停电")
    assert assert_index_fresh(crew.ctx) == {case_id: D(2026, 6, 1)}  # … and rolled back with it


def test_an_emptied_or_stale_index_is_rebuilt_at_start_up(crew: Crew, data_dir: Path, tmp_path: Path) -> None:
    ids = {open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3)), open_and_file(crew, D(2026, 6, 1))}
    expected = assert_index_fresh(crew.ctx)
    assert set(expected) == ids
    with crew.ctx.read() as s:
        assert not due.ensure_due_index(s)  # current: nothing to do

    with crew.ctx.unit_of_work(crew.actor) as s:
        s.execute(delete(CaseDueIndex))
    with crew.ctx.read() as s:
        # rows missing (written around the listener): the query does not trust the index
        assert not due.due_index_is_current(s)
        assert due.due_clocks(s, SYSTEM, D(2026, 6, 10)) == due.due_clocks(
            s, SYSTEM, D(2026, 6, 10), use_index=False
        )
    crew.ctx.close()
    again = open_data_dir(data_dir)
    try:
        with again.read() as s:
            assert _index(s) == expected
        # a new calendar package or index version: the fingerprint no longer matches
        with again.unit_of_work(crew.actor) as s:
            s.execute(delete(CaseDueIndex).where(CaseDueIndex.case_id == sorted(ids)[0]))
            s.execute(
                LocalMeta.__table__.update().where(LocalMeta.key == "case_due_index").values(value="v0")
            )
        with again.read() as s:
            assert not due.due_index_is_current(s)
            # a stale index is not trusted: every open case is a candidate
            today = D(2026, 6, 10)
            assert due.due_clocks(s, SYSTEM, today) == due.due_clocks(s, SYSTEM, today, use_index=False)
    finally:
        again.close()
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    reopened = open_data_dir(copy)
    try:
        with reopened.read() as s:
            assert due.due_index_is_current(s) and _index(s) == expected
    finally:
        reopened.close()


def test_the_horizon_is_the_last_amber_day_with_slack_in_a_provisional_year() -> None:
    calendar = WorkCalendar()
    for today in DAYS[::3]:
        for within in (0, 2, 5):
            last = due.last_amber_day(calendar, today, within)
            for n in range(-3, 25):
                day = today + dt.timedelta(days=n)
                state = timing.state_of(day, today, calendar, False, within)
                assert (state in (ClockState.AMBER, ClockState.RED)) == (day <= last), (today, within, day)
    # Friday 20 November 2026: Friday and Monday are left, so Monday is the last amber day
    assert due.candidate_horizon(calendar, D(2026, 11, 20)) == D(2026, 11, 23)
    # from Monday 28 December the window reaches 2027, whose holidays are not published yet
    assert due.candidate_horizon(calendar, D(2026, 12, 28)) == D(2026, 12, 29) + dt.timedelta(
        days=due.SLACK_DAYS
    )


def test_the_demo_squad_gives_the_same_todos_both_ways(bare_ctx: AppContext) -> None:
    fill_demo(bare_ctx)
    index = assert_index_fresh(bare_ctx)
    assert index and any(day is not None for day in index.values())
    today = dt.date.today()
    days = [today + dt.timedelta(days=n) for n in range(-40, 200, 3)]
    assert assert_same_todos(bare_ctx, days) > 0
