"""The roster's rule model (排班规则模型): shift types, demand, people, leave, assignments and the
hard rules, as frozen plain data.

No database and no solver here: the checker, the fairness counts and (later) the CP-SAT model all
read these objects, so a hand edit in the grid and the solver's output are judged by one rule set.
Whether a person may enforce is decided once per day by ``app.personnel.enforce.enforcement_check``
and handed in as ``Person.certified_days``, which keeps everything here pure and fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """Staff category; the values are those of ``db.models.personnel.StaffCategory`` so a member row
    converts with ``Category(member.category)``."""

    CIVIL_SERVANT = "civil_servant"  # 行政执法类公务员
    CAREER = "career"  # 参公/事业编（执法岗位）
    AUXILIARY = "auxiliary"  # 辅助人员 — may patrol, never enforces
    POLICE = "police"  # 公安民警（联勤） — never counts as a squad enforcement officer


CATEGORY_LABELS: dict[Category, str] = {
    Category.CIVIL_SERVANT: "行政执法类公务员",
    Category.CAREER: "参公/事业编",
    Category.AUXILIARY: "辅助人员",
    Category.POLICE: "公安民警",
}


def day_label(day: dt.date) -> str:
    """``12月3日`` — how the roster names a day."""
    return f"{day.month}月{day.day}日"


@dataclass(frozen=True)
class ShiftType:
    """A configurable shift (班次): 早班, 中班, 夜班, 24小时值班, 带班领导, 路面巡逻, 网格巡查, 联勤巡逻 …

    ``end`` at or before ``start`` means the shift ends the next day; a 24-hour duty (24小时值班)
    lasts 24 hours from ``start`` whatever ``end`` says.
    """

    code: str
    name: str
    start: dt.time
    end: dt.time
    is_night: bool = False
    is_24h: bool = False
    #: A joint patrol (联勤巡逻) is not one without a police officer: at least one, whatever the demand says.
    needs_police: bool = False

    def start_on(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.start)

    def end_on(self, day: dt.date) -> dt.datetime:
        start = self.start_on(day)
        if self.is_24h:
            return start + dt.timedelta(hours=24)
        end = dt.datetime.combine(day, self.end)
        return end if end > start else end + dt.timedelta(days=1)

    @property
    def hours(self) -> float:
        probe = dt.date(2000, 1, 3)
        return (self.end_on(probe) - self.start_on(probe)).total_seconds() / 3600


@dataclass(frozen=True)
class Demand:
    """What one shift needs on one day (需求): exactly ``headcount`` people, of whom at least
    ``min_certified`` hold a valid enforcement certificate on that day and ``min_police`` are police."""

    day: dt.date
    shift: str
    headcount: int
    min_certified: int = 0
    min_police: int = 0
    needs_leader: bool = False


@dataclass(frozen=True)
class Person:
    """A member as the roster sees them. ``certified_days``: the days on which the member may act as
    an enforcement officer (``enforcement_check(...).ok``) — a certificate expiring mid-month
    simply stops appearing after its last day; auxiliary staff and police never have any."""

    member_id: str
    name: str
    category: Category
    is_leader: bool = False
    certified_days: frozenset[dt.date] = frozenset()

    def certified_on(self, day: dt.date) -> bool:
        return day in self.certified_days


def certified_days(days: Iterable[dt.date], may_enforce: Callable[[dt.date], bool]) -> frozenset[dt.date]:
    """The days among ``days`` on which ``may_enforce`` holds, e.g.
    ``certified_days(month_days, lambda d: enforcement_check(..., day=d).ok)``."""
    return frozenset(d for d in days if may_enforce(d))


@dataclass(frozen=True)
class Leave:
    """Leave (请假) from ``start`` to ``end``, both included; ``kind`` as the clerk names it (年休假, 病假 …)."""

    member_id: str
    kind: str
    start: dt.date
    end: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Assignment:
    """One cell of the grid: a member on a shift on a day; ``locked`` cells stay when re-solving."""

    member_id: str
    day: dt.date
    shift: str
    locked: bool = False


@dataclass(frozen=True)
class Rules:
    """The hard rules a roster must keep (configurable per squad)."""

    min_rest_hours: float = 11
    max_consecutive_days: int = 6
    #: In every 7 consecutive days of the month.
    min_days_off_per_week: int = 1
    rest_day_after_24h: bool = True
    one_shift_a_day: bool = True


@dataclass(frozen=True)
class Roster:
    """A month's roster. ``month`` is the first day of the month. ``previous`` holds the last days of
    the month before, read-only, so rest and consecutive-day rules hold across the month boundary."""

    month: dt.date
    assignments: tuple[Assignment, ...] = ()
    previous: tuple[Assignment, ...] = ()

    def __post_init__(self) -> None:
        if self.month.day != 1:
            object.__setattr__(self, "month", self.month.replace(day=1))

    @property
    def days(self) -> list[dt.date]:
        out, day = [], self.month
        while day.month == self.month.month:
            out.append(day)
            day += dt.timedelta(days=1)
        return out

    def contains(self, day: dt.date) -> bool:
        return (day.year, day.month) == (self.month.year, self.month.month)
