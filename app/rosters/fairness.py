"""Fairness counts (公平性统计) per member: nights, 24-hour duties, weekend days and statutory holidays,
with last month's counts carried forward, and a summary of the spread (max − min) per category.

Weekends and holidays come from the calendar service: a make-up workday (调休上班) on a Saturday is a
workday, not a weekend; a Saturday inside the National Day holiday counts as a holiday, not as a
weekend — each day falls in one category at most, so nobody is credited twice for one duty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from app.rosters.checker import HolidayCalendar
from app.rosters.model import Category, Person, Roster, ShiftType

#: Counted categories and their Chinese names, in the order the summary shows them.
CATEGORY_NAMES: dict[str, str] = {
    "nights": "夜班",
    "duties_24h": "24小时值班",
    "weekends": "周末",
    "holidays": "法定节假日",
}


class PeerGroup(StrEnum):
    """Fairness compares people with their peers: a night that only a certified officer may take
    cannot be shared with an auxiliary, and police officers seconded to joint patrols keep their
    own count."""

    OFFICERS = "officers"
    AUXILIARY = "auxiliary"
    POLICE = "police"


PEER_GROUP_LABELS: dict[PeerGroup, str] = {
    PeerGroup.OFFICERS: "持证执法人员",
    PeerGroup.AUXILIARY: "辅助人员",
    PeerGroup.POLICE: "公安民警",
}


def peer_group(person: Person) -> PeerGroup:
    if person.category is Category.POLICE:
        return PeerGroup.POLICE
    return PeerGroup.OFFICERS if person.certified_days else PeerGroup.AUXILIARY


@dataclass(frozen=True)
class FairnessCounts:
    nights: int = 0
    duties_24h: int = 0
    weekends: int = 0
    holidays: int = 0

    def __add__(self, other: FairnessCounts) -> FairnessCounts:
        return FairnessCounts(
            self.nights + other.nights,
            self.duties_24h + other.duties_24h,
            self.weekends + other.weekends,
            self.holidays + other.holidays,
        )

    def __sub__(self, other: FairnessCounts) -> FairnessCounts:
        return FairnessCounts(
            self.nights - other.nights,
            self.duties_24h - other.duties_24h,
            self.weekends - other.weekends,
            self.holidays - other.holidays,
        )

    def scaled(self, factor: float) -> FairnessCounts:
        return FairnessCounts(*(round(getattr(self, f.name) * factor) for f in fields(self)))


@dataclass(frozen=True)
class Spread:
    minimum: int
    maximum: int

    @property
    def spread(self) -> int:
        return self.maximum - self.minimum


def day_kind(day: dt.date, calendar: HolidayCalendar | None) -> str:
    """``"holiday"``, ``"weekend"`` or ``"workday"`` — without a calendar, Saturday and Sunday are weekends."""
    if calendar is None:
        return "weekend" if day.weekday() >= 5 else "workday"
    info = calendar.info(day)
    if info.workday:
        return "workday"  # make-up workdays (调休上班) included
    if info.name and info.name != "休息日":
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "holiday"


def fairness_counts(
    roster: Roster,
    people: Sequence[Person],
    shifts: Sequence[ShiftType],
    calendar: HolidayCalendar | None = None,
    carried: Mapping[str, FairnessCounts] | None = None,
) -> dict[str, FairnessCounts]:
    """Counts per member id for every person (zeros included), plus ``carried`` from last month.

    A weekend or holiday counts once per day worked, whatever the shift; a night counts for a shift
    marked ``is_night``, a 24-hour duty for one marked ``is_24h``.
    """
    shift_of = {s.code: s for s in shifts}
    carried = carried or {}
    counts = {p.member_id: carried.get(p.member_id, FairnessCounts()) for p in people}
    kinds: dict[dt.date, str] = {}
    days_worked: set[tuple[str, dt.date]] = set()
    for a in roster.assignments:
        shift = shift_of.get(a.shift)
        if a.member_id not in counts or shift is None or not roster.contains(a.day):
            continue  # the checker reports these
        c = counts[a.member_id]
        c = replace(c, nights=c.nights + shift.is_night, duties_24h=c.duties_24h + shift.is_24h)
        if (a.member_id, a.day) not in days_worked:
            days_worked.add((a.member_id, a.day))
            kind = kinds.setdefault(a.day, day_kind(a.day, calendar))
            if kind == "weekend":
                c = replace(c, weekends=c.weekends + 1)
            elif kind == "holiday":
                c = replace(c, holidays=c.holidays + 1)
        counts[a.member_id] = c
    return counts


def fairness_summary(counts: Mapping[str, FairnessCounts]) -> dict[str, Spread]:
    """Min, max and spread (max − min) per category over the given members (keys of ``CATEGORY_NAMES``)."""
    out: dict[str, Spread] = {}
    for f in fields(FairnessCounts):
        values = [getattr(c, f.name) for c in counts.values()] or [0]
        out[f.name] = Spread(min(values), max(values))
    return out


def carry_forward(
    counts: Mapping[str, FairnessCounts],
    carried: Mapping[str, FairnessCounts],
    people: Sequence[Person],
    available: Mapping[str, int],
    days: int,
) -> dict[str, FairnessCounts]:
    """The fairness balance a month hands to the next (结转): per member, what they carried in plus
    this month's counts, less the lowest such total of their peer group — so only differences
    travel, and the balance of someone who did more shrinks as the others catch up.

    ``counts`` are this month's own counts (without ``carried``). They are taken pro rata: a member
    available on fewer than ``days`` days (leave, ``available``) is counted as if they had worked
    the whole month at the same pace, so a fortnight of sick leave does not leave a debt of nights
    to repay. A member available on no day keeps their balance unchanged.
    """
    totals: dict[str, FairnessCounts] = {}
    absent: dict[str, FairnessCounts] = {}
    for p in people:
        own = counts.get(p.member_id, FairnessCounts())
        before = carried.get(p.member_id, FairnessCounts())
        free = available.get(p.member_id, days)
        if free <= 0:
            absent[p.member_id] = before
        else:
            totals[p.member_id] = before + own.scaled(days / free if free < days else 1)
    out: dict[str, FairnessCounts] = dict(absent)
    for group in PeerGroup:
        members = [p.member_id for p in people if peer_group(p) is group and p.member_id in totals]
        if not members:
            continue
        low = FairnessCounts(
            *(min(getattr(totals[m], f.name) for m in members) for f in fields(FairnessCounts))
        )
        for m in members:
            out[m] = totals[m] - low
    return out
