"""Roster data services (排班数据): shift types, demand, leave, the monthly roster and its cells,
publication and the record of later changes, and ``roster_inputs`` — everything a month's
checker or solver needs, read once and handed over as plain values.

Each service takes the caller's Session (one user action, one transaction) and an Actor, checks
the permission it needs, and raises a ``ValidationError`` / ``NotFoundError`` a clerk can act on.
Reading needs only ``VIEW_PERSONNEL`` (every role has it: everyone must see the roster); drawing
up the month needs ``EDIT_ROSTERS`` (the clerk), publishing ``PUBLISH_ROSTERS`` (the leader).

This module deliberately does not import the pure rule model (``app.rosters.model``): it returns
its own small dataclasses, and the roster package maps them to the model's types.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, Role, require
from app.calendar import DayInfo, calendar_for
from app.certificates import load_facts
from app.errors import NotFoundError, ValidationError
from app.personnel.enforce import enforcement_check
from db.models import (
    Member,
    MemberLeave,
    Roster,
    RosterAssignment,
    RosterChange,
    ShiftDemand,
    ShiftType,
    User,
)
from db.models.personnel import MemberStatus, StaffCategory
from db.models.rosters import LeaveKind, RosterStatus

LEAVE_KIND_LABELS: dict[LeaveKind, str] = {
    LeaveKind.ANNUAL: "年休假",
    LeaveKind.SICK: "病假",
    LeaveKind.PERSONAL: "事假",
    LeaveKind.MARRIAGE: "婚假",
    LeaveKind.MATERNITY: "产假",
    LeaveKind.COMPENSATORY: "调休",
    LeaveKind.BUSINESS: "公差",
    LeaveKind.OTHER: "其他",
}

ROSTER_STATUS_LABELS: dict[RosterStatus, str] = {
    RosterStatus.DRAFT: "草稿",
    RosterStatus.PUBLISHED: "已发布",
}

#: Words in a member's position (职务) that make them a leader who may take 带班领导 duty.
LEADER_WORDS = ("队长", "指导员", "教导员")
#: The night window of labour practice: work between 22:00 and 06:00 is night work.
NIGHT_FROM, NIGHT_TO = 22 * 60, 6 * 60
_DAY = 24 * 60
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def day_text(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _span_text(start: dt.date, end: dt.date) -> str:
    return day_text(start) if start == end else f"{day_text(start)}至{day_text(end)}"


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now()).replace(microsecond=0)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``"YYYY-MM"``."""
    m = _MONTH.match(month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ValidationError(f"月份“{month}”格式不对，应为“2026-03”这样的年-月。", field="month")
    year, mon = int(m.group(1)), int(m.group(2))
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def month_title(month: str) -> str:
    """``"2026-03"`` as a title says it: ``2026年3月``."""
    first, _ = month_bounds(month)
    return f"{first.year}年{first.month}月"


def month_of(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


# ---- shift types (班次) --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftTypeInput:
    code: str
    name: str
    start: str  # "HH:MM"
    end: str  # "HH:MM"; "24:00" allowed; at or before ``start`` means the next day
    #: Hours counted as worked; None: the whole span.
    hours: float | None = None
    is_night: bool = False
    is_24h: bool = False
    needs_police: bool = False
    colour: str = "#FFFFFF"
    sort_order: int = 0
    active: bool = True


@dataclass(frozen=True)
class ShiftTypeView:
    id: str
    code: str
    name: str
    start: dt.time
    end: dt.time
    start_text: str
    end_text: str
    hours: float
    is_night: bool
    is_24h: bool
    needs_police: bool
    colour: str
    sort_order: int
    active: bool
    version: int


DEFAULT_SHIFT_TYPES: tuple[ShiftTypeInput, ...] = (
    ShiftTypeInput("早", "早班", "08:00", "16:00", colour="#FFF2CC", sort_order=10),
    ShiftTypeInput("中", "中班", "16:00", "24:00", colour="#FCE4D6", sort_order=20),
    ShiftTypeInput("夜", "夜班", "00:00", "08:00", is_night=True, colour="#D9E1F2", sort_order=30),
    ShiftTypeInput("24", "24小时值班", "08:00", "08:00", is_24h=True, colour="#F4B183", sort_order=40),
    ShiftTypeInput("领", "带班领导", "08:30", "17:30", hours=8, colour="#E2EFDA", sort_order=50),
    ShiftTypeInput("巡", "路面巡逻", "09:00", "17:00", colour="#DDEBF7", sort_order=60),
    ShiftTypeInput("网", "网格巡查", "09:00", "17:00", colour="#EDEDED", sort_order=70),
    ShiftTypeInput("联", "联勤巡逻", "19:00", "23:00", needs_police=True, colour="#C6E0B4", sort_order=80),
)


def _minutes(text: str, label: str, field: str, allow_24: bool) -> int:
    m = _TIME.match(text.strip())
    if m:
        hours, minutes = int(m.group(1)), int(m.group(2))
        value = hours * 60 + minutes
        if minutes < 60 and (value < _DAY or (allow_24 and value == _DAY)):
            return value
    raise ValidationError(f"{label}“{text}”不是有效的时间，请按“08:00”的格式填写。", field=field)


def _clock(minutes: int) -> dt.time:
    return dt.time((minutes // 60) % 24, minutes % 60)


def _text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _night_overlap(start: int, span: int) -> int:
    """Minutes of ``[start, start + span)`` that fall in the night window, over two days."""
    total = 0
    for day in (-_DAY, 0, _DAY):
        lo, hi = day + NIGHT_FROM, day + _DAY + NIGHT_TO
        total += max(0, min(start + span, hi) - max(start, lo))
    return total


def validate_shift_type(data: ShiftTypeInput) -> ShiftTypeInput:
    """The cleaned input, or ValidationError naming the field to fix."""
    code, name = data.code.strip(), " ".join(data.name.split())
    if not code:
        raise ValidationError("请填写班次代码（排班表格中显示的简称，如“早”）。", field="code")
    if len(code) > 8:
        raise ValidationError("班次代码过长（最多 8 个字），请用简称。", field="code")
    if not name:
        raise ValidationError("请填写班次名称。", field="name")
    if len(name) > 40:
        raise ValidationError("班次名称过长（最多 40 个字）。", field="name")
    start = _minutes(data.start, "开始时间", "start", allow_24=False)
    end = _minutes(data.end, "结束时间", "end", allow_24=True)
    if data.is_24h:
        if end % _DAY != start:
            raise ValidationError(
                f"24小时值班应从开始时间起满 24 小时，结束时间应为次日 {_text(start)}。", field="end"
            )
        span = _DAY
    else:
        span = (end - start) % _DAY
        if span == 0:
            raise ValidationError("开始和结束时间相同；若为24小时值班，请勾选“24小时值班”。", field="end")
    hours = span / 60 if data.hours is None else float(data.hours)
    if not 0 < hours <= span / 60:
        raise ValidationError(f"计算工时应大于 0，且不超过班次时长 {span / 60:g} 小时。", field="hours")
    night = _night_overlap(start, span)
    if data.is_24h and data.is_night:
        raise ValidationError("24小时值班单独统计，不再标为夜班，请取消“夜班”。", field="is_night")
    if data.is_night and night == 0:
        raise ValidationError(
            "夜班应跨越午夜或落在 22:00 至次日 06:00 之间，请核对时间或取消“夜班”。", field="is_night"
        )
    if not data.is_night and not data.is_24h and night * 2 > span:
        raise ValidationError("该班次大半时间在夜间（22:00 至次日 06:00），应标为夜班。", field="is_night")
    colour = data.colour.strip().upper()
    if not _COLOUR.match(colour):
        raise ValidationError(f"颜色“{data.colour}”无效，应为“#RRGGBB”形式。", field="colour")
    return ShiftTypeInput(
        code=code,
        name=name,
        start=_text(start),
        end=_text(end),
        hours=round(hours, 2),
        is_night=data.is_night,
        is_24h=data.is_24h,
        needs_police=data.needs_police,
        colour=colour,
        sort_order=data.sort_order,
        active=data.active,
    )


def _shift_view(row: ShiftType) -> ShiftTypeView:
    start = _minutes(row.start_time, "开始时间", "start", allow_24=False)
    end = _minutes(row.end_time, "结束时间", "end", allow_24=True)
    return ShiftTypeView(
        id=row.id,
        code=row.code,
        name=row.name,
        start=_clock(start),
        end=_clock(end),
        start_text=row.start_time,
        end_text=row.end_time,
        hours=row.hours,
        is_night=row.is_night,
        is_24h=row.is_24h,
        needs_police=row.needs_police,
        colour=row.colour,
        sort_order=row.sort_order,
        active=row.active,
        version=row.version,
    )


def _apply_shift(row: ShiftType, data: ShiftTypeInput) -> None:
    assert data.hours is not None
    row.code = data.code
    row.name = data.name
    row.start_time = data.start
    row.end_time = data.end
    row.hours = data.hours
    row.is_night = data.is_night
    row.is_24h = data.is_24h
    row.needs_police = data.needs_police
    row.colour = data.colour
    row.sort_order = data.sort_order
    row.active = data.active


def _shift_rows(session: Session) -> list[ShiftType]:
    return list(
        session.scalars(
            select(ShiftType)
            .where(ShiftType.deleted.is_(False))
            .order_by(ShiftType.sort_order, ShiftType.code)
        )
    )


def list_shift_types(session: Session, actor: Actor, include_inactive: bool = False) -> list[ShiftTypeView]:
    require(actor, Permission.VIEW_PERSONNEL)
    return [_shift_view(r) for r in _shift_rows(session) if include_inactive or r.active]


def ensure_default_shift_types(session: Session, actor: Actor) -> list[ShiftTypeView]:
    """The squad's shift types; the default set is created the first time a squad has none."""
    require(actor, Permission.EDIT_ROSTERS)
    rows = _shift_rows(session)
    if not rows:
        for data in DEFAULT_SHIFT_TYPES:
            row = ShiftType()
            _apply_shift(row, validate_shift_type(data))
            session.add(row)
            rows.append(row)
        session.flush()
    return [_shift_view(r) for r in rows]


def _code_taken(session: Session, code: str, own_id: str | None) -> ShiftType | None:
    # Tombstoned rows included: the unique key (squad, code) covers them too.
    other = session.scalar(select(ShiftType).where(ShiftType.code == code))
    return other if other is not None and other.id != own_id else None


def create_shift_type(session: Session, actor: Actor, data: ShiftTypeInput) -> ShiftTypeView:
    require(actor, Permission.EDIT_ROSTERS)
    ensure_default_shift_types(session, actor)
    clean = validate_shift_type(data)
    other = _code_taken(session, clean.code, None)
    if other is not None:
        raise ValidationError(f"班次代码“{clean.code}”已被“{other.name}”使用，请换一个。", field="code")
    row = ShiftType()
    _apply_shift(row, clean)
    session.add(row)
    session.flush()
    return _shift_view(row)


def _get_shift(session: Session, shift_type_id: str) -> ShiftType:
    row = session.get(ShiftType, shift_type_id)
    if row is None or row.deleted:
        raise NotFoundError("找不到该班次，可能已被删除，请刷新。")
    return row


def update_shift_type(
    session: Session, actor: Actor, shift_type_id: str, data: ShiftTypeInput, version: int
) -> ShiftTypeView:
    """Save an edit made on ``version``. A shift type in use is deactivated, never deleted."""
    require(actor, Permission.EDIT_ROSTERS)
    row = _get_shift(session, shift_type_id)
    if row.version != version:
        raise ValidationError(f"班次“{row.name}”刚被他人修改过，请重新打开后再编辑。")
    clean = validate_shift_type(data)
    other = _code_taken(session, clean.code, row.id)
    if other is not None:
        raise ValidationError(f"班次代码“{clean.code}”已被“{other.name}”使用，请换一个。", field="code")
    _apply_shift(row, clean)
    session.flush()
    return _shift_view(row)


# ---- demand (排班需求) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandInput:
    headcount: int
    min_certified: int = 0
    min_police: int = 0
    needs_leader: bool = False


@dataclass(frozen=True)
class DemandView:
    day: dt.date
    shift_type_id: str
    shift_code: str
    headcount: int
    min_certified: int
    min_police: int
    needs_leader: bool


def _validate_demand(data: DemandInput, shift: ShiftType) -> None:
    if data.headcount < 0 or data.min_certified < 0 or data.min_police < 0:
        raise ValidationError("人数不能为负数。", field="headcount")
    if data.headcount > 200:
        raise ValidationError("每班人数过多（最多 200 人），请核对。", field="headcount")
    if data.headcount == 0:
        return  # clears the demand
    if data.min_certified + data.min_police > data.headcount:
        raise ValidationError(
            f"{shift.name}共需 {data.headcount} 人，持证执法人员 {data.min_certified} 名与公安民警 "
            f"{data.min_police} 名合计超出总人数。",
            field="min_certified",
        )
    if shift.needs_police and data.min_police < 1:
        raise ValidationError(f"{shift.name}为联勤班次，至少需要 1 名公安民警。", field="min_police")


def set_demand(
    session: Session,
    actor: Actor,
    shift_type_id: str,
    first: dt.date,
    last: dt.date,
    data: DemandInput,
    weekdays: Collection[int] | None = None,
) -> int:
    """Set one shift's demand on every day from ``first`` to ``last`` (both included), or only on
    the given weekdays (0 = Monday). A headcount of 0 clears it. Returns the number of days set."""
    require(actor, Permission.EDIT_ROSTERS)
    shift = _get_shift(session, shift_type_id)
    if last < first:
        raise ValidationError(f"结束日期 {last:%Y-%m-%d} 早于开始日期 {first:%Y-%m-%d}。", field="last")
    if (last - first).days > 366:
        raise ValidationError("一次最多设置一年的需求。", field="last")
    _validate_demand(data, shift)
    days = [d for d in _days(first, last) if weekdays is None or d.weekday() in weekdays]
    existing = {
        r.day: r
        for r in session.scalars(
            select(ShiftDemand).where(
                ShiftDemand.shift_type_id == shift.id, ShiftDemand.day.between(first, last)
            )
        )
    }
    for day in days:
        _write_demand(session, existing.get(day), day, shift.id, data)
    session.flush()
    return len(days)


def _write_demand(
    session: Session, row: ShiftDemand | None, day: dt.date, shift_type_id: str, data: DemandInput
) -> None:
    if data.headcount == 0:
        if row is not None and not row.deleted:
            row.deleted = True
        return
    if row is None:
        row = ShiftDemand(day=day, shift_type_id=shift_type_id)
        session.add(row)
    # A tombstoned row is revived: the unique key (squad, day, shift) still holds it.
    row.deleted = False
    row.headcount = data.headcount
    row.min_certified = data.min_certified
    row.min_police = data.min_police
    row.needs_leader = data.needs_leader


def _demand_rows(session: Session, first: dt.date, last: dt.date) -> list[tuple[ShiftDemand, ShiftType]]:
    rows = session.execute(
        select(ShiftDemand, ShiftType)
        .join(ShiftType, ShiftType.id == ShiftDemand.shift_type_id)
        .where(ShiftDemand.deleted.is_(False), ShiftDemand.day.between(first, last))
        .order_by(ShiftDemand.day, ShiftType.sort_order, ShiftType.code)
    )
    return [(d, s) for d, s in rows]


def list_demand(session: Session, actor: Actor, month: str) -> list[DemandView]:
    require(actor, Permission.VIEW_PERSONNEL)
    first, last = month_bounds(month)
    return [
        DemandView(d.day, s.id, s.code, d.headcount, d.min_certified, d.min_police, d.needs_leader)
        for d, s in _demand_rows(session, first, last)
    ]


def copy_week_to_month(session: Session, actor: Actor, month: str, week_start: dt.date) -> int:
    """Make every day of ``month`` outside the week from ``week_start`` carry that week's demand
    of the same weekday (a day with none there is cleared). Returns the number of days written."""
    require(actor, Permission.EDIT_ROSTERS)
    first, last = month_bounds(month)
    week = _days(week_start, week_start + dt.timedelta(days=6))
    pattern: dict[tuple[int, str], DemandInput] = {
        (d.day.weekday(), s.id): DemandInput(d.headcount, d.min_certified, d.min_police, d.needs_leader)
        for d, s in _demand_rows(session, week[0], week[-1])
    }
    if not pattern:
        raise ValidationError(
            f"{day_text(week[0])}起的一周还没有设置需求，请先排好这一周再复制。", field="week_start"
        )
    shift_ids = {r.id for r in _shift_rows(session)}
    existing = {
        (r.day, r.shift_type_id): r
        for r in session.scalars(select(ShiftDemand).where(ShiftDemand.day.between(first, last)))
    }
    targets = [d for d in _days(first, last) if d not in week]
    for day in targets:
        for shift_id in shift_ids:
            data = pattern.get((day.weekday(), shift_id), DemandInput(0))
            _write_demand(session, existing.get((day, shift_id)), day, shift_id, data)
    session.flush()
    return len(targets)


# ---- leave (请假) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveInput:
    member_id: str
    kind: LeaveKind
    start: dt.date
    end: dt.date
    note: str = ""


@dataclass(frozen=True)
class LeaveView:
    id: str
    member_id: str
    member_name: str
    kind: LeaveKind
    start: dt.date
    end: dt.date
    note: str

    @property
    def kind_label(self) -> str:
        return LEAVE_KIND_LABELS[self.kind]


def _get_member(session: Session, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.deleted:
        raise NotFoundError("找不到该队员，可能已被删除，请刷新列表。")
    return member


def _leave_view(row: MemberLeave, name: str) -> LeaveView:
    return LeaveView(row.id, row.member_id, name, LeaveKind(row.kind), row.start, row.end, row.note)


def add_leave(session: Session, actor: Actor, data: LeaveInput) -> LeaveView:
    require(actor, Permission.EDIT_ROSTERS)
    member = _get_member(session, data.member_id)
    try:
        kind = LeaveKind(data.kind)
    except ValueError:
        raise ValidationError("请选择请假类别。", field="kind") from None
    if data.end < data.start:
        raise ValidationError(
            f"请假结束日期 {data.end:%Y-%m-%d} 早于开始日期 {data.start:%Y-%m-%d}。", field="end"
        )
    if (data.end - data.start).days > 366:
        raise ValidationError("一次请假不能超过一年，请分段登记。", field="end")
    other = session.scalar(
        select(MemberLeave).where(
            MemberLeave.member_id == member.id,
            MemberLeave.deleted.is_(False),
            MemberLeave.start <= data.end,
            MemberLeave.end >= data.start,
        )
    )
    if other is not None:
        raise ValidationError(
            f"{member.name}在{_span_text(other.start, other.end)}已登记"
            f"{LEAVE_KIND_LABELS[LeaveKind(other.kind)]}，与本次{LEAVE_KIND_LABELS[kind]}"
            f"（{_span_text(data.start, data.end)}）重叠，请先修改或删除原记录。",
            field="start",
        )
    row = MemberLeave(
        member_id=member.id, kind=kind.value, start=data.start, end=data.end, note=data.note.strip()
    )
    session.add(row)
    session.flush()
    return _leave_view(row, member.name)


def remove_leave(session: Session, actor: Actor, leave_id: str) -> None:
    require(actor, Permission.EDIT_ROSTERS)
    row = session.get(MemberLeave, leave_id)
    if row is None or row.deleted:
        raise NotFoundError("找不到该请假记录，可能已被删除，请刷新。")
    row.deleted = True


def _leaves(session: Session, first: dt.date, last: dt.date) -> list[LeaveView]:
    rows = session.execute(
        select(MemberLeave, Member.name)
        .join(Member, Member.id == MemberLeave.member_id)
        .where(MemberLeave.deleted.is_(False), MemberLeave.start <= last, MemberLeave.end >= first)
        .order_by(MemberLeave.start, Member.name)
    )
    return [_leave_view(r, name) for r, name in rows]


def list_leaves(session: Session, actor: Actor, month: str) -> list[LeaveView]:
    """Leave that touches ``month`` (it may start before or end after it)."""
    require(actor, Permission.VIEW_PERSONNEL)
    return _leaves(session, *month_bounds(month))


# ---- the monthly roster (值班表) ------------------------------------------------------------------


@dataclass(frozen=True)
class RosterView:
    id: str
    month: str
    status: RosterStatus
    published_version: int
    published_by_name: str
    published_at: dt.datetime | None
    note: str
    version: int

    @property
    def status_label(self) -> str:
        return ROSTER_STATUS_LABELS[self.status]


@dataclass(frozen=True)
class AssignmentView:
    id: str
    member_id: str
    day: dt.date
    shift_type_id: str
    shift_code: str
    locked: bool


@dataclass(frozen=True)
class ChangeView:
    id: str
    published_version: int
    changed_at: dt.datetime
    changed_by_name: str
    member_id: str
    member_name: str
    day: dt.date
    before_code: str
    after_code: str
    reason: str


def _roster_view(r: Roster) -> RosterView:
    return RosterView(
        r.id,
        r.month,
        RosterStatus(r.status),
        r.published_version,
        r.published_by_name,
        r.published_at,
        r.note,
        r.version,
    )


def _find_roster(session: Session, month: str) -> Roster | None:
    return session.scalar(select(Roster).where(Roster.month == month, Roster.deleted.is_(False)))


def get_roster(session: Session, actor: Actor, month: str) -> RosterView | None:
    require(actor, Permission.VIEW_PERSONNEL)
    month_bounds(month)
    row = _find_roster(session, month)
    return _roster_view(row) if row is not None else None


def get_or_create_roster(session: Session, actor: Actor, month: str) -> RosterView:
    """The month's roster, a new draft if there is none yet (the default shift types with it)."""
    require(actor, Permission.EDIT_ROSTERS)
    first, _ = month_bounds(month)
    month = month_of(first)
    row = _find_roster(session, month)
    if row is None:
        ensure_default_shift_types(session, actor)
        row = Roster(month=month, status=RosterStatus.DRAFT.value, published_version=0)
        session.add(row)
        session.flush()
    return _roster_view(row)


def _get_roster(session: Session, roster_id: str) -> Roster:
    row = session.get(Roster, roster_id)
    if row is None or row.deleted:
        raise NotFoundError("找不到该值班表，可能已被删除，请刷新。")
    return row


def _assignment_rows(session: Session, roster_id: str) -> list[tuple[RosterAssignment, ShiftType]]:
    rows = session.execute(
        select(RosterAssignment, ShiftType)
        .join(ShiftType, ShiftType.id == RosterAssignment.shift_type_id)
        .where(RosterAssignment.roster_id == roster_id, RosterAssignment.deleted.is_(False))
        .order_by(RosterAssignment.day, RosterAssignment.member_id, ShiftType.sort_order)
    )
    return [(a, s) for a, s in rows]


def _assignment_view(a: RosterAssignment, s: ShiftType) -> AssignmentView:
    return AssignmentView(a.id, a.member_id, a.day, s.id, s.code, a.locked)


def list_assignments(session: Session, actor: Actor, roster_id: str) -> list[AssignmentView]:
    require(actor, Permission.VIEW_PERSONNEL)
    _get_roster(session, roster_id)
    return [_assignment_view(a, s) for a, s in _assignment_rows(session, roster_id)]


def month_cells(session: Session, actor: Actor, month: str) -> tuple[AssignmentView, ...]:
    """The cells of ``month``'s roster (empty when the month has none)."""
    require(actor, Permission.VIEW_PERSONNEL)
    first, _ = month_bounds(month)
    row = _find_roster(session, month_of(first))
    return tuple(_assignment_view(a, s) for a, s in _assignment_rows(session, row.id)) if row else ()


def earlier_roster_months(session: Session, actor: Actor, month: str, limit: int) -> list[str]:
    """Up to ``limit`` months before ``month`` that have a roster, the latest first."""
    require(actor, Permission.VIEW_PERSONNEL)
    first, _ = month_bounds(month)
    return list(
        session.scalars(
            select(Roster.month)
            .where(Roster.month < month_of(first), Roster.deleted.is_(False))
            .order_by(Roster.month.desc())
            .limit(limit)
        )
    )


def _codes(session: Session, rows: Iterable[RosterAssignment]) -> str:
    live = [r for r in rows if not r.deleted]
    shifts = sorted(
        (_get_shift(session, r.shift_type_id) for r in live), key=lambda s: (s.sort_order, s.code)
    )
    return "+".join(s.code for s in shifts)


def _check_cell(session: Session, roster: Roster, member_id: str, day: dt.date) -> Member:
    first, last = month_bounds(roster.month)
    if not first <= day <= last:
        raise ValidationError(f"{day:%Y-%m-%d} 不在 {roster.month} 的值班表内。", field="day")
    member = _get_member(session, member_id)
    if member.status == MemberStatus.LEFT.value:
        raise ValidationError(f"{member.name}已离岗，不能排班。", field="member_id")
    return member


def _reason_needed(roster: Roster, reason: str) -> str:
    reason = reason.strip()
    if roster.status == RosterStatus.PUBLISHED.value and not reason:
        raise ValidationError(
            f"{roster.month} 的值班表已发布（第 {roster.published_version} 版），修改须填写调班原因。",
            field="reason",
        )
    return reason


def _write_day(
    session: Session,
    actor: Actor,
    roster: Roster,
    member: Member,
    day: dt.date,
    shift_type_id: str | None,
    locked: bool,
    reason: str,
    now: dt.datetime,
    existing: list[RosterAssignment],
) -> bool:
    """Make ``member``'s ``day`` hold exactly ``shift_type_id`` (None: off). True if it changed."""
    before = _codes(session, existing)
    changed = False
    for row in existing:
        keep = row.shift_type_id == shift_type_id
        if not keep and not row.deleted:
            row.deleted = True
            changed = True
        elif keep and (row.deleted or row.locked != locked):
            changed |= row.deleted
            row.deleted = False
            row.locked = locked
    if shift_type_id is not None and not any(r.shift_type_id == shift_type_id for r in existing):
        row = RosterAssignment(
            roster_id=roster.id, member_id=member.id, day=day, shift_type_id=shift_type_id, locked=locked
        )
        session.add(row)
        existing.append(row)
        changed = True
    after = _codes(session, existing)
    if changed and roster.status == RosterStatus.PUBLISHED.value and before != after:
        session.add(
            RosterChange(
                roster_id=roster.id,
                published_version=roster.published_version,
                changed_at=now,
                changed_by_id=actor.user_id,
                changed_by_name=actor.display_name or actor.username,
                member_id=member.id,
                day=day,
                before_code=before,
                after_code=after,
                reason=reason,
            )
        )
    return changed


def _day_rows(session: Session, roster_id: str, member_id: str, day: dt.date) -> list[RosterAssignment]:
    return list(
        session.scalars(
            select(RosterAssignment).where(
                RosterAssignment.roster_id == roster_id,
                RosterAssignment.member_id == member_id,
                RosterAssignment.day == day,
            )
        )
    )


def set_cell(
    session: Session,
    actor: Actor,
    roster_id: str,
    member_id: str,
    day: dt.date,
    shift_type_id: str | None,
    locked: bool = False,
    reason: str = "",
    now: dt.datetime | None = None,
) -> list[AssignmentView]:
    """Put ``member`` on ``shift_type_id`` on ``day`` (None clears the day), replacing what the
    day held. Breaking a rule is allowed here — the grid flags it with the checker. On a published
    roster a ``reason`` is required and the change is recorded (调班记录)."""
    require(actor, Permission.EDIT_ROSTERS)
    roster = _get_roster(session, roster_id)
    member = _check_cell(session, roster, member_id, day)
    if shift_type_id is not None:
        shift = _get_shift(session, shift_type_id)
        if not shift.active:
            raise ValidationError(f"班次“{shift.name}”已停用，不能再排。", field="shift_type_id")
    reason = _reason_needed(roster, reason)
    rows = _day_rows(session, roster.id, member.id, day)
    _write_day(session, actor, roster, member, day, shift_type_id, locked, reason, _now(now), rows)
    session.flush()
    return [
        AssignmentView(
            r.id, r.member_id, r.day, r.shift_type_id, _get_shift(session, r.shift_type_id).code, r.locked
        )
        for r in rows
        if not r.deleted
    ]


def set_locked(
    session: Session, actor: Actor, roster_id: str, member_id: str, day: dt.date, locked: bool
) -> None:
    """Lock or unlock a member's day (a day off can be locked only by locking a shift)."""
    require(actor, Permission.EDIT_ROSTERS)
    roster = _get_roster(session, roster_id)
    _check_cell(session, roster, member_id, day)
    rows = [r for r in _day_rows(session, roster.id, member_id, day) if not r.deleted]
    if not rows:
        raise ValidationError(f"{day_text(day)}该队员没有排班，无需锁定。", field="day")
    for r in rows:
        r.locked = locked


def save_solution(
    session: Session,
    actor: Actor,
    roster_id: str,
    cells: Iterable[tuple[str, dt.date, str]],
    reason: str = "",
    now: dt.datetime | None = None,
) -> int:
    """Replace every unlocked day of the roster with ``cells`` — (member id, day, shift type id),
    one per member and day, e.g. a solver's output; locked days stay as they are, and a day not
    in ``cells`` becomes a day off. Returns the number of member-days that changed."""
    require(actor, Permission.EDIT_ROSTERS)
    roster = _get_roster(session, roster_id)
    reason = _reason_needed(roster, reason)
    first, last = month_bounds(roster.month)
    shift_ids = {s.id for s in _shift_rows(session)}
    wanted: dict[tuple[str, dt.date], str] = {}
    for member_id, day, shift_id in cells:
        if not first <= day <= last:
            raise ValidationError(f"{day:%Y-%m-%d} 不在 {roster.month} 的值班表内。", field="day")
        if shift_id not in shift_ids:
            raise NotFoundError("排班中的某个班次已不存在，请刷新后重新排班。")
        if wanted.setdefault((member_id, day), shift_id) != shift_id:
            raise ValidationError(f"同一名队员在{day_text(day)}被排了两个班次，未保存。", field="day")
    rows: dict[tuple[str, dt.date], list[RosterAssignment]] = {}
    for r in session.scalars(select(RosterAssignment).where(RosterAssignment.roster_id == roster.id)):
        rows.setdefault((r.member_id, r.day), []).append(r)
    members = {m.id: m for m in session.scalars(select(Member).where(Member.deleted.is_(False)))}
    stamp = _now(now)
    changed = 0
    for key in sorted(set(wanted) | set(rows)):
        existing = rows.get(key, [])
        if any(r.locked and not r.deleted for r in existing):
            continue
        member = members.get(key[0])
        if member is None:
            raise NotFoundError("找不到排班中的某名队员，可能已被删除，请刷新后重新排班。")
        day_changed = _write_day(
            session, actor, roster, member, key[1], wanted.get(key), False, reason, stamp, existing
        )
        changed += day_changed
    session.flush()
    return changed


def publish_roster(
    session: Session, actor: Actor, roster_id: str, version: int | None = None, now: dt.datetime | None = None
) -> RosterView:
    """发布: the roster becomes (again) the published one; each publication counts up its number.
    ``version`` (the row version the leader looked at) guards against publishing unseen edits."""
    require(actor, Permission.PUBLISH_ROSTERS)
    roster = _get_roster(session, roster_id)
    if version is not None and roster.version != version:
        raise ValidationError(f"{roster.month} 的值班表刚被修改过，请刷新核对后再发布。")
    if not any(True for _ in _assignment_rows(session, roster.id)):
        raise ValidationError(f"{roster.month} 的值班表还是空的，排班后再发布。")
    roster.status = RosterStatus.PUBLISHED.value
    roster.published_version += 1
    roster.published_by_id = actor.user_id
    roster.published_by_name = actor.display_name or actor.username
    roster.published_at = _now(now)
    session.flush()
    return _roster_view(roster)


def list_changes(session: Session, actor: Actor, roster_id: str) -> list[ChangeView]:
    require(actor, Permission.VIEW_PERSONNEL)
    _get_roster(session, roster_id)
    rows = session.execute(
        select(RosterChange, Member.name)
        .join(Member, Member.id == RosterChange.member_id)
        .where(RosterChange.roster_id == roster_id, RosterChange.deleted.is_(False))
        .order_by(RosterChange.changed_at, RosterChange.updated_at)
    )
    return [
        ChangeView(
            c.id,
            c.published_version,
            c.changed_at,
            c.changed_by_name,
            c.member_id,
            name,
            c.day,
            c.before_code,
            c.after_code,
            c.reason,
        )
        for c, name in rows
    ]


# ---- inputs of a month's checker / solver -----------------------------------------------------


@dataclass(frozen=True)
class PersonInputs:
    member_id: str
    name: str
    category: StaffCategory
    unit: str
    position: str
    is_leader: bool
    #: Days of the month on which the member may act as an enforcement officer (``can_enforce``).
    certified_days: frozenset[dt.date]


@dataclass(frozen=True)
class RosterInputs:
    month: str
    first: dt.date
    last: dt.date
    #: Every day of the month with its workday / holiday / make-up workday status.
    calendar: tuple[DayInfo, ...]
    people: tuple[PersonInputs, ...]
    shift_types: tuple[ShiftTypeView, ...]
    demands: tuple[DemandView, ...]
    leaves: tuple[LeaveView, ...]
    roster: RosterView | None
    assignments: tuple[AssignmentView, ...]
    #: The last week of the month before, read-only: rest and consecutive days hold across the boundary.
    previous: tuple[AssignmentView, ...] = ()


#: How many days of the month before the checker and the solver look at.
PREVIOUS_DAYS = 7


def is_leader_position(position: str) -> bool:
    return any(word in position for word in LEADER_WORDS)


def roster_inputs(session: Session, actor: Actor, month: str, today: dt.date | None = None) -> RosterInputs:
    """Everything of ``month`` as plain values: the members who may work it (live, not left or
    seconded, joined by its end), the days each may enforce on, shift types, demand, leave, and
    the current roster's cells. Certificates are read in two queries for all members at once."""
    require(actor, Permission.VIEW_PERSONNEL)
    first, last = month_bounds(month)
    month = month_of(first)
    days = _days(first, last)
    members: Sequence[Member] = list(
        session.scalars(
            select(Member)
            .where(
                Member.deleted.is_(False),
                Member.status.not_in([MemberStatus.LEFT.value, MemberStatus.SECONDED.value]),
            )
            .order_by(Member.unit, Member.name)
        )
    )
    members = [m for m in members if m.join_date is None or m.join_date <= last]
    facts = load_facts(session, [m.id for m in members])
    leader_users = set(
        session.scalars(
            select(User.member_id).where(User.role == Role.LEADER.value, User.member_id.is_not(None))
        )
    )
    people = []
    for m in members:
        category = StaffCategory(m.category)
        status = MemberStatus(m.status)
        certified = frozenset(
            d
            for d in days
            if enforcement_check(m.name, category, status, m.join_date, facts[m.id], d, today).ok
        )
        people.append(
            PersonInputs(
                m.id,
                m.name,
                category,
                m.unit,
                m.position,
                is_leader_position(m.position) or m.id in leader_users,
                certified,
            )
        )
    roster = _find_roster(session, month)
    return RosterInputs(
        month=month,
        first=first,
        last=last,
        calendar=tuple(calendar_for(session).month(first.year, first.month)),
        people=tuple(people),
        shift_types=tuple(_shift_view(r) for r in _shift_rows(session) if r.active),
        demands=tuple(
            DemandView(d.day, s.id, s.code, d.headcount, d.min_certified, d.min_police, d.needs_leader)
            for d, s in _demand_rows(session, first, last)
        ),
        leaves=tuple(_leaves(session, first, last)),
        roster=_roster_view(roster) if roster is not None else None,
        assignments=tuple(_assignment_view(a, s) for a, s in _assignment_rows(session, roster.id))
        if roster is not None
        else (),
        previous=tuple(
            a
            for a in month_cells(session, actor, month_of(first - dt.timedelta(days=1)))
            if a.day > first - dt.timedelta(days=PREVIOUS_DAYS + 1)
        ),
    )
