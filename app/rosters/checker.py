"""The one rule checker (排班规则检查) for a month's roster.

``check`` judges the solver's output and every hand edit alike, so the grid and the solver can
never disagree about what is lawful. ``capacity_check`` runs before solving and says, per day and
shift, whether enough available people exist at all. Both return ``Violation`` objects whose
Chinese message names the person, the day and the rule, ready for the grid's tooltip.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.rosters.model import (
    CATEGORY_LABELS,
    Assignment,
    Category,
    Demand,
    Leave,
    Person,
    Roster,
    Rules,
    ShiftType,
    day_label,
)


class Rule(StrEnum):
    """Rule codes; the order here is the order violations of one day are listed in."""

    UNKNOWN = "unknown"
    OUTSIDE_MONTH = "outside_month"
    ON_LEAVE = "on_leave"
    ONE_SHIFT = "one_shift"
    REST_AFTER_24H = "rest_after_24h"
    MIN_REST = "min_rest"
    MAX_CONSECUTIVE = "max_consecutive"
    MIN_DAYS_OFF = "min_days_off"
    HEADCOUNT = "headcount"
    OVERSTAFFED = "overstaffed"
    MIN_CERTIFIED = "min_certified"
    MIN_POLICE = "min_police"
    LEADER = "leader"


#: Rule groups as a clerk names them (for infeasibility explanations and the grid's legend).
RULE_LABELS: dict[Rule, str] = {
    Rule.UNKNOWN: "未知队员或班次",
    Rule.OUTSIDE_MONTH: "排班不在本月",
    Rule.ON_LEAVE: "请假期间不排班",
    Rule.ONE_SHIFT: "每天只排一个班次",
    Rule.REST_AFTER_24H: "24小时值班后次日休息",
    Rule.MIN_REST: "班次间最少休息时间",
    Rule.MAX_CONSECUTIVE: "最多连续工作天数",
    Rule.MIN_DAYS_OFF: "每7天最少休息天数",
    Rule.HEADCOUNT: "班次人数不足",
    Rule.OVERSTAFFED: "班次人数超出需求",
    Rule.MIN_CERTIFIED: "持证执法人员人数",
    Rule.MIN_POLICE: "公安民警人数",
    Rule.LEADER: "带班领导",
}
_ORDER = {rule: i for i, rule in enumerate(Rule)}


@dataclass(frozen=True)
class Violation:
    rule: Rule
    day: dt.date
    member_id: str | None
    shift: str | None
    message: str


class DayInfoLike(Protocol):
    @property
    def workday(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def is_makeup_workday(self) -> bool: ...


class HolidayCalendar(Protocol):
    """What the roster needs of ``app.calendar.WorkCalendar`` (kept a protocol so this package
    stays free of the database layer the calendar service loads overrides from)."""

    def info(self, day: dt.date) -> DayInfoLike: ...


class _Label(Protocol):
    def __call__(self, day: dt.date) -> str: ...


def _sort(violations: Iterable[Violation]) -> list[Violation]:
    return sorted(
        violations, key=lambda v: (v.day, _ORDER[v.rule], v.member_id or 0, v.shift or "", v.message)
    )


def _hours(value: float) -> str:
    return f"{value:g}"


def _why_not_certified(person: Person, day: dt.date) -> str:
    if person.category in (Category.AUXILIARY, Category.POLICE):
        return f"{person.name}为{CATEGORY_LABELS[person.category]}"
    return f"{person.name}{day_label(day)}无有效执法证"


def _on_leave(leaves_of: dict[str, list[Leave]], member_id: str, day: dt.date) -> Leave | None:
    return next((lv for lv in leaves_of.get(member_id, ()) if lv.covers(day)), None)


def required_police(demand: Demand, shift: ShiftType | None) -> int:
    """Police officers the shift needs: the demand's minimum, and one for a joint patrol (联勤)."""
    return max(demand.min_police, 1 if shift is not None and shift.needs_police else 0)


def check(
    roster: Roster,
    people: Sequence[Person],
    shifts: Sequence[ShiftType],
    demands: Sequence[Demand],
    leaves: Sequence[Leave],
    rules: Rules | None = None,
    calendar: HolidayCalendar | None = None,
) -> list[Violation]:
    """Every hard rule broken by ``roster``, sorted by day. An empty list means the roster is lawful.

    With a ``calendar``, a holiday's day label carries its name (``10月1日（国庆节）``).
    """
    rules = rules or Rules()
    by_id = {p.member_id: p for p in people}
    shift_of = {s.code: s for s in shifts}
    leaves_of: dict[str, list[Leave]] = defaultdict(list)
    for lv in leaves:
        leaves_of[lv.member_id].append(lv)

    def label(day: dt.date) -> str:
        if calendar is not None:
            info = calendar.info(day)
            if not info.workday and info.name and info.name != "休息日":
                return f"{day_label(day)}（{info.name}）"
        return day_label(day)

    def name(member_id: str) -> str:
        person = by_id.get(member_id)
        return person.name if person else f"队员#{member_id}"

    def shift_name(code: str) -> str:
        shift = shift_of.get(code)
        return shift.name if shift else code

    out: list[Violation] = []
    own: list[Assignment] = []
    for a in roster.assignments:
        if a.member_id not in by_id:
            out.append(
                Violation(
                    Rule.UNKNOWN,
                    a.day,
                    a.member_id,
                    a.shift,
                    f"{label(a.day)} 排班中的队员#{a.member_id}不在名单中",
                )
            )
        elif a.shift not in shift_of:
            out.append(
                Violation(
                    Rule.UNKNOWN,
                    a.day,
                    a.member_id,
                    a.shift,
                    f"{name(a.member_id)} {label(a.day)} 班次“{a.shift}”未定义",
                )
            )
        elif not roster.contains(a.day):
            out.append(
                Violation(
                    Rule.OUTSIDE_MONTH,
                    a.day,
                    a.member_id,
                    a.shift,
                    f"{name(a.member_id)} {label(a.day)} 的排班不属于{roster.month.year}年{roster.month.month}月",
                )
            )
        else:
            own.append(a)

    # Per member: leave, one shift a day, rest, consecutive days, days off.
    mine: dict[str, list[Assignment]] = defaultdict(list)
    for a in own:
        mine[a.member_id].append(a)
    before: dict[str, list[Assignment]] = defaultdict(list)
    for a in roster.previous:
        if a.member_id in by_id and a.shift in shift_of and a.day < roster.month:
            before[a.member_id].append(a)

    for member_id in sorted(set(mine) | set(before)):
        who = name(member_id)
        current = mine.get(member_id, [])
        for a in current:
            leave = _on_leave(leaves_of, member_id, a.day)
            if leave is not None:
                out.append(
                    Violation(
                        Rule.ON_LEAVE,
                        a.day,
                        member_id,
                        a.shift,
                        f"{who} {label(a.day)} 请假（{leave.kind}）期间被排班",
                    )
                )
        per_day: dict[dt.date, list[Assignment]] = defaultdict(list)
        for a in current:
            per_day[a.day].append(a)
        if rules.one_shift_a_day:
            for day, cells in sorted(per_day.items()):
                if len(cells) > 1:
                    names = "、".join(shift_name(c.shift) for c in cells)
                    out.append(
                        Violation(
                            Rule.ONE_SHIFT,
                            day,
                            member_id,
                            cells[1].shift,
                            f"{who} {label(day)} 排了{len(cells)}个班次（{names}）",
                        )
                    )
        out.extend(
            _rest_rules(who, member_id, before.get(member_id, []) + current, shift_of, rules, roster, label)
        )
        worked = {a.day for a in current} | {a.day for a in before.get(member_id, [])}
        out.extend(_day_count_rules(who, member_id, worked, rules, roster, label))

    # Per demand: headcount, certified officers, police, leader.
    on_cell: dict[tuple[dt.date, str], list[Person]] = defaultdict(list)
    for a in own:
        on_cell[(a.day, a.shift)].append(by_id[a.member_id])
    for staff in on_cell.values():
        staff.sort(key=lambda p: p.member_id)  # messages must not depend on the order cells were edited
    demand_of = {(d.day, d.shift): d for d in demands if roster.contains(d.day)}
    for key in sorted(set(demand_of) | set(on_cell)):
        day, code = key
        demand = demand_of.get(key) or Demand(day, code, 0)
        staff = on_cell.get(key, [])
        shift = shift_of.get(code)
        where = f"{label(day)} {shift_name(code)}"
        if len(staff) < demand.headcount:
            out.append(
                Violation(
                    Rule.HEADCOUNT, day, None, code, f"{where}需要{demand.headcount}人，实排{len(staff)}人"
                )
            )
        elif len(staff) > demand.headcount:
            listed = "、".join(p.name for p in staff)
            out.append(
                Violation(
                    Rule.OVERSTAFFED,
                    day,
                    None,
                    code,
                    f"{where}需要{demand.headcount}人，实排{len(staff)}人（{listed}）",
                )
            )
        certified = [p for p in staff if p.certified_on(day)]
        if len(certified) < demand.min_certified:
            others = [_why_not_certified(p, day) for p in staff if not p.certified_on(day)]
            note = f"（{'，'.join(others)}，不计入）" if others else ""
            out.append(
                Violation(
                    Rule.MIN_CERTIFIED,
                    day,
                    None,
                    code,
                    f"{where}需要{demand.min_certified}名持证执法人员，实排{len(certified)}名{note}",
                )
            )
        police = sum(p.category is Category.POLICE for p in staff)
        need_police = required_police(demand, shift)
        if police < need_police:
            out.append(
                Violation(
                    Rule.MIN_POLICE, day, None, code, f"{where}需要{need_police}名公安民警，实排{police}名"
                )
            )
        if demand.needs_leader and not any(p.is_leader for p in staff):
            out.append(Violation(Rule.LEADER, day, None, code, f"{where}需要1名带班领导，实排0名"))
    return _sort(out)


def _rest_rules(
    who: str,
    member_id: str,
    cells: list[Assignment],
    shift_of: dict[str, ShiftType],
    rules: Rules,
    roster: Roster,
    label: _Label,
) -> list[Violation]:
    out: list[Violation] = []
    timed = sorted(cells, key=lambda a: (shift_of[a.shift].start_on(a.day), a.shift))
    for prev, nxt in itertools.pairwise(timed):
        if not roster.contains(nxt.day):
            continue
        first, second = shift_of[prev.shift], shift_of[nxt.shift]
        if rules.one_shift_a_day and prev.day == nxt.day:
            continue  # already "排了2个班次"
        if rules.rest_day_after_24h and first.is_24h and nxt.day == prev.day + dt.timedelta(days=1):
            out.append(
                Violation(
                    Rule.REST_AFTER_24H,
                    nxt.day,
                    member_id,
                    nxt.shift,
                    f"{who} {label(prev.day)} 24小时值班后次日须休息，{label(nxt.day)}却排了{second.name}",
                )
            )
            continue  # the rest day covers the rest hours too
        gap = (second.start_on(nxt.day) - first.end_on(prev.day)).total_seconds() / 3600
        if gap >= rules.min_rest_hours:
            continue
        if nxt.day == prev.day:
            when = "当日"
        elif nxt.day == prev.day + dt.timedelta(days=1):
            when = "前一日"
        else:
            when = label(prev.day)
        if gap < 0:
            text = f"{who} {label(nxt.day)} {second.name}与{when}{first.name}时间重叠"
        else:
            text = (
                f"{who} {label(nxt.day)} {second.name}与{when}{first.name}间隔{_hours(gap)}小时，"
                f"少于{_hours(rules.min_rest_hours)}小时"
            )
        out.append(Violation(Rule.MIN_REST, nxt.day, member_id, nxt.shift, text))
    return out


def _day_count_rules(
    who: str, member_id: str, worked: set[dt.date], rules: Rules, roster: Roster, label: _Label
) -> list[Violation]:
    out: list[Violation] = []
    limit = rules.max_consecutive_days
    run: list[dt.date] = []
    for day in [*sorted(worked), dt.date.max]:
        if run and day == run[-1] + dt.timedelta(days=1):
            run.append(day)
            continue
        if len(run) > limit and roster.contains(run[-1]):
            flagged = max(run[limit], roster.month)
            out.append(
                Violation(
                    Rule.MAX_CONSECUTIVE,
                    flagged,
                    member_id,
                    None,
                    f"{who} {label(run[0])}至{label(run[-1])}连续工作{len(run)}天，超过{limit}天上限",
                )
            )
        run = [day]

    need = rules.min_days_off_per_week
    days = roster.days
    breached_before = False
    for i in range(len(days) - 6):
        window = days[i : i + 7]
        off = sum(d not in worked for d in window)
        breached = off < need
        if breached and not breached_before:  # one flag per stretch of overlapping short windows
            out.append(
                Violation(
                    Rule.MIN_DAYS_OFF,
                    window[-1],
                    member_id,
                    None,
                    f"{who} {label(window[0])}至{label(window[-1])}仅休息{off}天，每7天至少须休息{need}天",
                )
            )
        breached_before = breached
    return out


def capacity_check(
    people: Sequence[Person],
    shifts: Sequence[ShiftType],
    demands: Sequence[Demand],
    leaves: Sequence[Leave],
) -> list[Violation]:
    """Before solving: can each day's demand be met at all by the people not on leave?

    Checked per shift and, since a person works one shift a day, per day over all its shifts.
    Says who is missing and why, e.g. "12月3日 夜班需要2名持证执法人员，可排1名：王某休假".
    """
    shift_of = {s.code: s for s in shifts}
    leaves_of: dict[str, list[Leave]] = defaultdict(list)
    for lv in leaves:
        leaves_of[lv.member_id].append(lv)
    out: list[Violation] = []
    by_day: dict[dt.date, list[Demand]] = defaultdict(list)
    for d in demands:
        by_day[d.day].append(d)

    for day, todays in sorted(by_day.items()):
        free = [p for p in people if _on_leave(leaves_of, p.member_id, day) is None]
        away = [p for p in people if _on_leave(leaves_of, p.member_id, day) is not None]

        def absent(match: list[Person], day: dt.date = day) -> str:
            if not match:
                return ""
            parts = []
            for p in match:
                leave = _on_leave(leaves_of, p.member_id, day)
                parts.append(f"{p.name}休假（{leave.kind}）" if leave and leave.kind else f"{p.name}休假")
            return "：" + "、".join(parts)

        certified_free = [p for p in free if p.certified_on(day)]
        certified_away = [p for p in away if p.certified_on(day)]
        police_free = [p for p in free if p.category is Category.POLICE]
        police_away = [p for p in away if p.category is Category.POLICE]
        leaders_free = [p for p in free if p.is_leader]
        leaders_away = [p for p in away if p.is_leader]

        for d in sorted(todays, key=lambda d: d.shift):
            shift = shift_of.get(d.shift)
            where = f"{day_label(day)} {shift.name if shift else d.shift}"
            if d.shift not in shift_of:
                out.append(Violation(Rule.UNKNOWN, day, None, d.shift, f"{where}：班次未定义"))
                continue
            if len(free) < d.headcount:
                out.append(
                    Violation(
                        Rule.HEADCOUNT,
                        day,
                        None,
                        d.shift,
                        f"{where}需要{d.headcount}人，可排{len(free)}人{absent(away)}",
                    )
                )
            if len(certified_free) < d.min_certified:
                out.append(
                    Violation(
                        Rule.MIN_CERTIFIED,
                        day,
                        None,
                        d.shift,
                        f"{where}需要{d.min_certified}名持证执法人员，可排{len(certified_free)}名{absent(certified_away)}",
                    )
                )
            need_police = required_police(d, shift)
            if len(police_free) < need_police:
                out.append(
                    Violation(
                        Rule.MIN_POLICE,
                        day,
                        None,
                        d.shift,
                        f"{where}需要{need_police}名公安民警，可排{len(police_free)}名{absent(police_away)}",
                    )
                )
            if d.needs_leader and not leaders_free:
                out.append(
                    Violation(
                        Rule.LEADER,
                        day,
                        None,
                        d.shift,
                        f"{where}需要1名带班领导，可排0名{absent(leaders_away)}",
                    )
                )

        if len(todays) > 1:  # one shift a day: the day's shifts share the same people
            totals = [
                (Rule.HEADCOUNT, sum(d.headcount for d in todays), free, away, "人", "人"),
                (
                    Rule.MIN_CERTIFIED,
                    sum(d.min_certified for d in todays),
                    certified_free,
                    certified_away,
                    "名持证执法人员",
                    "名",
                ),
                (
                    Rule.MIN_POLICE,
                    sum(required_police(d, shift_of.get(d.shift)) for d in todays),
                    police_free,
                    police_away,
                    "名公安民警",
                    "名",
                ),
                (
                    Rule.LEADER,
                    sum(d.needs_leader for d in todays),
                    leaders_free,
                    leaders_away,
                    "名带班领导",
                    "名",
                ),
            ]
            for rule, need, have, gone, what, unit in totals:
                if len(have) < need and all(len(have) >= _single_need(rule, d, shift_of) for d in todays):
                    out.append(
                        Violation(
                            rule,
                            day,
                            None,
                            None,
                            f"{day_label(day)} 各班次共需{need}{what}，可排{len(have)}{unit}{absent(gone)}",
                        )
                    )
    return _sort(out)


def _single_need(rule: Rule, demand: Demand, shift_of: dict[str, ShiftType]) -> int:
    """What one demand alone asks for under ``rule`` (so a day total is reported only when no
    single shift already explains the shortage)."""
    if rule is Rule.HEADCOUNT:
        return demand.headcount
    if rule is Rule.MIN_CERTIFIED:
        return demand.min_certified
    if rule is Rule.MIN_POLICE:
        return required_police(demand, shift_of.get(demand.shift))
    return int(demand.needs_leader)
