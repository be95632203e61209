"""Tables of the district server (区局同步服务) — never synced themselves.

The district's database holds every squad's synced rows in the same tables a squad has, plus
these: the enrolled devices with their public keys, one-time enrollment codes, the server's
change sequence (what devices pull, by a monotonic ``server_seq``, never by wall-clock time),
each device's acknowledged push sequence, the items a push could not apply (kept and shown,
never dropped), the losing versions of conflicting edits, and the nonces of signed requests
(replay protection that does not depend on the device's clock).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigInt


class DistrictSquad(Base):
    """A squad as the district registers it. Until its first device enrolls, ``id`` is the
    district's placeholder; the first device binds it to the squad id that device already uses
    (its data keeps its keys), and every later device must belong to that squad."""

    __tablename__ = "district_squads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    bound_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class DistrictDevice(Base):
    """An enrolled installation: its squad and Ed25519 public key; revoked devices are refused."""

    __tablename__ = "district_devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    squad_id: Mapped[str] = mapped_column(String(36), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    public_key: Mapped[str] = mapped_column(Text)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_seen: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The highest push sequence of this device the server has taken (applied or rejected).
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: sha256 of the last push bundle taken from this device (the next one must chain to it).
    last_bundle_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EnrollmentCode(Base):
    """A one-time code (登记码) the district hands a squad for one device; only its hash is kept."""

    __tablename__ = "district_enrollment_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    squad_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ServerChange(Base):
    """One row version the server took, in the order it took them: what devices pull.

    ``kind`` is ``row`` for a row version, ``conflict`` for the losing version of a conflict (so
    every device of the squad sees it) and ``resolved`` when a clerk resolved one."""

    __tablename__ = "district_changes"
    __table_args__ = (
        UniqueConstraint("device_id", "device_seq", "table_name", "row_id", "kind"),
        Index("ix_district_changes_squad_seq", "squad_id", "server_seq"),
    )
    server_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12), default="row", server_default="row")
    squad_id: Mapped[str] = mapped_column(String(36))
    #: The device that sent it ("" for the district's own releases).
    device_id: Mapped[str] = mapped_column(String(36))
    device_seq: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    hlc: Mapped[str] = mapped_column(String(24))
    payload: Mapped[str] = mapped_column(Text)
    #: The version the change was made on (see app.sync.merge); None for an insert.
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    base_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class PushRejection(Base):
    """A pushed item the server refused (a foreign row, a reference table …), kept with its reason."""

    __tablename__ = "district_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(36), index=True)
    device_seq: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class RequestNonce(Base):
    """Nonces of signed requests already seen: a replayed request is refused."""

    __tablename__ = "district_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class SyncConflict(Base):
    """The losing version of two concurrent edits of one row (kept for a clerk to resolve)."""

    __tablename__ = "sync_conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    squad_id: Mapped[str] = mapped_column(String(36), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    winner_version: Mapped[int] = mapped_column(Integer)
    winner_by: Mapped[str] = mapped_column(String(36))
    loser_version: Mapped[int] = mapped_column(Integer)
    loser_by: Mapped[str] = mapped_column(String(36))
    loser_payload: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: Who resolved it and how: ``winner`` (kept the winning version) or ``loser`` (took the other).
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)


class DistrictRelease(Base):
    """A signed reference-data release (参考数据发布): catalog, benchmarks, thresholds, templates,
    holiday-calendar overrides. ``version`` only grows; a device refuses an older one."""

    __tablename__ = "district_releases"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    #: Canonical JSON of the release body; ``signature`` is the district key's Ed25519 over it.
    payload: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class DistrictSetting(Base):
    """The district server's own settings, e.g. its signing key (shared by every worker)."""

    __tablename__ = "district_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class NumberBlock(Base):
    """A block of document numbers (号段) the district granted one device of a squad for one
    register (document type and year). Blocks of one register never overlap."""

    __tablename__ = "district_number_blocks"
    __table_args__ = (Index("ix_district_number_blocks_register", "squad_id", "doc_type", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    squad_id: Mapped[str] = mapped_column(String(36))
    doc_type: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    device_id: Mapped[str] = mapped_column(String(36))
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DistrictFile(Base):
    """An attachment (content-addressed by sha256) a squad uploaded; the bytes live in the
    server's file folder. Only devices of that squad may fetch it."""

    __tablename__ = "district_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    squad_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    size: Mapped[int] = mapped_column(BigInt)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
