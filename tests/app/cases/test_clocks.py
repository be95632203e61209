"""Statutory clocks on the national calendar: working-day and calendar-day periods across the 2026
holidays and into 2027 (not covered by the holiday data), the rest-day rule, month clamping, the
counted-back hearing notice, pauses and extensions, late fee, limitation, amber/red."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar import WorkCalendar
from app.cases.clocks import (
    PERIODS,
    REST_DAY_RULE,
    Clock,
    ClockKind,
    ClockState,
    Direction,
    Event,
    Extension,
    Pause,
    RestDayRule,
    Unit,
    add_months,
    case_clocks,
    check_extension,
    clock_state,
    late_fee_days,
    late_fee_fen,
    limitation_check,
    period_table,
    subtract_working_days,
)
from app.errors import ValidationError

D = dt.date
CAL = WorkCalendar()


def due(kind: ClockKind, start: dt.date, *pauses: Pause, extensions: tuple[Extension, ...] = ()) -> dt.date:
    return Clock(kind, start, pauses, extensions).due(CAL).day


def test_every_clock_has_a_period_with_its_basis() -> None:
    assert set(PERIODS) == set(ClockKind)
    for kind, period in PERIODS.items():
        assert period.kind is kind and period.name and period.basis.startswith("《")
        assert "{n}" in period.template
    # APL 85 / ACL 69: the short periods are working days; 15/30/60/90 days are calendar days.
    working = {k for k, p in PERIODS.items() if p.unit is Unit.WORKING_DAYS}
    assert working == {
        ClockKind.PRESERVATION_DECISION,
        ClockKind.HEARING_REQUEST,
        ClockKind.HEARING_NOTICE,
        ClockKind.SERVICE,
        ClockKind.CASH_HANDOVER,
        ClockKind.REMINDER,
    }
    lengths = {k: (p.unit, p.length) for k, p in PERIODS.items()}
    assert lengths[ClockKind.PAYMENT] == (Unit.CALENDAR_DAYS, 15)
    assert lengths[ClockKind.DECISION] == (Unit.CALENDAR_DAYS, 90)
    assert lengths[ClockKind.SEIZURE] == (Unit.CALENDAR_DAYS, 30)
    assert lengths[ClockKind.RECONSIDERATION] == (Unit.CALENDAR_DAYS, 60)
    assert lengths[ClockKind.LAWSUIT] == (Unit.MONTHS, 6)
    assert lengths[ClockKind.COURT_APPLICATION] == (Unit.MONTHS, 3)
    assert PERIODS[ClockKind.HEARING_NOTICE].direction is Direction.BEFORE
    assert PERIODS[ClockKind.COURT_APPLICATION].start is ClockKind.LAWSUIT
    assert REST_DAY_RULE is RestDayRule.ROLL_FORWARD


def test_spring_festival_2026() -> None:
    for day in range(15, 24):
        assert not CAL.is_workday(D(2026, 2, day))
    assert CAL.info(D(2026, 2, 14)).is_makeup_workday and CAL.info(D(2026, 2, 28)).is_makeup_workday
    # 12, 13, 14 (调休 Saturday), 24, 25, 26, 27
    assert due(ClockKind.PRESERVATION_DECISION, D(2026, 2, 11)) == D(2026, 2, 27)
    # 13, 14, 24, 25, 26
    assert due(ClockKind.HEARING_REQUEST, D(2026, 2, 12)) == D(2026, 2, 26)
    # received 5 Feb: day 15 is 20 Feb, inside the holiday → first working day after it
    payment = Clock(ClockKind.PAYMENT, D(2026, 2, 5)).due(CAL)
    assert (payment.day, payment.rolled_from, payment.provisional) == (D(2026, 2, 24), D(2026, 2, 20), False)
    assert "2026-02-20 为休息日" in payment.explanation
    # a period ending on a make-up Saturday ends there: the office works that day
    for received, last in ((D(2026, 1, 30), D(2026, 2, 14)), (D(2026, 2, 13), D(2026, 2, 28))):
        on_makeup = Clock(ClockKind.PAYMENT, received).due(CAL)
        assert (on_makeup.day, on_makeup.rolled_from) == (last, None)


def test_may_day_2026() -> None:
    # State Council arrangement for 2026: 1–5 May off, Saturday 9 May worked.
    assert [CAL.info(D(2026, 5, d)).name for d in range(1, 6)] == ["劳动节"] * 5
    assert not any(CAL.is_workday(D(2026, 5, d)) for d in range(1, 6))
    assert CAL.info(D(2026, 5, 9)).is_makeup_workday and CAL.info(D(2026, 5, 9)).name == "调休上班"
    assert not CAL.is_workday(D(2026, 4, 26))  # an ordinary Sunday, not a make-up day this year
    # decided Tue 28 Apr, party absent: 29, 30 Apr, 6, 7, 8, 9 (Sat, worked), 11 May
    assert due(ClockKind.SERVICE, D(2026, 4, 28)) == D(2026, 5, 11)
    # received 16 Apr: day 15 is 1 May → Wednesday 6 May
    assert due(ClockKind.PAYMENT, D(2026, 4, 16)) == D(2026, 5, 6)


def test_national_day_2026() -> None:
    # 2026: 中秋 25–27 Sep, 国庆 1–7 Oct; Sunday 20 Sep and Saturday 10 Oct worked.
    assert [CAL.info(D(2026, 9, d)).name for d in (25, 26, 27)] == ["中秋节"] * 3
    assert [CAL.info(D(2026, 10, d)).name for d in range(1, 8)] == ["国庆节"] * 7
    assert not any(CAL.is_workday(D(2026, 10, d)) for d in range(1, 8))
    assert CAL.info(D(2026, 9, 20)).is_makeup_workday and CAL.info(D(2026, 10, 10)).is_makeup_workday
    # cash collected 30 Sep: 8 and 9 Oct
    assert due(ClockKind.CASH_HANDOVER, D(2026, 9, 30)) == D(2026, 10, 9)
    # reminder served 30 Sep: 8, 9, 10 (Sat, worked), 12–16, 19, 20 Oct
    assert due(ClockKind.REMINDER, D(2026, 9, 30)) == D(2026, 10, 20)
    # received 16 Sep: day 15 is 1 Oct → Thursday 8 Oct, after the whole holiday
    payment = Clock(ClockKind.PAYMENT, D(2026, 9, 16)).due(CAL)
    assert (payment.day, payment.rolled_from) == (D(2026, 10, 8), D(2026, 10, 1))


def test_rest_day_rule_moves_a_saturday_to_monday() -> None:
    payment = Clock(ClockKind.PAYMENT, D(2026, 3, 6)).due(CAL)
    assert D(2026, 3, 21).weekday() == 5
    assert (payment.day, payment.rolled_from) == (D(2026, 3, 23), D(2026, 3, 21))
    assert payment.explanation == (
        "收到决定书后 15 日内缴纳罚款，截止 2026-03-23（2026-03-21 为休息日，顺延至其后第一个工作日）"
    )
    # a working-day clock never needs the rule
    assert Clock(ClockKind.SERVICE, D(2026, 3, 6)).due(CAL).rolled_from is None


def test_into_2027_is_provisional() -> None:
    payment = Clock(ClockKind.PAYMENT, D(2026, 12, 20)).due(CAL)
    assert payment.day == D(2027, 1, 4) and payment.provisional
    assert payment.explanation.endswith("日期暂定")
    decision = Clock(ClockKind.DECISION, D(2026, 11, 1)).due(CAL)
    assert (decision.day, decision.rolled_from, decision.provisional) == (D(2027, 2, 1), D(2027, 1, 30), True)
    # 29, 30, 31 Dec; 1 Jan 2027 元旦 (provisional); 4–7 Jan
    preservation = Clock(ClockKind.PRESERVATION_DECISION, D(2026, 12, 28)).due(CAL)
    assert preservation.day == D(2027, 1, 7) and preservation.provisional
    inside = Clock(ClockKind.PAYMENT, D(2026, 12, 1)).due(CAL)
    assert inside.day == D(2026, 12, 16) and not inside.provisional


def test_month_arithmetic_clamps_to_the_month_end() -> None:
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2027, 12, 31), 2) == D(2028, 2, 29)  # leap year
    assert add_months(D(2026, 11, 15), 3) == D(2027, 2, 15)
    assert add_months(D(2026, 3, 15), 0) == D(2026, 3, 15)
    # 28 Feb 2027 is a Sunday: the lawsuit period then ends on Monday 1 March, provisionally
    lawsuit = Clock(ClockKind.LAWSUIT, D(2026, 8, 31)).due(CAL)
    assert (lawsuit.day, lawsuit.rolled_from, lawsuit.provisional) == (D(2027, 3, 1), D(2027, 2, 28), True)
    assert lawsuit.explanation.startswith("收到决定书后 6 个月内提起行政诉讼，截止 2027-03-01")
    assert due(ClockKind.LAWSUIT, D(2026, 1, 15)) == D(2026, 7, 15)  # a Wednesday


def test_hearing_notice_is_counted_back_from_the_hearing() -> None:
    # hearing Monday 16 Mar: notice by Thursday 5 Mar, leaving 6, 9–13 and 16 Mar — 7 working days
    notice = Clock(ClockKind.HEARING_NOTICE, D(2026, 3, 16)).due(CAL)
    assert notice.day == D(2026, 3, 5) and not notice.provisional and not notice.paused
    assert notice.explanation == "举行听证 7 个工作日前通知当事人，最迟 2026-03-05"
    assert CAL.add_working_days(D(2026, 3, 5), 7).day == D(2026, 3, 16)
    assert CAL.working_days_between(D(2026, 3, 6), D(2026, 3, 16)) == (6, False)  # a day too late
    # a Saturday hearing: the Saturday does not count, so one working day earlier
    assert subtract_working_days(CAL, D(2026, 3, 14), 7).day == D(2026, 3, 4)
    # across National Day and 中秋: 28, 29, 30 Sep, 8, 9, 10 (Sat, worked), 12 Oct → by 24 Sep
    assert due(ClockKind.HEARING_NOTICE, D(2026, 10, 12)) == D(2026, 9, 24)
    # pauses and extensions do not move a counted-back clock: a moved hearing is a new date
    september = Pause(D(2026, 9, 1), D(2026, 9, 30))
    assert due(ClockKind.HEARING_NOTICE, D(2026, 10, 12), september) == D(2026, 9, 24)
    assert subtract_working_days(CAL, D(2027, 1, 5), 3).provisional
    assert subtract_working_days(CAL, D(2026, 3, 9), 0).day == D(2026, 3, 9)
    with pytest.raises(ValidationError, match="不能为负数"):
        subtract_working_days(CAL, D(2026, 3, 9), -1)


def test_pause_and_extension_move_the_decision_clock() -> None:
    filed = D(2026, 2, 6)
    assert due(ClockKind.DECISION, filed) == D(2026, 5, 7)
    appraisal = Pause(D(2026, 3, 2), D(2026, 3, 13), "委托鉴定")
    paused = Clock(ClockKind.DECISION, filed, [appraisal]).due(CAL)
    assert (paused.day, paused.paused_days, paused.paused) == (D(2026, 5, 19), 12, False)
    extended = Clock(ClockKind.DECISION, filed, [appraisal], [Extension(30, "张队长", "案情复杂")]).due(CAL)
    assert extended.day == D(2026, 6, 18) and extended.extension_days == 30
    assert extended.explanation == "立案后 90 日内作出决定（中止 12 日，延长 30 日），截止 2026-06-18"
    # a pause after the period ended moves nothing; one before filing neither
    assert due(ClockKind.DECISION, filed, Pause(D(2026, 5, 8), D(2026, 5, 20))) == D(2026, 5, 7)
    assert due(ClockKind.DECISION, filed, Pause(D(2026, 1, 1), D(2026, 2, 6))) == D(2026, 5, 7)
    # overlapping pauses count each day once
    both = Clock(ClockKind.DECISION, filed, [appraisal, Pause(D(2026, 3, 10), D(2026, 3, 20))]).due(CAL)
    assert both.paused_days == 19


def test_open_pause_flags_the_clock_and_counts_through_today() -> None:
    filed = D(2026, 2, 6)
    clock = Clock(ClockKind.DECISION, filed, [Pause(D(2026, 3, 2), None, "等待检测结果")])
    on_start = clock.due(CAL)
    assert on_start.paused and on_start.paused_days == 1 and on_start.day == D(2026, 5, 8)
    later = clock.due(CAL, today=D(2026, 3, 10))  # paused 2–10 Mar: 9 days
    assert later.paused and later.paused_days == 9
    assert (later.day, later.rolled_from) == (D(2026, 5, 18), D(2026, 5, 16))
    assert "自 2026-03-02 起中止中；若 2026-03-11 恢复，截止 2026-05-18" in later.explanation
    # an open pause begun after the period ended does not stop it
    assert not Clock(ClockKind.DECISION, filed, [Pause(D(2026, 6, 1))]).due(CAL).paused


def test_pause_on_a_working_day_clock_counts_working_days() -> None:
    # from Monday 2 Mar, paused Wed 4 – Sun 8 Mar: 3 working days skipped
    clock = Clock(ClockKind.PRESERVATION_DECISION, D(2026, 3, 2), [Pause(D(2026, 3, 4), D(2026, 3, 8))])
    result = clock.due(CAL)
    assert (result.day, result.paused_days) == (D(2026, 3, 16), 3)
    assert result.explanation == "先行登记保存后 7 个工作日内作出处理决定（中止 3 个工作日），截止 2026-03-16"
    assert due(ClockKind.PRESERVATION_DECISION, D(2026, 3, 2)) == D(2026, 3, 11)


def test_extensions_are_checked_against_the_law() -> None:
    approval = Extension(30, "李队长", "需要继续查明")
    check_extension(ClockKind.SEIZURE, [], approval)
    with pytest.raises(ValidationError, match="只能延长 1 次"):
        check_extension(ClockKind.SEIZURE, [approval], Extension(5, "李队长", "再延"))
    with pytest.raises(ValidationError, match="最多延长 30 日"):
        check_extension(ClockKind.SEIZURE, [], Extension(31, "李队长", "过长"))
    with pytest.raises(ValidationError, match="最多延长 30 日，已延长 20 日"):
        check_extension(ClockKind.DECISION, [Extension(20, "李队长", "一")], Extension(15, "李队长", "二"))
    with pytest.raises(ValidationError, match="不能延长"):
        check_extension(ClockKind.PRESERVATION_DECISION, [], approval)
    check_extension(ClockKind.PAYMENT, [], Extension(90, "李队长", "经济困难暂缓缴纳"))  # APL 66
    # the district's rule may allow a longer decision extension
    longer = period_table(decision_extension_days=60)
    check_extension(ClockKind.DECISION, [], Extension(60, "李队长", "特别复杂"), longer)
    seizure = Clock(ClockKind.SEIZURE, D(2026, 3, 2), extensions=[approval]).due(CAL)
    # 30 + 30 days from 2 Mar is 1 May, inside the May Day holiday → Wednesday 6 May
    assert (seizure.day, seizure.rolled_from) == (D(2026, 5, 6), D(2026, 5, 1))


def test_pause_and_extension_validation() -> None:
    with pytest.raises(ValidationError, match="早于开始日"):
        Pause(D(2026, 3, 10), D(2026, 3, 9))
    with pytest.raises(ValidationError, match="大于 0"):
        Extension(0, "李队长", "无")
    with pytest.raises(ValidationError, match="批准人"):
        Extension(10, " ", "无")
    with pytest.raises(ValidationError):
        period_table(decision_extension_days=-1)


def test_case_clocks_computes_every_known_clock_and_moves_downstream_ones() -> None:
    events = {
        Event.FILED: D(2026, 2, 6),
        Event.NOTICE_RECEIVED: D(2026, 4, 20),
        Event.DECIDED: D(2026, 5, 8),
        "decision_served": D(2026, 5, 11),  # plain strings work too
    }
    clocks = case_clocks(events, {}, {}, CAL)
    assert list(clocks) == [
        ClockKind.HEARING_REQUEST,
        ClockKind.DECISION,
        ClockKind.SERVICE,
        ClockKind.PAYMENT,
        ClockKind.RECONSIDERATION,
        ClockKind.LAWSUIT,
        ClockKind.COURT_APPLICATION,
    ]
    # 21, 22, 23, 24, 27 Apr
    assert clocks[ClockKind.HEARING_REQUEST].day == D(2026, 4, 27)
    assert clocks[ClockKind.DECISION].day == D(2026, 5, 7)
    assert clocks[ClockKind.PAYMENT].day == D(2026, 5, 26)
    assert clocks[ClockKind.RECONSIDERATION].day == D(2026, 7, 10)
    assert clocks[ClockKind.LAWSUIT].day == D(2026, 11, 11)
    court = clocks[ClockKind.COURT_APPLICATION]
    assert court.day == D(2027, 2, 11) and court.provisional  # 3 months after the lawsuit period
    assert court.explanation.startswith("起诉期限届满后 3 个月内申请人民法院强制执行，截止 2027-02-11")

    # the party was prevented from suing for 20 days (行政诉讼法 48): the lawsuit period and the
    # court application after it move together; the decision clock moves with its own pause
    moved = case_clocks(
        events,
        {
            ClockKind.LAWSUIT: [Pause(D(2026, 6, 1), D(2026, 6, 20), "不可抗力")],
            ClockKind.DECISION: [Pause(D(2026, 3, 2), D(2026, 3, 13), "委托鉴定")],
        },
        {ClockKind.DECISION: [Extension(30, "张队长", "案情复杂")]},
        CAL,
    )
    assert moved[ClockKind.DECISION].day == D(2026, 6, 18)
    assert moved[ClockKind.LAWSUIT].day == D(2026, 12, 1)
    assert moved[ClockKind.COURT_APPLICATION].day == D(2027, 3, 1)
    assert moved[ClockKind.PAYMENT].day == D(2026, 5, 26)  # a pause of another clock is not its own

    # an open pause upstream leaves the downstream clock undecided too
    open_pause = case_clocks(events, {ClockKind.LAWSUIT: [Pause(D(2026, 6, 1))]}, {}, CAL)
    assert open_pause[ClockKind.LAWSUIT].paused and open_pause[ClockKind.COURT_APPLICATION].paused
    assert "日期待定" in open_pause[ClockKind.COURT_APPLICATION].explanation

    hearing = case_clocks({Event.HEARING: D(2026, 3, 16), Event.REMINDER_SERVED: D(2026, 3, 2)}, {}, {}, CAL)
    assert hearing[ClockKind.HEARING_NOTICE].day == D(2026, 3, 5)
    assert hearing[ClockKind.REMINDER].day == D(2026, 3, 16)
    assert case_clocks({}, {}, {}, CAL) == {}
    with pytest.raises(ValueError):
        case_clocks({"filing": D(2026, 3, 2)}, {}, {}, CAL)  # a misspelt event must not vanish silently


def test_late_fee_is_capped_at_the_fine_and_not_counted_during_an_appeal() -> None:
    fine = 100_000  # 1,000 yuan in fen
    deadline = D(2026, 3, 23)
    assert late_fee_fen(fine, deadline, deadline) == 0
    assert late_fee_fen(fine, deadline, D(2026, 3, 20)) == 0
    assert late_fee_fen(fine, deadline, D(2026, 3, 24)) == 3_000  # 3 % for the first day late
    assert late_fee_fen(fine, deadline, deadline + dt.timedelta(days=33)) == 99_000
    assert late_fee_fen(fine, deadline, deadline + dt.timedelta(days=34)) == fine  # 102 % → capped
    assert late_fee_fen(fine, deadline, D(2027, 6, 1)) == fine
    # reconsideration pending 1–10 Apr: those 10 days do not count
    appeal = Pause(D(2026, 4, 1), D(2026, 4, 10), "申请行政复议")
    assert late_fee_days(deadline, D(2026, 4, 15)) == 23
    assert late_fee_days(deadline, D(2026, 4, 15), [appeal]) == 13
    assert late_fee_fen(fine, deadline, D(2026, 4, 15), [appeal]) == 39_000
    assert late_fee_fen(fine, deadline, D(2026, 5, 5), [appeal]) == 99_000  # 43 days after, 10 paused
    assert late_fee_fen(fine, deadline, D(2026, 5, 6), [appeal]) == fine
    # a lawsuit still pending: nothing accrues from its first day on
    lawsuit = Pause(D(2026, 3, 26), None, "提起行政诉讼")
    assert late_fee_days(deadline, D(2026, 12, 31), [lawsuit]) == 2
    # rounded down to the fen: 3 % of 3.33 yuan is 9.99 fen
    assert late_fee_fen(333, deadline, D(2026, 3, 24)) == 9
    with pytest.raises(ValidationError, match="不能为负数"):
        late_fee_fen(-1, deadline, D(2026, 3, 24))


def test_limitation_two_and_five_years_at_the_boundary() -> None:
    ended = D(2024, 3, 10)
    last_day = limitation_check(ended, D(2026, 3, 10))
    assert last_day.within and last_day.last_day == D(2026, 3, 10) and last_day.years == 2
    late = limitation_check(ended, D(2026, 3, 11))
    assert not late.within and "已超过追责时效" in late.explanation
    assert "《行政处罚法》第三十六条" in late.explanation
    harmed = limitation_check(ended, D(2029, 3, 10), harmed=True)
    assert harmed.within and harmed.last_day == D(2029, 3, 10) and harmed.years == 5
    assert not limitation_check(ended, D(2029, 3, 11), harmed=True).within
    # 29 Feb has no anniversary: the period ends on 28 Feb
    assert limitation_check(D(2024, 2, 29), D(2026, 3, 1)).last_day == D(2026, 2, 28)
    # not moved off rest days: Saturday 7 Mar 2026 is the last day, Monday is too late
    assert limitation_check(D(2024, 3, 7), D(2026, 3, 7)).within
    assert not limitation_check(D(2024, 3, 7), D(2026, 3, 9)).within
    # a continuing violation: the period has not started
    ongoing = limitation_check(None, D(2030, 1, 1))
    assert ongoing.within and ongoing.last_day is None


def test_clock_state_amber_and_red_across_a_weekend() -> None:
    monday = D(2026, 3, 9)
    states = {day: clock_state(monday, D(2026, 3, day), CAL) for day in range(4, 11)}
    assert states == {
        4: ClockState.NONE,  # Wed: Wed, Thu, Fri, Mon left
        5: ClockState.NONE,  # Thu: Thu, Fri, Mon
        6: ClockState.AMBER,  # Fri: Fri, Mon
        7: ClockState.AMBER,  # Sat: Mon
        8: ClockState.AMBER,  # Sun: Mon
        9: ClockState.AMBER,  # due today
        10: ClockState.RED,
    }
    tuesday = D(2026, 3, 10)
    assert clock_state(tuesday, D(2026, 3, 6), CAL) is ClockState.NONE  # Fri, Mon, Tue
    assert clock_state(tuesday, D(2026, 3, 7), CAL) is ClockState.AMBER  # Mon, Tue
    assert clock_state(tuesday, D(2026, 3, 11), CAL, done=True) is ClockState.DONE
    # across the Spring Festival: due Tue 24 Feb; 13 Feb (Fri) and 14 Feb (调休 Sat) still count
    assert clock_state(D(2026, 2, 24), D(2026, 2, 13), CAL) is ClockState.NONE
    assert clock_state(D(2026, 2, 24), D(2026, 2, 14), CAL) is ClockState.AMBER
    assert clock_state(D(2026, 2, 24), D(2026, 2, 15), CAL) is ClockState.AMBER
    assert clock_state(D(2026, 9, 1), D(2026, 3, 2), CAL) is ClockState.NONE


working_days = st.dates(D(2025, 1, 1), D(2027, 12, 31)).filter(CAL.is_workday)


@settings(deadline=None, max_examples=200)
@given(working_days, st.integers(0, 40))
def test_subtract_working_days_undoes_add_working_days(day: dt.date, count: int) -> None:
    assert subtract_working_days(CAL, CAL.add_working_days(day, count).day, count).day == day


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from([k for k, p in PERIODS.items() if p.unit is not Unit.WORKING_DAYS]),
    st.dates(D(2025, 6, 1), D(2027, 6, 30)),
    st.lists(st.tuples(st.integers(0, 120), st.integers(0, 20)), max_size=3),
    st.integers(0, 40),
)
def test_a_calendar_period_never_ends_on_a_rest_day(
    kind: ClockKind, start: dt.date, pauses: list[tuple[int, int]], extension: int
) -> None:
    clock = Clock(
        kind,
        start,
        [Pause(start + dt.timedelta(days=a), start + dt.timedelta(days=a + n)) for a, n in pauses],
        [Extension(extension, "李队长", "测试")] if extension else [],
    )
    result = clock.due(CAL)
    assert CAL.is_workday(result.day)
    # pauses and extensions only ever move the end later; any paused or extended day moves the
    # computed last day (before the rest-day rule) strictly later
    bare = Clock(kind, start).due(CAL)
    assert result.day >= bare.day
    if result.paused_days + result.extension_days:
        assert (result.rolled_from or result.day) > (bare.rolled_from or bare.day)
    else:
        assert result == bare
