"""The roster rule checker: every hard rule with a roster that breaks it and one that keeps it, a
certificate expiring mid-month, leave, the capacity check before solving, and fairness counts on
the real 2026 calendar (National Day and its make-up workdays)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from app.calendar import WorkCalendar
from app.certificates import CertFacts
from app.personnel.enforce import enforcement_check
from app.rosters import (
    Assignment,
    Category,
    Demand,
    FairnessCounts,
    Leave,
    Person,
    Roster,
    Rule,
    Rules,
    ShiftType,
    Violation,
    capacity_check,
    certified_days,
    check,
    fairness_counts,
    fairness_summary,
)
from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

D = dt.date
T = dt.time
DEC = D(2026, 12, 1)
DEC_DAYS = frozenset(D(2026, 12, n) for n in range(1, 32))

SHIFTS = [
    ShiftType("E", "早班", T(8), T(16)),
    ShiftType("M", "中班", T(12), T(20)),
    ShiftType("N", "夜班", T(16), T(0), is_night=True),
    ShiftType("D24", "24小时值班", T(8), T(8), is_24h=True),
    ShiftType("L", "带班领导", T(8), T(17)),
    ShiftType("J", "联勤巡逻", T(9), T(17), needs_police=True),
]

LI = Person(1, "李明", Category.CIVIL_SERVANT, is_leader=True, certified_days=DEC_DAYS)
ZHANG = Person(2, "张三", Category.CAREER, certified_days=DEC_DAYS)
WANG_AUX = Person(3, "王某", Category.AUXILIARY)
ZHAO = Person(4, "赵六", Category.POLICE)
WANG_WU = Person(6, "王五", Category.CIVIL_SERVANT, certified_days=DEC_DAYS)
PEOPLE = [LI, ZHANG, WANG_AUX, ZHAO, WANG_WU]


def cells(member: Person, shift: str, *days: D) -> list[Assignment]:
    return [Assignment(member.member_id, day, shift) for day in days]


def exact_demand(assignments: Iterable[Assignment]) -> list[Demand]:
    """A demand that the given cells meet exactly, so a test sees only the rule it is about."""
    count = Counter((a.day, a.shift) for a in assignments)
    return [Demand(day, shift, n) for (day, shift), n in count.items()]


def run(
    assignments: list[Assignment],
    demands: list[Demand] | None = None,
    leaves: Iterable[Leave] = (),
    rules: Rules | None = None,
    people: list[Person] | None = None,
    previous: Iterable[Assignment] = (),
) -> list[Violation]:
    roster = Roster(DEC, tuple(assignments), tuple(previous))
    return check(
        roster,
        people or PEOPLE,
        SHIFTS,
        exact_demand(assignments) if demands is None else demands,
        list(leaves),
        rules,
    )


def only(violations: list[Violation], rule: Rule) -> Violation:
    found = [v for v in violations if v.rule is rule]
    assert len(found) == 1, violations
    return found[0]


def days(first: int, last: int) -> list[D]:
    return [D(2026, 12, n) for n in range(first, last + 1)]


# --- one shift a day -------------------------------------------------------------------------


def test_two_shifts_on_one_day_are_flagged() -> None:
    v = only(run(cells(ZHAO, "E", D(2026, 12, 8)) + cells(ZHAO, "N", D(2026, 12, 8))), Rule.ONE_SHIFT)
    assert (v.day, v.member_id) == (D(2026, 12, 8), ZHAO.member_id)
    assert v.message == "赵六 12月8日 排了2个班次（早班、夜班）"


def test_one_shift_a_day_is_kept() -> None:
    assert run(cells(ZHAO, "E", D(2026, 12, 8)) + cells(ZHAO, "N", D(2026, 12, 9))) == []


# --- rest day after a 24-hour duty -------------------------------------------------------------


def test_duty_the_day_after_a_24_hour_duty_is_flagged() -> None:
    v = only(
        run(cells(ZHANG, "D24", D(2026, 12, 4)) + cells(ZHANG, "N", D(2026, 12, 5))), Rule.REST_AFTER_24H
    )
    assert (v.day, v.member_id, v.shift) == (D(2026, 12, 5), ZHANG.member_id, "N")
    assert v.message == "张三 12月4日 24小时值班后次日须休息，12月5日却排了夜班"


def test_rest_day_after_a_24_hour_duty_is_kept() -> None:
    assert run(cells(ZHANG, "D24", D(2026, 12, 4)) + cells(ZHANG, "N", D(2026, 12, 6))) == []


# --- minimum rest between shifts --------------------------------------------------------------


def test_too_little_rest_after_a_night_is_flagged() -> None:
    v = only(run(cells(ZHANG, "N", D(2026, 12, 9)) + cells(ZHANG, "E", D(2026, 12, 10))), Rule.MIN_REST)
    assert (v.day, v.member_id, v.shift) == (D(2026, 12, 10), ZHANG.member_id, "E")
    assert v.message == "张三 12月10日 早班与前一日夜班间隔8小时，少于11小时"


def test_enough_rest_after_a_night_is_kept() -> None:
    # night ends at midnight, the middle shift starts at noon: 12 hours
    assert run(cells(ZHANG, "N", D(2026, 12, 9)) + cells(ZHANG, "M", D(2026, 12, 10))) == []


def test_rest_holds_across_the_month_boundary() -> None:
    previous = cells(ZHANG, "N", D(2026, 11, 30))
    v = only(run(cells(ZHANG, "E", D(2026, 12, 1)), previous=previous), Rule.MIN_REST)
    assert v.day == D(2026, 12, 1)
    assert v.message == "张三 12月1日 早班与前一日夜班间隔8小时，少于11小时"


# --- maximum consecutive working days --------------------------------------------------------


def test_seven_days_in_a_row_are_flagged() -> None:
    v = only(run(cells(LI, "E", *days(5, 11))), Rule.MAX_CONSECUTIVE)
    assert (v.day, v.member_id) == (D(2026, 12, 11), LI.member_id)
    assert v.message == "李明 12月5日至12月11日连续工作7天，超过6天上限"


def test_six_days_in_a_row_are_kept() -> None:
    assert run(cells(LI, "E", *days(5, 10)) + cells(LI, "E", *days(12, 17))) == []


# --- minimum days off per 7-day window --------------------------------------------------------


def test_too_few_days_off_in_a_week_are_flagged() -> None:
    rules = Rules(max_consecutive_days=10, min_days_off_per_week=2)
    v = only(run(cells(LI, "E", *days(1, 6)), rules=rules), Rule.MIN_DAYS_OFF)
    assert (v.day, v.member_id) == (D(2026, 12, 7), LI.member_id)
    assert v.message == "李明 12月1日至12月7日仅休息1天，每7天至少须休息2天"


def test_enough_days_off_in_every_week_are_kept() -> None:
    rules = Rules(max_consecutive_days=10, min_days_off_per_week=2)
    assert run(cells(LI, "E", *days(1, 5)) + cells(LI, "E", *days(8, 12)), rules=rules) == []


# --- headcount ---------------------------------------------------------------------------------


def test_short_shift_is_flagged() -> None:
    v = only(run(cells(ZHANG, "E", D(2026, 12, 3)), [Demand(D(2026, 12, 3), "E", 2)]), Rule.HEADCOUNT)
    assert (v.day, v.member_id, v.shift) == (D(2026, 12, 3), None, "E")
    assert v.message == "12月3日 早班需要2人，实排1人"


def test_overstaffed_or_unplanned_shift_is_flagged() -> None:
    assigned = cells(ZHANG, "E", D(2026, 12, 3)) + cells(LI, "E", D(2026, 12, 3))
    v = only(run(assigned, [Demand(D(2026, 12, 3), "E", 1)]), Rule.OVERSTAFFED)
    assert v.message == "12月3日 早班需要1人，实排2人（李明、张三）"
    unplanned = only(run(cells(ZHANG, "M", D(2026, 12, 3)), []), Rule.OVERSTAFFED)
    assert unplanned.message == "12月3日 中班需要0人，实排1人（张三）"


def test_full_shift_is_kept() -> None:
    assigned = cells(ZHANG, "E", D(2026, 12, 3)) + cells(LI, "E", D(2026, 12, 3))
    assert run(assigned, [Demand(D(2026, 12, 3), "E", 2)]) == []


# --- certified officers, police, leader ------------------------------------------------------


def test_auxiliary_and_police_never_count_as_certified_officers() -> None:
    demand = [Demand(D(2026, 12, 3), "N", 2, min_certified=2)]
    v = only(
        run(cells(ZHANG, "N", D(2026, 12, 3)) + cells(WANG_AUX, "N", D(2026, 12, 3)), demand),
        Rule.MIN_CERTIFIED,
    )
    assert (v.day, v.shift) == (D(2026, 12, 3), "N")
    assert v.message == "12月3日 夜班需要2名持证执法人员，实排1名（王某为辅助人员，不计入）"
    v = only(
        run(cells(ZHANG, "N", D(2026, 12, 3)) + cells(ZHAO, "N", D(2026, 12, 3)), demand), Rule.MIN_CERTIFIED
    )
    assert v.message == "12月3日 夜班需要2名持证执法人员，实排1名（赵六为公安民警，不计入）"


def test_enough_certified_officers_are_kept() -> None:
    demand = [Demand(D(2026, 12, 3), "N", 2, min_certified=2)]
    assert run(cells(ZHANG, "N", D(2026, 12, 3)) + cells(WANG_WU, "N", D(2026, 12, 3)), demand) == []


def test_certificate_expiring_mid_month_counts_until_its_last_day() -> None:
    facts = [CertFacts(CertificateKind.ENFORCEMENT, D(2021, 1, 1), D(2026, 12, 15), CertificateState.VALID)]
    sun = Person(
        5,
        "孙七",
        Category.CAREER,
        certified_days=certified_days(
            DEC_DAYS,
            lambda d: (
                enforcement_check(
                    "孙七", StaffCategory.CAREER, MemberStatus.ON_DUTY, None, facts, d, today=D(2026, 12, 1)
                ).ok
            ),
        ),
    )
    assert max(sun.certified_days) == D(2026, 12, 15)
    last, after = D(2026, 12, 15), D(2026, 12, 16)
    demand = [Demand(last, "E", 1, min_certified=1), Demand(after, "E", 1, min_certified=1)]
    violations = run(cells(sun, "E", last, after), demand, people=[*PEOPLE, sun])
    v = only(violations, Rule.MIN_CERTIFIED)
    assert v.day == after
    assert v.message == "12月16日 早班需要1名持证执法人员，实排0名（孙七12月16日无有效执法证，不计入）"
    assert run(cells(sun, "E", last), demand[:1], people=[*PEOPLE, sun]) == []


def test_joint_patrol_without_police_is_flagged() -> None:
    v = only(run(cells(ZHANG, "J", D(2026, 12, 9))), Rule.MIN_POLICE)
    assert (v.day, v.shift) == (D(2026, 12, 9), "J")
    assert v.message == "12月9日 联勤巡逻需要1名公安民警，实排0名"
    short = [Demand(D(2026, 12, 9), "E", 2, min_police=2)]
    assigned = cells(ZHAO, "E", D(2026, 12, 9)) + cells(ZHANG, "E", D(2026, 12, 9))
    assert only(run(assigned, short), Rule.MIN_POLICE).message == "12月9日 早班需要2名公安民警，实排1名"


def test_joint_patrol_with_police_is_kept() -> None:
    assert run(cells(ZHANG, "J", D(2026, 12, 9)) + cells(ZHAO, "J", D(2026, 12, 9))) == []


def test_missing_leader_is_flagged_and_a_leader_keeps_it() -> None:
    demand = [Demand(D(2026, 12, 12), "L", 1, needs_leader=True)]
    v = only(run(cells(ZHANG, "L", D(2026, 12, 12)), demand), Rule.LEADER)
    assert (v.day, v.shift) == (D(2026, 12, 12), "L")
    assert v.message == "12月12日 带班领导需要1名带班领导，实排0名"
    assert run(cells(LI, "L", D(2026, 12, 12)), demand) == []


# --- leave -------------------------------------------------------------------------------------

ANNUAL = Leave(WANG_WU.member_id, "年休假", D(2026, 12, 5), D(2026, 12, 7))


def test_duty_during_leave_is_flagged() -> None:
    v = only(run(cells(WANG_WU, "E", D(2026, 12, 6)), leaves=[ANNUAL]), Rule.ON_LEAVE)
    assert (v.day, v.member_id, v.shift) == (D(2026, 12, 6), WANG_WU.member_id, "E")
    assert v.message == "王五 12月6日 请假（年休假）期间被排班"


def test_leave_is_kept() -> None:
    assert run(cells(WANG_WU, "E", D(2026, 12, 4), D(2026, 12, 8)), leaves=[ANNUAL]) == []


# --- odd input ---------------------------------------------------------------------------------


def test_unknown_member_shift_and_other_month_are_reported() -> None:
    odd = [
        Assignment(99, D(2026, 12, 2), "E"),
        Assignment(2, D(2026, 12, 2), "X"),
        Assignment(2, D(2027, 1, 2), "E"),
    ]
    violations = run(odd, [])
    assert [v.rule for v in violations] == [Rule.UNKNOWN, Rule.UNKNOWN, Rule.OUTSIDE_MONTH]
    assert violations[0].message == "张三 12月2日 班次“X”未定义"
    assert violations[1].message == "12月2日 排班中的队员#99不在名单中"


def test_holiday_names_appear_with_a_calendar() -> None:
    day = D(2026, 10, 1)
    roster = Roster(day, tuple(cells(WANG_WU, "E", day)))
    [v] = check(
        roster, PEOPLE, SHIFTS, [Demand(day, "E", 1)], [Leave(6, "病假", day, day)], calendar=WorkCalendar()
    )
    assert v.rule is Rule.ON_LEAVE
    assert v.message == "王五 10月1日（国庆节） 请假（病假）期间被排班"


# --- capacity before solving -------------------------------------------------------------------


def test_capacity_check_names_who_is_on_leave() -> None:
    day = D(2026, 12, 3)
    leave = Leave(WANG_WU.member_id, "", day, day)
    people = [ZHANG, WANG_WU, WANG_AUX]
    [v] = capacity_check(people, SHIFTS, [Demand(day, "N", 2, min_certified=2)], [leave])
    assert (v.rule, v.day, v.shift) == (Rule.MIN_CERTIFIED, day, "N")
    assert v.message == "12月3日 夜班需要2名持证执法人员，可排1名：王五休假"
    assert capacity_check(people, SHIFTS, [Demand(day, "N", 2, min_certified=2)], []) == []


def test_capacity_check_adds_up_the_shifts_of_a_day() -> None:
    day = D(2026, 12, 3)
    demands = [
        Demand(day, "E", 1, min_certified=1),
        Demand(day, "N", 1, min_certified=1),
        Demand(day, "J", 2),
    ]
    leave = Leave(WANG_WU.member_id, "年休假", D(2026, 12, 1), D(2026, 12, 4))
    violations = capacity_check([ZHANG, WANG_WU, WANG_AUX], SHIFTS, demands, [leave])
    messages = {(v.rule, v.shift): v.message for v in violations}
    assert messages == {
        (Rule.MIN_POLICE, "J"): "12月3日 联勤巡逻需要1名公安民警，可排0名",
        (Rule.HEADCOUNT, None): "12月3日 各班次共需4人，可排2人：王五休假（年休假）",
        (Rule.MIN_CERTIFIED, None): "12月3日 各班次共需2名持证执法人员，可排1名：王五休假（年休假）",
    }  # the joint patrol alone explains the police shortage: no day total for it


# --- fairness on the real 2026 calendar ------------------------------------------------------


def test_fairness_counts_national_day_and_its_make_up_workday() -> None:
    cal = WorkCalendar()
    assert cal.info(D(2026, 10, 10)).is_makeup_workday  # Saturday worked in exchange
    oct_ = [
        *cells(LI, "E", D(2026, 10, 1)),  # Thursday, 国庆节
        *cells(LI, "E", D(2026, 10, 3)),  # Saturday inside the holiday: a holiday, not a weekend
        *cells(LI, "E", D(2026, 10, 10)),  # Saturday, 调休上班: a workday
        *cells(LI, "N", D(2026, 10, 11)),  # ordinary Sunday, a night
        *cells(LI, "D24", D(2026, 10, 13)),  # Tuesday
        *cells(ZHANG, "N", D(2026, 10, 12)),  # Monday
    ]
    roster = Roster(D(2026, 10, 1), tuple(oct_))
    counts = fairness_counts(
        roster, PEOPLE, SHIFTS, cal, carried={LI.member_id: FairnessCounts(nights=2, holidays=1)}
    )
    assert counts[LI.member_id] == FairnessCounts(nights=3, duties_24h=1, weekends=1, holidays=3)
    assert counts[ZHANG.member_id] == FairnessCounts(nights=1)
    assert counts[WANG_WU.member_id] == FairnessCounts()
    summary = fairness_summary(counts)
    assert (summary["nights"].minimum, summary["nights"].maximum, summary["nights"].spread) == (0, 3, 3)
    assert summary["holidays"].spread == 3 and summary["weekends"].spread == 1

    # Without the calendar only Saturday and Sunday are weekends: the holiday goes unseen.
    plain = fairness_counts(roster, PEOPLE, SHIFTS)
    assert plain[LI.member_id] == FairnessCounts(nights=1, duties_24h=1, weekends=3, holidays=0)


def test_make_up_workday_in_september_2026_is_no_weekend() -> None:
    cal = WorkCalendar()
    sunday = D(2026, 9, 20)
    assert sunday.weekday() == 6 and cal.info(sunday).is_makeup_workday
    roster = Roster(sunday, tuple(cells(ZHANG, "E", sunday, D(2026, 9, 25))))  # 25th: 中秋节
    assert fairness_counts(roster, [ZHANG], SHIFTS, cal)[ZHANG.member_id] == FairnessCounts(holidays=1)
