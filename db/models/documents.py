"""The number register (文号登记簿) and the documents a squad has issued (已出具文书).

A document number such as 车综执罚决字〔2026〕第12号 is unique per squad, document type and year,
never reused, and a voided number stays voided (DOMAIN.md). Three tables carry that:

``NumberRegister``
    One per (squad, document type, year): the number pattern (``{prefix}罚决字〔{year}〕第{seq}号``)
    and the zero-padding width of ``{seq}``. It holds no counter, so issuing never rewrites it:
    a register row changes only when a clerk changes its pattern.

``NumberLease`` — 号段
    A block ``[first_seq, last_seq]`` of one register's sequence, held by one device, with the
    block's next free number ``next_seq``. A number is taken by moving ``next_seq`` forward inside
    a write transaction (SQLite's BEGIN IMMEDIATE serialises writers), so two threads or two
    programs on one data folder never take the same number, and a rolled-back transaction gives
    its number back (no gap). Only the holding device ever writes its lease, so the counter never
    becomes a sync conflict. Leases of one register never overlap, and ``next_seq`` only moves
    forward (see the guard below), so a number is handed out once in the life of the squad.

    Until sync exists, the first device that needs a number of a register grants itself one lease
    over the whole range (``source = "device"``, 1 … 999999). The sync issue hands out smaller
    blocks without changing this table:

    * at enrolment, the sync client closes each self-granted lease at what it has used — it sets
      ``last_seq = next_seq - 1`` (allowed by the guard: ``last_seq`` may shrink, never below what
      was taken) — before its first push;
    * from then on only the district grants leases (``source = "district"``): new rows for the
      receiving device, each starting after the highest ``last_seq`` of the register's leases
      (tombstoned ones included: their numbers may have been used), so blocks never overlap; a
      device that is offline for weeks is given a block large enough for them, and asks for the
      next one when it syncs;
    * a device takes numbers from its own leases in ``first_seq`` order, and when all are used up
      it refuses to issue ("本机的文号段已用完，请与区局同步领取新的文号段") rather than guess;
    * numbers of different devices then interleave: the register is unique and never reused,
      but not necessarily in date order, which is how paper number blocks (号段) work too.

``IssuedDocument``
    One issued document: its number, the data snapshot it was drawn from (JSON), the PDF in the
    content-addressed store (sha256), who issued it and when. An issued document is immutable:
    the only change allowed is voiding it (作废: status, who, when and the reason), and a voided
    one is final. A correction voids the old document and issues a new one with ``replaces_id``
    pointing at it; both stay in the register. The unique constraint on (squad, type, year, seq)
    makes a second issue of one number impossible even if a lease were ever wrong.

The immutability and lease rules are enforced at flush time by mapper listeners on the models
themselves, so they hold for every session — service, command line, or a future sync applier.
(Bulk ``update()`` statements bypass mapper events; no code writes these tables that way.)
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Mapper, attributes, mapped_column

from db.base import BigInt, Synced

#: The whole sequence of a register: what a device grants itself until sync exists.
FIRST_SEQ = 1
LAST_SEQ = 999_999


class DocumentStatus(StrEnum):
    ISSUED = "issued"  # 已出具
    VOIDED = "voided"  # 已作废


class LeaseSource(StrEnum):
    DEVICE = "device"  # granted by the device to itself (no sync yet)
    DISTRICT = "district"  # handed out by the district through sync


class NumberRegister(Synced):
    """文号登记簿: the numbering of one document type in one year of one squad."""

    __tablename__ = "number_registers"
    __table_args__ = (UniqueConstraint("squad_id", "doc_type", "year"),)
    label_zh = "文号登记簿"
    doc_type: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    #: ``{prefix}`` (the squad's 文号前缀), ``{year}`` and ``{seq}``, e.g. ``{prefix}罚决字〔{year}〕第{seq}号``.
    pattern: Mapped[str] = mapped_column(String(100))
    #: Zero-pad ``{seq}`` to this many digits (0: no padding; 4 gives 第0012号).
    seq_width: Mapped[int] = mapped_column(Integer, default=0)


class NumberLease(Synced):
    """号段: a block of a register's numbers held by one device (see the module docstring)."""

    __tablename__ = "number_leases"
    # A device finds its own blocks of a register, in order, from this index alone; it also
    # serves the register's foreign key.
    __table_args__ = (Index("ix_number_leases_holder", "register_id", "device_id", "first_seq"),)
    label_zh = "文号段"
    register_id: Mapped[str] = mapped_column(ForeignKey("number_registers.id"))
    device_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(16), default=LeaseSource.DEVICE.value)
    first_seq: Mapped[int] = mapped_column(Integer, active_history=True)
    last_seq: Mapped[int] = mapped_column(Integer, active_history=True)
    #: The next number this block will give; ``last_seq + 1`` when it is used up.
    next_seq: Mapped[int] = mapped_column(Integer, active_history=True)


class IssuedDocument(Synced):
    """An issued document (已出具文书): immutable once issued, except for being voided."""

    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("squad_id", "doc_type", "year", "seq"),)
    label_zh = "已出具文书"
    #: None for a document outside any case.
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    register_id: Mapped[str] = mapped_column(ForeignKey("number_registers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(100), index=True)
    #: ``active_history``: the guard below compares with the stored value even if it was expired.
    status: Mapped[str] = mapped_column(String(16), active_history=True)
    #: The date the document bears (成文日期).
    issued_on: Mapped[dt.date] = mapped_column(Date)
    #: The data the PDF was drawn from, as JSON: what the document said, whatever changes later.
    snapshot: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(BigInt)
    pages: Mapped[int] = mapped_column(Integer)
    issued_by_id: Mapped[str] = mapped_column(String(36))
    issued_by_name: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    voided_by_id: Mapped[str] = mapped_column(String(36), default="")
    voided_by_name: Mapped[str] = mapped_column(String(64), default="")
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    #: The voided document this one corrects (重新出具). A plain id, checked by the service: the
    #: voided document always exists before its correction, on every device.
    replaces_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)


# ---- flush-time guards ------------------------------------------------------------------------


class ImmutableRowError(RuntimeError):
    """Raised at flush when code changes an issued document or winds a number lease back.

    Services refuse such changes first with a message a clerk can read; this is the backstop."""


#: Kept up to date by the flush hook on every change; never a change of content.
_BOOKKEEPING = frozenset({"version", "updated_at", "updated_by"})
#: What voiding an issued document may set (together with ``status``).
_VOID_FIELDS = frozenset({"status", "voided_by_id", "voided_by_name", "voided_at", "void_reason"})
_GUARDED_STATES = frozenset({DocumentStatus.ISSUED.value, DocumentStatus.VOIDED.value})


def _changes(target: Any) -> dict[str, tuple[Any, Any]]:
    """Column attributes changed in this flush: key → (committed value, new value)."""
    out: dict[str, tuple[Any, Any]] = {}
    state = inspect(target)
    for attr in state.mapper.column_attrs:
        hist = attributes.get_history(target, attr.key, passive=attributes.PASSIVE_NO_INITIALIZE)
        if hist.added or hist.deleted:
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                out[attr.key] = (old, new)
    return out


@event.listens_for(IssuedDocument, "before_update")
def _issued_documents_are_immutable(_mapper: Mapper[Any], _conn: Any, target: IssuedDocument) -> None:
    changes = _changes(target)
    old_status = changes["status"][0] if "status" in changes else target.status
    if old_status not in _GUARDED_STATES:
        # A state the services never write. An issued row changing its status has old_status
        # issued, so no row leaves the guard this way.
        return
    content = set(changes) - _BOOKKEEPING
    if not content:
        return
    voiding = (
        old_status == DocumentStatus.ISSUED.value
        and target.status == DocumentStatus.VOIDED.value
        and content <= _VOID_FIELDS
    )
    if not voiding:
        raise ImmutableRowError(
            f"issued document {target.number} is immutable (status {old_status}); "
            f"refused change of {sorted(content)}: void it and issue a new one"
        )


@event.listens_for(NumberLease, "before_update")
def _leases_only_move_forward(_mapper: Mapper[Any], _conn: Any, target: NumberLease) -> None:
    changes = _changes(target)
    for key in ("register_id", "first_seq"):
        if key in changes:
            raise ImmutableRowError(f"number lease {target.id}: {key} never changes")
    old_next = changes["next_seq"][0] if "next_seq" in changes else target.next_seq
    if target.next_seq < old_next:
        raise ImmutableRowError(
            f"number lease {target.id}: next_seq may not go back from {old_next} to {target.next_seq}"
        )
    if "last_seq" in changes:
        old_last, new_last = changes["last_seq"]
        if new_last > old_last or new_last < target.next_seq - 1:
            raise ImmutableRowError(
                f"number lease {target.id}: last_seq may only shrink to what is used "
                f"({old_last} → {new_last}, next {target.next_seq})"
            )
