"""Statutory clocks (法定期限) of a case, computed on the squad's working calendar.

Every period of the procedure — from the 7 working days for a preservation decision to the 3
months for applying to court — is one row of ``PERIODS``: its Chinese name, legal basis, unit and
length. A ``Clock`` is one running period of one case (kind, start day, pauses 中止, approved
extensions 延长); ``Clock.due`` says when it ends, whether that day may still move (the holiday
data does not cover the year yet), and explains the sum in Chinese for the clerk. ``case_clocks``
computes all clocks of a case from its event dates at once, so the case workspace, the start page
and the CLI share one answer; ``clock_state`` turns a due day into the amber/red of the GUI.

How days are counted (the rules a reviewer should check here, not in the callers):

* The start day is not counted (民法典 第二百零一条; 民事诉讼法 第八十五条), so a period of one day
  from Monday ends on Tuesday — the same convention as ``WorkCalendar.add_working_days``.
* Working days where the law says so: the 2/3/5/7-day periods of the APL (行政处罚法 第八十五条),
  the periods of ten days or less of the ACL (行政强制法 第六十九条). Public holidays and make-up
  workdays (调休) come from the ``WorkCalendar``.
* Other day, month and year periods are calendar periods; their last day is moved off rest days
  by ``REST_DAY_RULE`` (see there). Months end on the same day number, or on the last day of a
  shorter month (民法典 第二百零二条).
* A pause (中止) is a run of days on which the clock does not run; it moves the end by the number
  of paused days the clock would otherwise have counted (calendar days, or working days for a
  working-day clock). An extension lengthens the period by its days in the clock's unit
  (calendar days for month periods), and the rest-day rule is applied once, to the last day of
  the lengthened period.

Pure Python, no database: the caller hands in a ``WorkCalendar`` (``calendar_for(session)``).
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from app.calendar import DateResult, WorkCalendar
from app.errors import ValidationError

_DAY = dt.timedelta(days=1)


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    YEARS = "years"

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]


_UNIT_LABELS = {
    Unit.WORKING_DAYS: "个工作日",
    Unit.CALENDAR_DAYS: "日",
    Unit.MONTHS: "个月",
    Unit.YEARS: "年",
}


class RestDayRule(StrEnum):
    """What happens when the last day of a calendar-day, month or year period is a rest day."""

    #: The period ends on the first working day after it (顺延至休息日后的第一个工作日).
    ROLL_FORWARD = "roll_forward"
    #: The period ends on that day all the same (不顺延).
    NONE = "none"


#: The rest-day rule for every calendar-day, month and year clock in ``PERIODS``.
#:
#: Law: "期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日" (民法典 第二百零三条);
#: "期间届满的最后一日是法定休假日的，以法定休假日后的第一日为期间届满的日期" (民事诉讼法 第八十五条),
#: which the Administrative Litigation Law (行政诉讼法 第一百零一条) and the Reconsideration Law
#: (行政复议法 第八十八条) apply to their own periods. The APL's 2/3/5/7-day periods are working
#: days already (行政处罚法 第八十五条) and never end on a rest day.
#:
#: As implemented: when the computed last day is not a working day of the ``WorkCalendar`` —
#: a weekend or a public holiday (法定休假日 in court practice includes the weekly rest days) —
#: the period ends on the next working day. A make-up workday (调休上班) is a working day, so a
#: period ending on one is not moved. The rule is applied to the squad's own periods too (90-day
#: decision, 30-day seizure, 3 months to apply to court): the statute states it for periods in
#: general, and the clerk sees one rule for every clock.
#:
#: Not applied to the limitation period (``limitation_check``): it bounds when a violation may
#: still be *discovered*, a fact that can happen on any day (patrols work weekends), not an act
#: that needs an open office; not moving it is also the stricter answer for the squad.
REST_DAY_RULE: Final = RestDayRule.ROLL_FORWARD


class Direction(StrEnum):
    #: Act within the period after the start day (most clocks).
    WITHIN = "within"
    #: Act at least the period before the start day (hearing notice before the hearing).
    BEFORE = "before"


class ClockKind(StrEnum):
    """Every statutory clock of a case, in procedure order."""

    PRESERVATION_DECISION = "preservation_decision"
    SEIZURE = "seizure"
    HEARING_REQUEST = "hearing_request"
    HEARING_NOTICE = "hearing_notice"
    DECISION = "decision"
    SERVICE = "service"
    CASH_HANDOVER = "cash_handover"
    PAYMENT = "payment"
    RECONSIDERATION = "reconsideration"
    LAWSUIT = "lawsuit"
    REMINDER = "reminder"
    COURT_APPLICATION = "court_application"


class Event(StrEnum):
    """The dated events of a case that start a clock (keys of ``case_clocks``'s ``events``)."""

    FILED = "filed"  # 立案
    PRESERVED = "preserved"  # 先行登记保存
    SEIZED = "seized"  # 查封、扣押
    NOTICE_RECEIVED = "notice_received"  # 当事人收到事先告知书
    HEARING = "hearing"  # 举行听证（定于）
    DECIDED = "decided"  # 作出处罚决定
    DECISION_SERVED = "decision_served"  # 决定书送达当事人
    CASH_COLLECTED = "cash_collected"  # 当场收缴罚款（或水上收缴后抵岸）
    REMINDER_SERVED = "reminder_served"  # 催告书送达
    RECONSIDERATION_DECIDED = "reconsideration_decided"  # 复议决定书送达当事人


@dataclass(frozen=True)
class PeriodDef:
    """One statutory period. ``template`` reads with ``{n}`` as e.g. "90 日" or "7 个工作日"."""

    kind: ClockKind
    name: str
    basis: str
    unit: Unit
    length: int
    template: str
    #: The event whose date starts the clock, or the upstream clock whose due day does.
    start: Event | ClockKind
    direction: Direction = Direction.WITHIN
    #: True when the party must act by the day (a red clock then asks the squad to follow up);
    #: False when it is the squad's own duty.
    binds_party: bool = False
    #: How many approved extensions are allowed, and how many days in total; None: no limit.
    max_extensions: int | None = 0
    max_extension_days: int | None = 0

    def length_text(self, length: int | None = None) -> str:
        return f"{self.length if length is None else length} {self.unit.label}"


#: Default length of an approved extension of the 90-day decision period. APL 60 leaves it to
#: laws, regulations and rules ("从其规定"); most provincial rules allow 30 days.
DECISION_EXTENSION_DAYS: Final = 30


def period_table(decision_extension_days: int = DECISION_EXTENSION_DAYS) -> Mapping[ClockKind, PeriodDef]:
    """The statutory periods; the district's rule sets the decision extension (default 30 days)."""
    if decision_extension_days < 0:
        raise ValidationError("延长天数不能为负数。")
    rows = (
        PeriodDef(
            ClockKind.PRESERVATION_DECISION,
            "先行登记保存处理期限",
            "《行政处罚法》第五十六条",
            Unit.WORKING_DAYS,
            7,
            "先行登记保存后 {n}内作出处理决定",
            Event.PRESERVED,
        ),
        PeriodDef(
            ClockKind.SEIZURE,
            "查封扣押期限",
            "《行政强制法》第二十五条",
            Unit.CALENDAR_DAYS,
            30,
            "查封扣押后 {n}内作出处理决定",
            Event.SEIZED,
            max_extensions=1,
            max_extension_days=30,
        ),
        PeriodDef(
            ClockKind.HEARING_REQUEST,
            "听证申请期限",
            "《行政处罚法》第六十四条第一项",
            Unit.WORKING_DAYS,
            5,
            "收到事先告知书后 {n}内提出听证申请",
            Event.NOTICE_RECEIVED,
            binds_party=True,
        ),
        PeriodDef(
            ClockKind.HEARING_NOTICE,
            "听证通知期限",
            "《行政处罚法》第六十四条第二项",
            Unit.WORKING_DAYS,
            7,
            "举行听证 {n}前通知当事人",
            Event.HEARING,
            direction=Direction.BEFORE,
        ),
        PeriodDef(
            ClockKind.DECISION,
            "案件办理期限",
            "《行政处罚法》第六十条",
            Unit.CALENDAR_DAYS,
            90,
            "立案后 {n}内作出决定",
            Event.FILED,
            max_extensions=None,
            max_extension_days=decision_extension_days,
        ),
        PeriodDef(
            ClockKind.SERVICE,
            "决定书送达期限",
            "《行政处罚法》第六十一条",
            Unit.WORKING_DAYS,
            7,
            "作出决定后 {n}内送达决定书（当事人不在场）",
            Event.DECIDED,
        ),
        PeriodDef(
            ClockKind.CASH_HANDOVER,
            "当场收缴罚款交纳期限",
            "《行政处罚法》第七十一条",
            Unit.WORKING_DAYS,
            2,
            "当场收缴后 {n}内交至行政机关",
            Event.CASH_COLLECTED,
        ),
        PeriodDef(
            ClockKind.PAYMENT,
            "罚款缴纳期限",
            "《行政处罚法》第六十七条",
            Unit.CALENDAR_DAYS,
            15,
            "收到决定书后 {n}内缴纳罚款",
            Event.DECISION_SERVED,
            binds_party=True,
            # Deferral approved on the party's application (暂缓缴纳, APL 66) is an extension.
            max_extensions=None,
            max_extension_days=None,
        ),
        PeriodDef(
            ClockKind.RECONSIDERATION,
            "申请行政复议期限",
            "《行政复议法》第二十条",
            Unit.CALENDAR_DAYS,
            60,
            "收到决定书后 {n}内申请行政复议",
            Event.DECISION_SERVED,
            binds_party=True,
        ),
        PeriodDef(
            ClockKind.LAWSUIT,
            "提起行政诉讼期限",
            "《行政诉讼法》第四十六条",
            Unit.MONTHS,
            6,
            "收到决定书后 {n}内提起行政诉讼",
            Event.DECISION_SERVED,
            binds_party=True,
            # Only the court extends it (行政诉讼法 第四十八条); the squad records what it granted.
            max_extensions=None,
            max_extension_days=None,
        ),
        PeriodDef(
            ClockKind.REMINDER,
            "催告履行期限",
            "《行政强制法》第五十四条、第六十九条",
            # "催告书送达十日后" — ten days or less are working days in the ACL (第六十九条).
            Unit.WORKING_DAYS,
            10,
            "催告书送达后 {n}内履行",
            Event.REMINDER_SERVED,
            binds_party=True,
        ),
        PeriodDef(
            ClockKind.COURT_APPLICATION,
            "申请法院强制执行期限",
            "《行政强制法》第五十三条",
            Unit.MONTHS,
            3,
            "起诉期限届满后 {n}内申请人民法院强制执行",
            # ACL 53 counts from "期限届满之日": the end of the periods for reconsideration and
            # lawsuit, not the payment deadline (also 行政诉讼法司法解释 第一百五十六条).
            ClockKind.LAWSUIT,
        ),
    )
    return MappingProxyType({row.kind: row for row in rows})


PERIODS: Final = period_table()

#: The lawsuit period once a reconsideration has been decided: a party who does not accept the
#: reconsideration decision sues within 15 days of receiving it (行政诉讼法 第四十五条), instead of
#: the 6 months from receipt of the penalty decision. ``timing`` uses it in place of the
#: ``LAWSUIT`` row for such a case, so the court application (ACL 53, counted from the end of the
#: lawsuit period) follows it too. A withdrawn reconsideration leaves the 6 months.
LAWSUIT_AFTER_RECONSIDERATION: Final = PeriodDef(
    ClockKind.LAWSUIT,
    "提起行政诉讼期限",
    "《行政诉讼法》第四十五条",
    Unit.CALENDAR_DAYS,
    15,
    "收到复议决定书后 {n}内提起行政诉讼",
    Event.RECONSIDERATION_DECIDED,
    binds_party=True,
    max_extensions=None,
    max_extension_days=None,
)


@dataclass(frozen=True)
class Pause:
    """Days on which a clock does not run (中止), ``start`` to ``end`` inclusive; ``end`` is None
    while the pause lasts."""

    start: dt.date
    end: dt.date | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValidationError(f"中止结束日 {self.end.isoformat()} 早于开始日 {self.start.isoformat()}。")


@dataclass(frozen=True)
class Extension:
    """An approved extension (经批准延长) of ``days`` in the clock's unit."""

    days: int
    approved_by: str
    reason: str

    def __post_init__(self) -> None:
        if self.days <= 0:
            raise ValidationError("延长天数必须大于 0。")
        if not self.approved_by.strip():
            raise ValidationError("延长期限须写明批准人。")


@dataclass(frozen=True)
class Due:
    kind: ClockKind
    #: The last day to act (for a ``Direction.BEFORE`` clock: the latest day to act).
    day: dt.date
    #: True when a day the answer depends on lies in a year the holiday data does not cover.
    provisional: bool
    #: True when an open pause stops the clock: ``day`` then assumes it resumes after ``today``.
    paused: bool
    explanation: str
    #: The computed last day when it was a rest day and the rest-day rule moved it.
    rolled_from: dt.date | None = None
    paused_days: int = 0
    extension_days: int = 0


@dataclass(frozen=True)
class Clock:
    """One running statutory period of a case."""

    kind: ClockKind
    start: dt.date
    pauses: Sequence[Pause] = ()
    extensions: Sequence[Extension] = ()

    def __post_init__(self) -> None:
        # Stored as tuples so that a frozen clock is really immutable (and hashable).
        object.__setattr__(self, "pauses", tuple(self.pauses))
        object.__setattr__(self, "extensions", tuple(self.extensions))

    def due(
        self,
        calendar: WorkCalendar,
        today: dt.date | None = None,
        periods: Mapping[ClockKind, PeriodDef] = PERIODS,
    ) -> Due:
        """When the period ends. An open pause is counted through ``today`` (or through its first
        day when no ``today`` is given): the day shown is then the earliest the period can end,
        if the case resumes the next day."""
        return _due(self, periods[self.kind], calendar, today, upstream=None)


def subtract_working_days(calendar: WorkCalendar, end: dt.date, count: int) -> DateResult:
    """The latest working day from which ``count`` working days still lie before ``end``.

    The mirror of ``WorkCalendar.add_working_days``: the result ``d`` is a working day and the
    working days after ``d`` up to and including ``end`` number at least ``count``, so
    ``add_working_days(d, count)`` falls on or before ``end``. For a working day ``d``,
    ``subtract_working_days(add_working_days(d, n), n) == d``. The result is a working day,
    not a rest day on which the count would still hold, because the squad acts on working days.
    """
    if count < 0:
        raise ValidationError("工作日天数不能为负数。")
    day, left, provisional = end, count, False
    while left > 0:
        info = calendar.info(day)
        provisional |= info.provisional
        left -= info.workday
        day -= _DAY
    info = calendar.info(day)
    provisional |= info.provisional
    while not info.workday:
        day -= _DAY
        info = calendar.info(day)
        provisional |= info.provisional
    return DateResult(day, provisional)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day number ``months`` later, or the month's last day when it is shorter
    (民法典 第二百零二条: "没有对应日的，月末日为期间的最后一日")."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    return dt.date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def apply_rest_day_rule(
    calendar: WorkCalendar, day: dt.date, rule: RestDayRule = REST_DAY_RULE
) -> tuple[dt.date, bool]:
    """The last day of a calendar period after the rest-day rule, and whether it is provisional."""
    info = calendar.info(day)
    provisional = info.provisional
    if rule is RestDayRule.ROLL_FORWARD:
        while not info.workday:
            day += _DAY
            info = calendar.info(day)
            provisional |= info.provisional
    return day, provisional


def _walk(
    calendar: WorkCalendar,
    start: dt.date,
    count: int,
    working: bool,
    paused: Callable[[dt.date], bool] | None,
) -> tuple[dt.date, int, bool]:
    """Count ``count`` days after ``start``, skipping paused days (and rest days when ``working``).
    Returns the last day, the paused days skipped, and whether a day looked up was provisional.
    ``paused`` is None when the clock has no pause (most clocks): calendar days then need no walk."""
    if paused is None and not working:
        return start + count * _DAY, 0, False
    day, left, skipped, provisional = start, count, 0, False
    while left > 0:
        day += _DAY
        if working:
            info = calendar.info(day)
            provisional |= info.provisional
            if not info.workday:
                continue
        if paused is not None and paused(day):
            skipped += 1
        else:
            left -= 1
    return day, skipped, provisional


def _due(
    clock: Clock, period: PeriodDef, calendar: WorkCalendar, today: dt.date | None, upstream: Due | None
) -> Due:
    ext_days = sum(e.days for e in clock.extensions)
    if period.direction is Direction.BEFORE:
        # Counted back from a fixed event (the hearing): pauses and extensions do not apply —
        # a moved hearing is a new start date.
        result = subtract_working_days(calendar, clock.start, period.length)
        provisional = result.provisional or (upstream is not None and upstream.provisional)
        text = f"{period.template.format(n=period.length_text())}，最迟 {result.day.isoformat()}"
        return Due(period.kind, result.day, provisional, False, text + _provisional_note(provisional))

    # An open pause is taken to last through ``today`` so that the walk ends; ``paused`` below
    # tells the caller that the day is not final.
    spans = [(p.start, p.end or max(p.start, today or p.start)) for p in clock.pauses]

    def in_a_pause(day: dt.date) -> bool:
        return any(a <= day <= b for a, b in spans)

    is_paused = in_a_pause if spans else None

    if period.unit is Unit.WORKING_DAYS:
        last, paused_days, provisional = _walk(
            calendar, clock.start, period.length + ext_days, True, is_paused
        )
    elif period.unit is Unit.CALENDAR_DAYS:
        last, paused_days, provisional = _walk(
            calendar, clock.start, period.length + ext_days, False, is_paused
        )
    else:
        months = period.length * (12 if period.unit is Unit.YEARS else 1)
        raw = add_months(clock.start, months)
        inside = (
            sum(1 for n in range((raw - clock.start).days) if in_a_pause(clock.start + (n + 1) * _DAY))
            if spans
            else 0
        )
        last, more, provisional = _walk(calendar, raw, inside + ext_days, False, is_paused)
        paused_days = inside + more

    rolled_from: dt.date | None = None
    day = last
    if period.unit is not Unit.WORKING_DAYS:
        day, end_provisional = apply_rest_day_rule(calendar, last)
        provisional |= end_provisional
        rolled_from = last if day != last else None

    open_pauses = [p for p in clock.pauses if p.end is None and p.start <= last]
    paused = bool(open_pauses) or (upstream is not None and upstream.paused)
    provisional |= upstream is not None and upstream.provisional

    parts = []
    if paused_days:
        unit = "个工作日" if period.unit is Unit.WORKING_DAYS else "日"
        parts.append(f"中止 {paused_days} {unit}")
    if ext_days:
        unit = "个工作日" if period.unit is Unit.WORKING_DAYS else "日"
        parts.append(f"延长 {ext_days} {unit}")
    text = period.template.format(n=period.length_text())
    if parts:
        text += f"（{'，'.join(parts)}）"
    if open_pauses:
        pause = min(open_pauses, key=lambda p: p.start)
        resumed = max(pause.start, today or pause.start) + _DAY
        text += (
            f"，自 {pause.start.isoformat()} 起中止中；若 {resumed.isoformat()} 恢复，截止 {day.isoformat()}"
        )
    else:
        text += f"，截止 {day.isoformat()}"
    if rolled_from is not None:
        text += f"（{rolled_from.isoformat()} 为休息日，顺延至其后第一个工作日）"
    if upstream is not None and upstream.paused and not open_pauses:
        text += "；起算日所依据的期限中止中，日期待定"
    text += _provisional_note(provisional)
    return Due(period.kind, day, provisional, paused, text, rolled_from, paused_days, ext_days)


def _provisional_note(provisional: bool) -> str:
    return "；所涉年度节假日安排尚未公布，日期暂定" if provisional else ""


def check_extension(
    kind: ClockKind,
    existing: Sequence[Extension],
    new: Extension,
    periods: Mapping[ClockKind, PeriodDef] = PERIODS,
) -> None:
    """Refuse an extension the law (or the district's rule) does not allow; the case service calls
    this before recording one. ``Clock.due`` itself never refuses: a deadline must always show."""
    period = periods[kind]
    if period.max_extensions == 0 or period.max_extension_days == 0:
        raise ValidationError(f"{period.name}（{period.basis}）不能延长。")
    if period.max_extensions is not None and len(existing) >= period.max_extensions:
        raise ValidationError(
            f"{period.name}只能延长 {period.max_extensions} 次（{period.basis}），已延长 {len(existing)} 次。"
        )
    if period.max_extension_days is not None:
        used = sum(e.days for e in existing)
        if used + new.days > period.max_extension_days:
            raise ValidationError(
                f"{period.name}最多延长 {period.max_extension_days} 日，已延长 {used} 日，"
                f"不能再延长 {new.days} 日。"
            )


def case_clocks(
    events: Mapping[str, dt.date],
    pauses: Mapping[ClockKind, Sequence[Pause]],
    extensions: Mapping[ClockKind, Sequence[Extension]],
    calendar: WorkCalendar,
    *,
    today: dt.date | None = None,
    periods: Mapping[ClockKind, PeriodDef] = PERIODS,
) -> dict[ClockKind, Due]:
    """Every clock of one case whose start is known, in procedure order.

    ``events`` maps ``Event`` values ("filed", "notice_received", "decision_served", …) to dates;
    ``pauses`` and ``extensions`` are per clock, because a pause of the investigation stops the
    decision clock but not the party's payment period. A clock started by another clock (the
    court application after the lawsuit period) follows it: pausing or extending the upstream
    clock moves it, and it inherits the upstream's provisional and paused flags. Whether a clock
    applies at all (service only when the party was absent, …) is the case module's decision.
    """
    known = {Event(key): day for key, day in events.items()}  # an unknown key is a bug: ValueError
    out: dict[ClockKind, Due] = {}
    for kind in ClockKind:
        period = periods[kind]
        upstream: Due | None = None
        if isinstance(period.start, ClockKind):
            upstream = out.get(period.start)
            start = upstream.day if upstream is not None else None
        else:
            start = known.get(period.start)
        if start is None:
            continue
        clock = Clock(kind, start, pauses.get(kind, ()), extensions.get(kind, ()))
        out[kind] = _due(clock, period, calendar, today, upstream)
    return out


class ClockState(StrEnum):
    NONE = "none"
    AMBER = "amber"
    RED = "red"
    DONE = "done"


#: A clock turns amber when this many working days or fewer are left to act.
AMBER_WORKING_DAYS: Final = 2


def clock_state(due_day: dt.date, today: dt.date, calendar: WorkCalendar, done: bool = False) -> ClockState:
    """The colour of a clock on the case and the start page.

    DONE when the step is done; RED when ``today`` is after ``due_day``; AMBER when the working
    days left to act — ``today`` itself if it is a working day (the office can still act today),
    then every working day up to and including ``due_day`` — are ``AMBER_WORKING_DAYS`` or fewer.
    So a clock due on Monday is amber from the Friday before (Friday, Monday), and on the
    weekend; a clock due today is amber, not red. A due day that is a rest day with no working
    day left before it (only possible for counted-back clocks) is amber until it passes.
    """
    if done:
        return ClockState.DONE
    if today > due_day:
        return ClockState.RED
    # Walk only until the count exceeds the threshold: the start page asks this for every open
    # clock, and a due day months away must cost a few look-ups, not months of them.
    left, day = 0, today
    while day <= due_day:
        left += calendar.is_workday(day)
        if left > AMBER_WORKING_DAYS:
            return ClockState.NONE
        day += _DAY
    return ClockState.AMBER


#: Late-payment fee (加处罚款): 3 % of the fine per day (行政处罚法 第七十二条第一项).
LATE_FEE_PERCENT_PER_DAY: Final = 3


def late_fee_days(payment_due: dt.date, on_day: dt.date, pauses: Sequence[Pause] = ()) -> int:
    """Days the fee runs: the days after ``payment_due`` up to and including ``on_day``, minus
    days inside a pause — reconsideration or lawsuit pending (行政处罚法 第七十三条第三款), or an
    approved pause of execution; ``timing.fee_pauses`` builds them for a case. An open pause runs
    through ``on_day``."""
    days, day = 0, payment_due
    while day < on_day:
        day += _DAY
        if not any(p.start <= day and (p.end is None or day <= p.end) for p in pauses):
            days += 1
    return days


def late_fee_fen(fine_fen: int, payment_due: dt.date, on_day: dt.date, pauses: Sequence[Pause] = ()) -> int:
    """The late-payment fee owed on ``on_day``, in fen: 3 % of the fine per day run, never more
    than the fine (行政处罚法 第七十二条第一项). Rounded down to the fen, so the party is never
    charged a fraction the law does not impose."""
    if fine_fen < 0:
        raise ValidationError("罚款金额不能为负数。")
    days = late_fee_days(payment_due, on_day, pauses)
    return min(fine_fen, fine_fen * LATE_FEE_PERCENT_PER_DAY * days // 100)


#: Limitation periods in years (行政处罚法 第三十六条).
LIMITATION_YEARS: Final = 2
LIMITATION_YEARS_HARM: Final = 5
LIMITATION_BASIS: Final = "《行政处罚法》第三十六条"


@dataclass(frozen=True)
class LimitationCheck:
    within: bool
    #: The last day on which the violation may still be dealt with; None while it continues.
    last_day: dt.date | None
    years: int
    explanation: str


def limitation_check(
    violation_ended: dt.date | None, filed_on: dt.date, *, harmed: bool = False
) -> LimitationCheck:
    """Whether filing on ``filed_on`` is within the limitation period (追责时效).

    Two years from the day the violation ended — for a continuing violation (连续或者继续状态)
    the day it stopped; ``None`` while it still continues — and five years where citizens' life,
    health or financial safety was involved with harmful consequences (``harmed``). The law counts
    to the day the violation was *discovered*; filing comes on or after discovery, so a filing
    date inside the period proves the discovery was too. The last day is the same date N years
    later (29 February → 28 February), not moved off rest days (see ``REST_DAY_RULE``).
    """
    years = LIMITATION_YEARS_HARM if harmed else LIMITATION_YEARS
    harm_text = "（涉及生命健康安全、金融安全且有危害后果）" if harmed else ""
    if violation_ended is None:
        return LimitationCheck(
            True, None, years, f"违法行为仍在继续，追责时效 {years} 年{harm_text}自行为终了之日起算"
        )
    last = add_months(violation_ended, 12 * years)
    within = filed_on <= last
    verdict = "在时效内" if within else "已超过追责时效，不再给予行政处罚"
    return LimitationCheck(
        within,
        last,
        years,
        f"违法行为终了于 {violation_ended.isoformat()}，追责时效 {years} 年{harm_text}，"
        f"最后一日 {last.isoformat()}；{filed_on.isoformat()} 立案{verdict}（{LIMITATION_BASIS}）",
    )


__all__ = [
    "AMBER_WORKING_DAYS",
    "DECISION_EXTENSION_DAYS",
    "LATE_FEE_PERCENT_PER_DAY",
    "LAWSUIT_AFTER_RECONSIDERATION",
    "PERIODS",
    "REST_DAY_RULE",
    "Clock",
    "ClockKind",
    "ClockState",
    "Direction",
    "Due",
    "Event",
    "Extension",
    "LimitationCheck",
    "Pause",
    "PeriodDef",
    "RestDayRule",
    "Unit",
    "add_months",
    "apply_rest_day_rule",
    "case_clocks",
    "check_extension",
    "clock_state",
    "late_fee_days",
    "late_fee_fen",
    "limitation_check",
    "subtract_working_days",
]
