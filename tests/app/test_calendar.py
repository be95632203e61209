"""Working days: the national calendar (chinesecalendar), the provisional rule for a year it does
not cover, and the squad's local overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.auth.roles import Actor, Role
from app.calendar import FIXED_HOLIDAYS, WorkCalendar, calendar_for, national_day, set_override
from app.context import AppContext
from app.errors import ValidationError
from db.models import User

D = dt.date
CAL = WorkCalendar()


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    """The set-up administrator, taken from the users table: login (argon2, slow) is tested in test_auth."""
    with ctx.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    return Actor(user.id, user.username, user.display_name, Role(user.role))


def test_seven_working_days_across_the_2026_spring_festival() -> None:
    result = CAL.add_working_days(D(2026, 2, 11), 7)
    # 12, 13, 14 (调休 Saturday) count; 15–23 is the holiday; 24, 25, 26, 27 count.
    assert result.day == D(2026, 2, 27)
    assert result.provisional is False


def test_make_up_workdays_and_holidays_2026() -> None:
    for makeup in (D(2026, 2, 14), D(2026, 2, 28)):
        info = CAL.info(makeup)
        assert makeup.weekday() == 5  # a Saturday...
        assert info.workday and info.is_makeup_workday  # ...on which the office works
        assert info.name == "调休上班"
        assert not info.provisional
    spring = CAL.info(D(2026, 2, 17))
    assert not spring.workday and spring.name == "春节"
    national = CAL.info(D(2026, 10, 1))
    assert not national.workday and national.name == "国庆节" and not national.provisional
    assert CAL.is_workday(D(2026, 2, 11))  # an ordinary Wednesday
    assert not CAL.is_workday(D(2026, 3, 7))  # an ordinary Saturday
    assert CAL.info(D(2026, 3, 7)).name == ""


def test_first_day_is_not_counted() -> None:
    assert CAL.add_working_days(D(2026, 3, 2), 1).day == D(2026, 3, 3)
    assert CAL.add_working_days(D(2026, 3, 6), 1).day == D(2026, 3, 9)  # Friday → Monday
    assert CAL.add_working_days(D(2026, 3, 2), 0).day == D(2026, 3, 2)


def test_uncovered_year_is_provisional_never_an_exception() -> None:
    new_year = national_day(D(2027, 1, 1))
    assert not new_year.workday and new_year.name == "元旦" and new_year.provisional
    monday = CAL.info(D(2027, 1, 4))
    assert monday.workday and monday.provisional and monday.name == ""
    saturday = CAL.info(D(2027, 1, 9))
    assert saturday.day.weekday() == 5
    assert not saturday.workday and saturday.provisional
    for (month, day), name in FIXED_HOLIDAYS.items():
        info = CAL.info(D(2027, month, day))
        assert not info.workday and info.name == name and info.provisional
    # a whole uncovered year answers, day by day
    assert len([d for m in range(1, 13) for d in CAL.month(2027, m)]) == 365


def test_period_across_into_a_provisional_year_is_marked_provisional() -> None:
    result = CAL.add_working_days(D(2026, 12, 28), 5)
    # 29, 30, 31 Dec 2026; 1 Jan 2027 元旦 (provisional); 2–3 weekend; 4, 5 Jan
    assert result.day == D(2027, 1, 5)
    assert result.provisional is True
    inside = CAL.add_working_days(D(2026, 12, 1), 5)
    assert inside.provisional is False
    count, provisional = CAL.working_days_between(D(2026, 12, 30), D(2027, 1, 4))
    assert (count, provisional) == (2, True)  # 31 Dec and 4 Jan; 30 Dec itself is not counted


def test_working_days_between() -> None:
    assert CAL.working_days_between(D(2026, 2, 11), D(2026, 2, 27)) == (7, False)
    assert CAL.working_days_between(D(2026, 2, 27), D(2026, 2, 11)) == (0, False)
    assert CAL.working_days_between(D(2026, 3, 2), D(2026, 3, 2)) == (0, False)
    # one week of March 2026: Mon 2 → Mon 9 is five working days (3, 4, 5, 6, 9)
    assert CAL.working_days_between(D(2026, 3, 2), D(2026, 3, 9)) == (5, False)
    # it is the inverse of add_working_days
    for n in (1, 3, 7, 20, 60):
        end = CAL.add_working_days(D(2026, 9, 25), n).day
        assert CAL.working_days_between(D(2026, 9, 25), end) == (n, False)


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="不能为负数"):
        CAL.add_working_days(D(2026, 3, 2), -1)


def test_month() -> None:
    feb = CAL.month(2026, 2)
    assert len(feb) == 28
    assert [d.day for d in feb] == [D(2026, 2, i) for i in range(1, 29)]
    assert len(CAL.month(2026, 10)) == 31
    assert len(CAL.month(2028, 2)) == 29  # leap year, provisional
    assert all(d.provisional for d in CAL.month(2028, 2))
    october = CAL.month(2026, 10)
    assert sum(d.workday for d in october) == 18  # 国庆 1–7 Oct, 调休 Sat 10 Oct
    assert [d.day.day for d in october if d.is_makeup_workday] == [10]


def test_override_through_a_unit_of_work_changes_the_answer(ctx: AppContext, admin: Actor) -> None:
    with ctx.read() as s:
        assert calendar_for(s).add_working_days(D(2026, 2, 11), 7).day == D(2026, 2, 27)
    # a local closure on Friday 27 February pushes the period to the make-up Saturday
    with ctx.unit_of_work(admin, "节假日调整") as s:
        set_override(s, admin, D(2026, 2, 27), False, " 台风停工 ")
    with ctx.read() as s:
        cal = calendar_for(s)
        info = cal.info(D(2026, 2, 27))
        assert not info.workday and info.overridden and info.name == "台风停工"
        assert cal.add_working_days(D(2026, 2, 11), 7).day == D(2026, 2, 28)
    # setting the same day again edits the override instead of adding a second one
    with ctx.unit_of_work(admin) as s:
        set_override(s, admin, D(2026, 2, 27), True, "恢复上班")
    with ctx.read() as s:
        cal = calendar_for(s)
        assert cal.is_workday(D(2026, 2, 27)) and cal.info(D(2026, 2, 27)).name == "恢复上班"
        assert cal.add_working_days(D(2026, 2, 11), 7).day == D(2026, 2, 27)
    # an override settles an uncovered-year day: no longer provisional
    with ctx.unit_of_work(admin) as s:
        set_override(s, admin, D(2027, 2, 6), False, "春节")
    with ctx.read() as s:
        info = calendar_for(s).info(D(2027, 2, 6))
        assert not info.workday and not info.provisional and info.name == "春节"
    # the national answer is untouched by the squad's overrides
    assert CAL.is_workday(D(2026, 2, 27))


def test_override_in_a_rolled_back_unit_of_work_is_not_kept(ctx: AppContext, admin: Actor) -> None:
    with pytest.raises(RuntimeError), ctx.unit_of_work(admin) as s:
        set_override(s, admin, D(2026, 3, 3), False, "临时")
        raise RuntimeError
    with ctx.read() as s:
        assert calendar_for(s).is_workday(D(2026, 3, 3))
