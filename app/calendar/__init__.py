"""Working days (工作日) for every statutory clock.

The national calendar comes from ``chinesecalendar`` (public holidays and make-up workdays,
调休); a local override table corrects or extends it (the district will ship overrides through
sync). For a year the data does not cover yet, the answer is *provisional*: weekends plus the
fixed-date holidays (元旦, 劳动节, 国庆节) — never an exception, because a deadline must always
show; the flag lets the GUI say that it may still move when the State Council publishes the
year's arrangement.

APL 85: a period of days "within N days" counts working days; the first day is not counted, so
``add_working_days(d, 1)`` is the first working day after ``d``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import ValidationError
from db.models import CalendarOverride

#: Holidays whose Gregorian date never moves; lunar ones (春节, 清明, 端午, 中秋) do.
FIXED_HOLIDAYS: dict[tuple[int, int], str] = {
    (1, 1): "元旦",
    (5, 1): "劳动节",
    (10, 1): "国庆节",
    (10, 2): "国庆节",
    (10, 3): "国庆节",
}

_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    workday: bool
    #: Holiday name, "调休上班" for a make-up workday, or "" for an ordinary day.
    name: str
    #: True when the year is not covered by the national data: the answer may still change.
    provisional: bool
    #: True when a local override decided it.
    overridden: bool = False

    @property
    def is_makeup_workday(self) -> bool:
        return self.workday and self.day.weekday() >= 5


@dataclass(frozen=True)
class DateResult:
    day: dt.date
    provisional: bool


@lru_cache(maxsize=8192)
def national_day(day: dt.date) -> DayInfo:
    """What the national calendar (or, outside its years, the provisional rule) says."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        fixed = FIXED_HOLIDAYS.get((day.month, day.day))
        if fixed:
            return DayInfo(day, False, fixed, provisional=True)
        return DayInfo(day, day.weekday() < 5, "", provisional=True)
    weekend = day.weekday() >= 5
    if on_holiday:
        label = _HOLIDAY_NAMES.get(name, name) if name else ("" if weekend else "休息日")
        return DayInfo(day, False, label or "", provisional=False)
    return DayInfo(day, True, "调休上班" if weekend else "", provisional=False)


class WorkCalendar:
    """The national calendar with this squad's overrides applied. Cheap to build; build one per
    unit of work (``calendar_for(session)``) or hand it an override map in tests."""

    def __init__(self, overrides: Mapping[dt.date, tuple[bool, str]] | None = None) -> None:
        self._overrides = dict(overrides or {})

    def info(self, day: dt.date) -> DayInfo:
        if day in self._overrides:
            workday, name = self._overrides[day]
            return DayInfo(day, workday, name, provisional=False, overridden=True)
        return national_day(day)

    def is_workday(self, day: dt.date) -> bool:
        return self.info(day).workday

    def add_working_days(self, start: dt.date, count: int) -> DateResult:
        """The day on which a period of ``count`` working days from ``start`` ends."""
        if count < 0:
            raise ValidationError("工作日天数不能为负数。")
        day, provisional, left = start, False, count
        while left > 0:
            day += dt.timedelta(days=1)
            info = self.info(day)
            provisional |= info.provisional
            if info.workday:
                left -= 1
        return DateResult(day, provisional)

    def working_days_between(self, start: dt.date, end: dt.date) -> tuple[int, bool]:
        """Working days after ``start`` up to and including ``end`` (0 if end ≤ start)."""
        count, provisional, day = 0, False, start
        while day < end:
            day += dt.timedelta(days=1)
            info = self.info(day)
            provisional |= info.provisional
            count += info.workday
        return count, provisional

    def month(self, year: int, month: int) -> list[DayInfo]:
        day = dt.date(year, month, 1)
        out = []
        while day.month == month:
            out.append(self.info(day))
            day += dt.timedelta(days=1)
        return out


def calendar_for(session: Session) -> WorkCalendar:
    rows: Iterable[CalendarOverride] = session.scalars(
        select(CalendarOverride).where(CalendarOverride.deleted.is_(False))
    )
    return WorkCalendar({r.day: (r.is_workday, r.name) for r in rows})


def set_override(session: Session, actor: Actor, day: dt.date, is_workday: bool, name: str) -> None:
    """Record a local correction (e.g. a holiday the national data lacks)."""
    require(actor, Permission.EDIT_SETTINGS)
    row = session.scalar(
        select(CalendarOverride).where(CalendarOverride.day == day, CalendarOverride.deleted.is_(False))
    )
    if row is None:
        session.add(CalendarOverride(day=day, is_workday=is_workday, name=name.strip()))
    else:
        row.is_workday, row.name = is_workday, name.strip()
