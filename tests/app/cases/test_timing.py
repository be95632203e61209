"""Clocks of whole cases on real SQLite: read off the recorded steps, moved by pauses (中止) and
extensions (延长) that survive in the database and the audit chain, and the start page's to-do."""

from __future__ import annotations

import datetime as dt

import pytest
from case_builders import Crew, D, decide_case, make_crew, open_and_file, serve_case
from sqlalchemy import event, select

from app.audit import verify
from app.auth.roles import Actor, Role
from app.cases.clocks import ClockKind, ClockState
from app.cases.due import due_clocks
from app.cases.service import close_case, get_case, record_payment
from app.cases.timing import (
    ClockView,
    clocks_for_case,
    extend_case_period,
    pause_case,
    resume_case,
)
from app.context import AppContext
from app.errors import PermissionDenied, ValidationError
from db.models import AuditEntry


@pytest.fixture
def crew(ctx: AppContext, admin: Actor) -> Crew:
    return make_crew(ctx, admin)


def _clocks(crew: Crew, case_id: str, today: dt.date) -> dict[ClockKind, ClockView]:
    with crew.ctx.read() as s:
        return {c.kind: c for c in clocks_for_case(s, crew.actor, case_id, today)}


def test_clocks_of_a_case_filed_just_before_the_2026_spring_festival(crew: Crew) -> None:
    case_id = open_and_file(crew, D(2026, 2, 12), D(2026, 2, 12))
    clocks = _clocks(crew, case_id, D(2026, 2, 13))
    assert list(clocks) == [ClockKind.DECISION]
    decision = clocks[ClockKind.DECISION]
    # 90 calendar days from Thursday 12 February: Wednesday 13 May, a working day
    assert decision.due == D(2026, 5, 13) and not decision.provisional and not decision.paused
    assert decision.state is ClockState.NONE and decision.name == "案件办理期限"
    assert "第六十条" in decision.basis and "截止 2026-05-13" in decision.explanation

    decide_case(crew, case_id, D(2026, 2, 13))
    clocks = _clocks(crew, case_id, D(2026, 2, 13))
    assert clocks[ClockKind.DECISION].state is ClockState.DONE
    # 7 working days from Friday 13 February: Saturday 14th is a make-up workday, then the
    # holiday runs to Monday 23rd; 24, 25, 26, 27 February, make-up Saturday 28th, 2 March
    service = clocks[ClockKind.SERVICE]
    assert service.due == D(2026, 3, 2) and service.state is ClockState.NONE
    # on the last day it is amber; the day after, red
    assert _clocks(crew, case_id, D(2026, 3, 2))[ClockKind.SERVICE].state is ClockState.AMBER
    assert _clocks(crew, case_id, D(2026, 3, 3))[ClockKind.SERVICE].state is ClockState.RED

    serve_case(crew, case_id, D(2026, 2, 14))
    clocks = _clocks(crew, case_id, D(2026, 2, 14))
    assert clocks[ClockKind.SERVICE].state is ClockState.DONE
    # 15 calendar days from Saturday 14 February end on Sunday 1 March: rolled to Monday
    payment = clocks[ClockKind.PAYMENT]
    assert payment.due == D(2026, 3, 2) and payment.binds_party and "顺延" in payment.explanation
    assert {ClockKind.RECONSIDERATION, ClockKind.LAWSUIT, ClockKind.COURT_APPLICATION} <= set(clocks)
    with crew.ctx.unit_of_work(crew.actor) as s:
        record_payment(s, crew.actor, case_id, D(2026, 2, 26), 300000, "NO.9")
    clocks = _clocks(crew, case_id, D(2026, 2, 26))
    assert clocks[ClockKind.PAYMENT].state is ClockState.DONE
    assert clocks[ClockKind.COURT_APPLICATION].state is ClockState.DONE


def test_a_clock_in_a_year_without_holiday_data_is_provisional(crew: Crew) -> None:
    case_id = open_and_file(crew, D(2026, 11, 20))  # 90 days run into 2027
    decision = _clocks(crew, case_id, D(2026, 11, 20))[ClockKind.DECISION]
    assert decision.due.year == 2027
    assert decision.provisional and "暂定" in decision.explanation


def test_pausing_moves_the_decision_clock_and_every_later_clock(
    crew: Crew, actors: dict[Role, Actor]
) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    before = _clocks(crew, case_id, D(2026, 3, 9))[ClockKind.DECISION].due
    assert before == D(2026, 6, 1)  # 31 May is a Sunday: rolled to Monday 1 June

    with crew.ctx.unit_of_work(actors[Role.OFFICER]) as s, pytest.raises(PermissionDenied):
        pause_case(s, actors[Role.OFFICER], case_id, D(2026, 3, 10), "等待鉴定结论")
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="须写明理由"):
        pause_case(s, crew.actor, case_id, D(2026, 3, 10), " ")
    with crew.ctx.unit_of_work(crew.actor) as s:
        pause_case(s, crew.actor, case_id, D(2026, 3, 10), "等待鉴定结论")
    # while paused the day is provisional on resuming tomorrow, and says so
    open_pause = _clocks(crew, case_id, D(2026, 3, 12))[ClockKind.DECISION]
    assert open_pause.paused and "中止中" in open_pause.explanation
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="请先恢复办理"):
        pause_case(s, crew.actor, case_id, D(2026, 3, 12), "又一次")
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="早于中止开始日期"):
        resume_case(s, crew.actor, case_id, D(2026, 3, 9))
    with crew.ctx.unit_of_work(crew.actor) as s:
        resume_case(s, crew.actor, case_id, D(2026, 3, 19))  # 10 days paused

    decision = _clocks(crew, case_id, D(2026, 3, 20))[ClockKind.DECISION]
    assert not decision.paused and "中止 10 日" in decision.explanation
    assert decision.due == D(2026, 6, 10)  # 31 May + 10 days, a Wednesday

    # decided and served; a pause of execution (中止执行) moves payment, not the party's appeal periods
    decide_case(crew, case_id, D(2026, 4, 1))
    serve_case(crew, case_id, D(2026, 4, 1))
    plain = _clocks(crew, case_id, D(2026, 4, 2))
    with crew.ctx.unit_of_work(crew.actor) as s:
        pause_case(s, crew.actor, case_id, D(2026, 4, 7), "当事人申请行政复议，中止执行")
        resume_case(s, crew.actor, case_id, D(2026, 4, 11))  # 5 days
    moved = _clocks(crew, case_id, D(2026, 4, 12))
    assert plain[ClockKind.PAYMENT].due == D(2026, 4, 16)
    assert (
        moved[ClockKind.PAYMENT].due == D(2026, 4, 21) and "中止 5 日" in moved[ClockKind.PAYMENT].explanation
    )
    for kind in (ClockKind.RECONSIDERATION, ClockKind.LAWSUIT, ClockKind.COURT_APPLICATION):
        assert moved[kind].due == plain[kind].due
    # the decision clock keeps the earlier pause only; the later one was after its end
    assert moved[ClockKind.DECISION].due == D(2026, 6, 10)

    with crew.ctx.read() as s:
        assert verify(s).ok
        audited = list(s.scalars(select(AuditEntry.entity).where(AuditEntry.entity == "case_pauses")))
    assert len(audited) >= 4  # two pauses, each started and resumed

    with crew.ctx.unit_of_work(crew.actor) as s:
        # after the unpaused deadline (04-16) but inside the paused one (04-21): no late fee
        record_payment(s, crew.actor, case_id, D(2026, 4, 20), 300000, "NO.1")
        close_case(s, crew.actor, case_id, D(2026, 4, 21))
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="已结案"):
        pause_case(s, crew.actor, case_id, D(2026, 4, 22), "再中止")


def test_extension_within_the_limit_allowed_beyond_refused(crew: Crew) -> None:
    case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    with crew.ctx.unit_of_work(crew.actor) as s:
        extend_case_period(s, crew.actor, case_id, ClockKind.DECISION, 20, "案情复杂，需补充调查")
    decision = _clocks(crew, case_id, D(2026, 3, 9))[ClockKind.DECISION]
    assert decision.due == D(2026, 6, 22) and "延长 20 日" in decision.explanation  # 20 June is a Saturday
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError) as err:
        extend_case_period(s, crew.actor, case_id, ClockKind.DECISION, 15, "再延长")
    assert "最多延长 30 日" in err.value.message and "已延长 20 日" in err.value.message
    with crew.ctx.unit_of_work(crew.actor) as s, pytest.raises(ValidationError, match="不能延长"):
        extend_case_period(s, crew.actor, case_id, ClockKind.HEARING_REQUEST, 2, "当事人请求")
    with crew.ctx.unit_of_work(crew.actor) as s:
        extend_case_period(s, crew.actor, case_id, ClockKind.DECISION, 10, "等待鉴定")
    assert _clocks(crew, case_id, D(2026, 3, 9))[ClockKind.DECISION].due == D(2026, 6, 30)


def test_due_clocks_lists_overdue_red_and_near_amber(crew: Crew) -> None:
    today = D(2026, 6, 10)  # Wednesday
    overdue = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))  # due Monday 1 June
    near = open_and_file(crew, D(2026, 3, 13), D(2026, 3, 13))  # due Thursday 11 June
    open_and_file(crew, D(2026, 6, 1))  # due in September
    closed = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))
    decide_case(crew, closed, D(2026, 3, 5))
    serve_case(crew, closed, D(2026, 3, 5))
    with crew.ctx.unit_of_work(crew.actor) as s:
        record_payment(s, crew.actor, closed, D(2026, 3, 6), 300000, "NO.2")
        close_case(s, crew.actor, closed, D(2026, 3, 6))

    with crew.ctx.read() as s:
        statements: list[str] = []
        engine = s.get_bind()

        def count(*args: object) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):
                statements.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            todo = due_clocks(s, crew.actor, today)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        overdue_no = get_case(s, crew.actor, overdue).number
        near_no = get_case(s, crew.actor, near).number
    # the index's freshness (fingerprint, row and open-case counts), the candidate cases, their
    # steps, their pauses, the calendar: a fixed handful, never one query per case
    assert len(statements) <= 7
    assert [(n, c.kind, c.state) for n, c in todo] == [
        (overdue_no, ClockKind.DECISION, ClockState.RED),
        (near_no, ClockKind.DECISION, ClockState.AMBER),
    ]
    with crew.ctx.read() as s:
        wider = due_clocks(s, crew.actor, D(2026, 5, 27), within_working_days=5)
    assert [(n, c.state) for n, c in wider] == [(overdue_no, ClockState.AMBER)]


def test_start_page_todos_carry_the_case_clocks(crew: Crew, actors: dict[Role, Actor]) -> None:
    from app.todos import todos

    today = D(2026, 6, 10)
    overdue = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 3))  # decision due Monday 1 June
    with crew.ctx.read() as s:
        number = get_case(s, crew.actor, overdue).number
        items = todos(s, crew.actor, crew.ctx.settings, today)
        # the legal reviewer sees the same case clocks
        legal = todos(s, actors[Role.LEGAL], crew.ctx.settings, today)
    cases = [t for t in items if t.area == "案件"]
    assert cases and cases[0].level.value == "red" and number in cases[0].text and "已逾期" in cases[0].text
    assert items[0].area == "案件"  # red case clocks come first
    assert [t.text for t in legal if t.area == "案件"] == [t.text for t in cases]
