"""Tables every installation has: device metadata, change log, audit log, squad, users, calendar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, Synced


class LocalMeta(Base):
    """Key/value facts about this installation (device id, squad id). Never synced."""

    __tablename__ = "local_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChangeLogEntry(Base):
    """One insert/update/tombstone of a synced row, written by the flush hook in the same
    transaction as the change. ``seq`` is this device's push sequence."""

    __tablename__ = "change_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    op: Mapped[str] = mapped_column(String(8))  # insert | update | delete
    version: Mapped[int] = mapped_column(Integer)
    hlc: Mapped[str] = mapped_column(String(24))
    device_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[str] = mapped_column(Text)  # the whole row as JSON
    #: The version this change was made on (``version`` and ``updated_by`` of the row before it);
    #: None for an insert. Sync applies a change without a conflict only on top of that version.
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    base_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class AuditEntry(Base):
    """全过程记录: append-only, each entry holds the hash of the one before (see app.audit)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(32))  # local wall time, ISO 8601 with offset
    user_name: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Squad(Synced):
    """The squad (中队) this installation belongs to, and its enforcing body (执法主体)."""

    __tablename__ = "squads"
    label_zh = "中队"
    name: Mapped[str] = mapped_column(String(100))
    enforcing_body: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(12))
    doc_prefix: Mapped[str] = mapped_column(String(20))


class User(Synced):
    """A login: role, argon2 password hash, lockout state."""

    __tablename__ = "users"
    label_zh = "用户"
    username: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200), info={"secret": True})
    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_login: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class CalendarOverride(Synced):
    """A local correction of the national holiday calendar; the district will ship these."""

    __tablename__ = "calendar_overrides"
    label_zh = "节假日调整"
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(64), default="")
