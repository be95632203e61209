"""Personnel and certificate ledger tables (人员与执法证台账)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Synced


class StaffCategory(StrEnum):
    CIVIL_SERVANT = "civil_servant"  # 行政执法类公务员
    CAREER = "career"  # 参公/事业编（执法岗位）
    AUXILIARY = "auxiliary"  # 辅助人员 — never enforces
    POLICE = "police"  # 公安民警（联勤） — never counts as a squad enforcement officer


class MemberStatus(StrEnum):
    ON_DUTY = "on_duty"  # 在岗
    ON_LEAVE = "on_leave"  # 休假
    SECONDED = "seconded"  # 借调
    LEFT = "left"  # 离岗


class CertificateKind(StrEnum):
    ENFORCEMENT = "enforcement"  # 行政执法证
    LEGAL = "legal"  # 法律职业资格证书
    OTHER = "other"


class CertificateState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    SUSPENDED = "suspended"  # 暂扣
    REVOKED = "revoked"  # 注销
    LOST = "lost"  # 挂失


class Member(Synced):
    __tablename__ = "members"
    label_zh = "队员"
    name: Mapped[str] = mapped_column(String(50))
    name_initials: Mapped[str] = mapped_column(String(50), index=True, default="")
    gender: Mapped[str] = mapped_column(String(2), default="")
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    category: Mapped[str] = mapped_column(String(16))
    position: Mapped[str] = mapped_column(String(50), default="")
    unit: Mapped[str] = mapped_column(String(50), default="")
    join_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ON_DUTY.value)
    legal_qualification_no: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Certificate(Synced):
    __tablename__ = "certificates"
    label_zh = "证件"
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(60), index=True)
    issuer: Mapped[str] = mapped_column(String(100), default="")
    scope: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=CertificateState.VALID.value)
    note: Mapped[str] = mapped_column(Text, default="")


class CertificateReview(Synced):
    """年审 — an annual review of a certificate."""

    __tablename__ = "certificate_reviews"
    label_zh = "年审记录"
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), index=True)
    review_date: Mapped[dt.date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(Text, default="")


class CertificateEvent(Synced):
    """History of a certificate: issued, renewed, state changes — kept, never rewritten."""

    __tablename__ = "certificate_events"
    label_zh = "证件履历"
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # issued | renewed | state | edited
    old_state: Mapped[str] = mapped_column(String(16), default="")
    new_state: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class TrainingRecord(Synced):
    __tablename__ = "training_records"
    label_zh = "培训记录"
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    course: Mapped[str] = mapped_column(String(100))
    hours: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16), default="on_job")
    organizer: Mapped[str] = mapped_column(String(100), default="")
