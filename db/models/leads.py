"""Leads (案源): where a case comes from, registered in the squad's lead register
(案件来源登记表) with its photos, then triaged into a case, a transfer out, or closing."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Synced


class LeadSource(StrEnum):
    PATROL = "patrol"  # 巡查发现
    COMPLAINT = "complaint"  # 群众投诉举报
    HOTLINE_12345 = "hotline_12345"  # 12345热线
    GRID = "grid"  # 网格上报
    ASSIGNED = "assigned"  # 上级交办
    TRANSFER_IN = "transfer_in"  # 部门移送
    MEDIA = "media"  # 媒体曝光


class LeadStatus(StrEnum):
    REGISTERED = "registered"  # 待处置
    TRANSFERRED_OUT = "transferred_out"  # 已移送
    CLOSED = "closed"  # 不予立案已结
    FILED = "filed"  # 已立案 — set by the cases module when a case is filed from the lead


class Lead(Synced):
    """One lead. Its number 案源〔2026〕第0012号 is unique per squad and year and never reused.

    The next number is computed from ``number_year`` / ``number_seq`` inside the registering
    transaction (write transactions hold SQLite's write lock from BEGIN, so no two registrations
    on one device can take the same number). Several offline devices of one squad would still
    collide; sync will hand each device a block of numbers to issue from (as for document
    numbers, see DESIGN.md) — the unique constraint is the last guard until then.
    """

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("squad_id", "number_year", "number_seq"),)
    label_zh = "案源"
    number: Mapped[str] = mapped_column(String(40), index=True)
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    #: A reference the source gave the lead: 12345 work-order number, an assignment's 文号.
    source_ref: Mapped[str] = mapped_column(String(60), default="")
    reporter_name: Mapped[str] = mapped_column(String(50), default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200))
    grid_zone: Mapped[str] = mapped_column(String(50), default="")
    occurred_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    description: Mapped[str] = mapped_column(Text)
    #: Who registered it (user id and name as printed on the register; no foreign key, so the
    #: program itself — the demo, an import — can register too).
    registered_by_id: Mapped[str] = mapped_column(String(36), default="")
    registered_by_name: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default=LeadStatus.REGISTERED.value)
    triaged_by_id: Mapped[str] = mapped_column(String(36), default="")
    triaged_by_name: Mapped[str] = mapped_column(String(64), default="")
    triaged_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    triage_reason: Mapped[str] = mapped_column(Text, default="")
    #: 接收部门 of a transfer out.
    transferred_to: Mapped[str] = mapped_column(String(100), default="")


class LeadPhoto(Synced):
    """A photo of a lead: the file lives in the content-addressed store under ``sha256``."""

    __tablename__ = "lead_photos"
    label_zh = "案源照片"
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
