"""Training records (培训记录) and each member's yearly hours against the required minimum."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.errors import NotFoundError, ValidationError
from db.models import Member, TrainingRecord
from db.models.personnel import MemberStatus, StaffCategory

KIND_LABELS = {
    "on_job": "岗位培训",
    "legal": "法律知识",
    "special": "专项业务",
    "political": "政治理论",
    "other": "其他",
}


@dataclass(frozen=True)
class TrainingInput:
    member_id: str
    day: dt.date
    course: str
    hours: float
    kind: str = "on_job"
    organizer: str = ""


@dataclass(frozen=True)
class TrainingView:
    id: str
    member_id: str
    member_name: str
    day: dt.date
    course: str
    hours: float
    kind: str
    organizer: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class HoursSummary:
    member_id: str
    member_name: str
    unit: str
    hours: float
    required: float

    @property
    def short(self) -> float:
        return max(0.0, self.required - self.hours)


def validate(data: TrainingInput) -> TrainingInput:
    course = data.course.strip()
    if not course:
        raise ValidationError("请填写培训课程名称。", field="course")
    if not 0 < data.hours <= 200:
        raise ValidationError(f"学时 {data.hours:g} 不合理，应在 0 到 200 之间。", field="hours")
    if data.day > dt.date.today():
        raise ValidationError(f"培训日期 {data.day:%Y-%m-%d} 在今天之后，请核对。", field="day")
    if data.kind not in KIND_LABELS:
        raise ValidationError("请选择培训类别。", field="kind")
    return TrainingInput(
        data.member_id, data.day, course, round(float(data.hours), 1), data.kind, data.organizer.strip()
    )


def add_training(session: Session, actor: Actor, data: TrainingInput) -> str:
    require(actor, Permission.EDIT_TRAINING)
    clean = validate(data)
    member = session.get(Member, clean.member_id)
    if member is None or member.deleted:
        raise NotFoundError("找不到该队员，请刷新后重试。")
    rec = TrainingRecord(
        member_id=member.id,
        day=clean.day,
        course=clean.course,
        hours=clean.hours,
        kind=clean.kind,
        organizer=clean.organizer,
    )
    session.add(rec)
    session.flush()
    return rec.id


def remove_training(session: Session, actor: Actor, record_id: str) -> None:
    require(actor, Permission.EDIT_TRAINING)
    rec = session.get(TrainingRecord, record_id)
    if rec is None or rec.deleted:
        raise NotFoundError("找不到该培训记录。")
    rec.deleted = True


def list_training(
    session: Session, actor: Actor, year: int, member_id: str | None = None
) -> list[TrainingView]:
    require(actor, Permission.VIEW_PERSONNEL)
    q = (
        select(TrainingRecord, Member.name)
        .join(Member, Member.id == TrainingRecord.member_id)
        .where(
            TrainingRecord.deleted.is_(False),
            Member.deleted.is_(False),
            TrainingRecord.day >= dt.date(year, 1, 1),
            TrainingRecord.day <= dt.date(year, 12, 31),
        )
        .order_by(TrainingRecord.day.desc(), Member.name)
    )
    if member_id:
        q = q.where(TrainingRecord.member_id == member_id)
    return [
        TrainingView(r.id, r.member_id, name, r.day, r.course, r.hours, r.kind, r.organizer)
        for r, name in session.execute(q)
    ]


def yearly_hours(session: Session, actor: Actor, year: int, required: float) -> list[HoursSummary]:
    """Hours per serving enforcement member in ``year``, fewest first."""
    require(actor, Permission.VIEW_PERSONNEL)
    hours: dict[str, float] = {
        member_id: total
        for member_id, total in session.execute(
            select(TrainingRecord.member_id, func.sum(TrainingRecord.hours))
            .where(
                TrainingRecord.deleted.is_(False),
                TrainingRecord.day >= dt.date(year, 1, 1),
                TrainingRecord.day <= dt.date(year, 12, 31),
            )
            .group_by(TrainingRecord.member_id)
        )
    }
    members = session.scalars(
        select(Member).where(
            Member.deleted.is_(False),
            Member.status != MemberStatus.LEFT.value,
            Member.category.in_([StaffCategory.CIVIL_SERVANT.value, StaffCategory.CAREER.value]),
        )
    )
    out = [HoursSummary(m.id, m.name, m.unit, float(hours.get(m.id) or 0.0), required) for m in members]
    out.sort(key=lambda s: (s.hours, s.member_name))
    return out
