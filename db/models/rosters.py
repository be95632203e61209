"""Duty-roster tables (排班): shift types, daily demand, leave, the monthly roster, its cells and
the record of changes made after publication.

Times of day are kept as ``"HH:MM"`` text (``"24:00"`` allowed as an end): the change log and
the audit log serialise rows to JSON, and a clock time needs no time zone or date to mean what a
clerk typed. ``app.rosters.data`` converts them to ``datetime.time`` for the checker and solver.

Cells are never hard-deleted: clearing a cell tombstones its row, and setting it again revives
the same row, so the unique keys below hold together with tombstones.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Synced


class LeaveKind(StrEnum):
    ANNUAL = "annual"  # 年休假
    SICK = "sick"  # 病假
    PERSONAL = "personal"  # 事假
    MARRIAGE = "marriage"  # 婚假
    MATERNITY = "maternity"  # 产假
    COMPENSATORY = "compensatory"  # 调休
    BUSINESS = "business"  # 公差
    OTHER = "other"  # 其他


class RosterStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    PUBLISHED = "published"  # 已发布


class ShiftType(Synced):
    """班次: a kind of duty the roster assigns, with its clock times and what it requires."""

    __tablename__ = "shift_types"
    __table_args__ = (UniqueConstraint("squad_id", "code"),)
    label_zh = "班次"
    #: Short code shown in the grid cell (早, 中, 夜, 24 …); unique per squad.
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(40))
    #: ``"HH:MM"``; an end at or before the start means the next day.
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    #: Hours counted as worked (may be less than the span, e.g. a meal break).
    hours: Mapped[float] = mapped_column(Float)
    is_night: Mapped[bool] = mapped_column(Boolean, default=False)
    is_24h: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A joint patrol (联勤巡逻) needs at least one police officer.
    needs_police: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``#RRGGBB`` background of the grid cell.
    colour: Mapped[str] = mapped_column(String(7), default="#FFFFFF")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ShiftDemand(Synced):
    """需求: how many people one shift needs on one day, and of whom how many must be certified
    officers (counted with ``can_enforce`` on that day), police, or a leader."""

    __tablename__ = "shift_demands"
    __table_args__ = (UniqueConstraint("squad_id", "day", "shift_type_id"),)
    label_zh = "排班需求"
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    shift_type_id: Mapped[str] = mapped_column(ForeignKey("shift_types.id"), index=True)
    headcount: Mapped[int] = mapped_column(Integer)
    min_certified: Mapped[int] = mapped_column(Integer, default=0)
    min_police: Mapped[int] = mapped_column(Integer, default=0)
    needs_leader: Mapped[bool] = mapped_column(Boolean, default=False)


class MemberLeave(Synced):
    """请假: a member away from ``start`` to ``end`` (both included)."""

    __tablename__ = "member_leaves"
    __table_args__ = (Index("ix_member_leaves_span", "member_id", "start", "end"),)
    label_zh = "请假记录"
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class Roster(Synced):
    """The roster of one month (值班表): a draft until published; each publication counts up
    ``published_version``, and changes after it are recorded in ``RosterChange``."""

    __tablename__ = "rosters"
    __table_args__ = (UniqueConstraint("squad_id", "month"),)
    label_zh = "值班表"
    #: ``"YYYY-MM"``.
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default=RosterStatus.DRAFT.value)
    #: 0 until first published, then +1 per publication.
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    published_by_id: Mapped[str] = mapped_column(String(36), default="")
    published_by_name: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class RosterAssignment(Synced):
    """One cell of the grid: a member on a shift on a day; ``locked`` cells stay when re-solving."""

    __tablename__ = "roster_assignments"
    __table_args__ = (UniqueConstraint("roster_id", "member_id", "day", "shift_type_id"),)
    label_zh = "排班"
    roster_id: Mapped[str] = mapped_column(ForeignKey("rosters.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    shift_type_id: Mapped[str] = mapped_column(ForeignKey("shift_types.id"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)


class RosterChange(Synced):
    """调班记录: a change of a published roster — who changed whose day, from what to what, why."""

    __tablename__ = "roster_changes"
    label_zh = "调班记录"
    roster_id: Mapped[str] = mapped_column(ForeignKey("rosters.id"), index=True)
    #: The publication the change was made after.
    published_version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    changed_by_id: Mapped[str] = mapped_column(String(36))
    changed_by_name: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    #: Shift codes of the member's day before and after ("" for a day off; "早+联" if several).
    before_code: Mapped[str] = mapped_column(String(40), default="")
    after_code: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(Text)
