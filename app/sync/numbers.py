"""Document-number blocks (号段) on the device: closing the self-granted blocks at enrolment,
asking the district for new blocks before the device runs short, and installing what it grants.

The plan is the one in :mod:`db.models.documents`. In a sync, the client

1. at enrolment, before its first push, calls :func:`close_self_granted` (in the same
   transaction it marks the device enrolled, so it never grants itself a block again);
2. pushes its outbox — the district must hold the closed leases before it grants anything —
   and pulls (so registers other devices opened arrive before this device would create them);
3. sends :func:`lease_requests` to ``POST /v1/leases`` and stores the answer's grants with
   :func:`install_grants`.

Every function here runs in the caller's unit of work on the device's database.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.numbering import (
    DOC_TYPES,
    ENROLLED_KEY,
    check_doc_type,
    ensure_register,
    grant_lease,
    is_enrolled,
)
from app.errors import SetupRequired, ValidationError
from db.models import LocalMeta, NumberLease, NumberRegister
from db.models.documents import LeaseSource

#: Ask for a new block when fewer numbers than this are left on this device (per register).
LOW_WATER = 50
#: … or fewer than this many days of this device's recent use.
LOW_WATER_DAYS = 14
#: A new block should last this many days of the device's use this year, offline.
BLOCK_DAYS = 60
#: The smallest and largest block asked for (the district cuts larger asks to its own maximum).
MIN_WANT = 200
MAX_WANT = 5_000

__all__ = [
    "BLOCK_DAYS",
    "LOW_WATER",
    "LOW_WATER_DAYS",
    "MAX_WANT",
    "MIN_WANT",
    "ClosedLease",
    "close_self_granted",
    "install_grants",
    "is_enrolled",
    "lease_requests",
    "mark_enrolled",
]


@dataclass(frozen=True)
class ClosedLease:
    """A self-granted block closed at enrolment: ``last_seq`` is the last number it gave
    (``first_seq - 1`` when it gave none; such a block is tombstoned)."""

    register_id: str
    doc_type: str
    year: int
    first_seq: int
    last_seq: int
    tombstoned: bool


def mark_enrolled(session: Session) -> None:
    """Record that this device is enrolled: from now on it never grants itself a block."""
    row = session.get(LocalMeta, ENROLLED_KEY)
    if row is None:
        session.add(LocalMeta(key=ENROLLED_KEY, value="1"))
    else:
        row.value = "1"
    session.flush()


def close_self_granted(session: Session, device_id: str) -> list[ClosedLease]:
    """At enrolment: close each block this device granted itself (``source = "device"``) at what
    it has used — ``last_seq = next_seq - 1`` — and tombstone one that gave no number. Marks the
    device enrolled in the same transaction (:func:`mark_enrolled`). Idempotent.

    Call it before the first push: the district grants blocks after the highest ``last_seq`` it
    holds, so a lease pushed still open over the whole range would use the register up."""
    rows = session.execute(
        select(NumberLease, NumberRegister.doc_type, NumberRegister.year)
        .join(NumberRegister, NumberRegister.id == NumberLease.register_id)
        .where(
            NumberLease.device_id == device_id,
            NumberLease.source == LeaseSource.DEVICE.value,
            NumberLease.last_seq >= NumberLease.next_seq,  # still open
        )
        .order_by(NumberRegister.year, NumberRegister.doc_type, NumberLease.first_seq)
    ).all()
    closed: list[ClosedLease] = []
    for lease, doc_type, year in rows:
        lease.last_seq = lease.next_seq - 1  # the guard allows shrinking to what was taken
        unused = lease.last_seq < lease.first_seq
        if unused:
            lease.deleted = True
        closed.append(ClosedLease(lease.register_id, doc_type, year, lease.first_seq, lease.last_seq, unused))
    session.flush()
    mark_enrolled(session)
    return closed


def _squad_id(session: Session) -> str:
    squad_id = session.info.get("squad_id")
    if not squad_id:
        raise SetupRequired("尚未完成初始设置，不能领取文号段。请先运行首次设置向导。")
    return str(squad_id)


def _years(today: dt.date) -> list[int]:
    """The years to hold blocks for: this year, and next year during December (a device that
    goes offline over New Year needs the new year's numbers)."""
    return [today.year, today.year + 1] if today.month == 12 else [today.year]


def lease_requests(session: Session, device_id: str, today: dt.date) -> list[dict[str, Any]]:
    """The blocks to ask the district for: ``[{doc_type, year, want}]``, one per register whose
    free numbers on this device are below the low-water mark — every type of
    :data:`~app.documents.numbering.DOC_TYPES` and every other register the squad has, for this
    year (and next year in December; in January also last year's registers this device numbered
    from). ``want`` covers :data:`BLOCK_DAYS` of this device's use of the type this year, at least
    :data:`MIN_WANT`."""
    squad_id = _squad_id(session)
    years = _years(today)
    targets: dict[tuple[str, int], None] = {(code, year): None for year in years for code in DOC_TYPES}
    registers = session.execute(
        select(NumberRegister.id, NumberRegister.doc_type, NumberRegister.year)
        .where(
            NumberRegister.squad_id == squad_id,
            NumberRegister.deleted.is_(False),
            NumberRegister.year.between(today.year - 1, max(years)),
        )
        .order_by(NumberRegister.year, NumberRegister.doc_type)
    ).all()
    by_key = {(doc_type, year): register_id for register_id, doc_type, year in registers}
    leases = session.execute(
        select(
            NumberLease.register_id, NumberLease.first_seq, NumberLease.last_seq, NumberLease.next_seq
        ).where(
            NumberLease.register_id.in_(list(by_key.values())),
            NumberLease.device_id == device_id,
            NumberLease.deleted.is_(False),
        )
    ).all()
    free: dict[str, int] = {}
    used: dict[str, int] = {}
    for register_id, first, last, next_seq in leases:
        free[register_id] = free.get(register_id, 0) + max(0, last - next_seq + 1)
        used[register_id] = used.get(register_id, 0) + max(0, min(next_seq, last + 1) - first)
    for doc_type, year in by_key:
        if year in years:
            targets[(doc_type, year)] = None
        elif today.month == 1 and used.get(by_key[(doc_type, year)], 0) > 0:
            targets[(doc_type, year)] = None  # last year's paperwork, finished in January
    days = (today - dt.date(today.year, 1, 1)).days + 1
    out: list[dict[str, Any]] = []
    for doc_type, year in sorted(targets, key=lambda key: (key[1], key[0])):
        left = free.get(by_key.get((doc_type, year), ""), 0)
        # Numbers a day this device took of the type this year.
        rate = used.get(by_key.get((doc_type, today.year), ""), 0) / days
        if left >= max(LOW_WATER, math.ceil(rate * LOW_WATER_DAYS)):
            continue
        want = min(MAX_WANT, max(MIN_WANT, math.ceil(rate * BLOCK_DAYS)))
        out.append({"doc_type": doc_type, "year": year, "want": want})
    return out


def _grant_int(grant: Mapping[str, Any], key: str) -> int:
    value = grant.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"区局发来的文号段无效（{key}={value!r}），未予保存。请重新同步。")
    return value


def _grant_register_id(grant: Mapping[str, Any]) -> str | None:
    value = grant.get("register_id")
    if value is None:
        return None
    try:
        if isinstance(value, str) and str(uuid.UUID(value)) == value.lower():
            return value
    except ValueError:
        pass
    raise ValidationError(f"区局发来的文号段无效（register_id={value!r}），未予保存。请重新同步。")


def install_grants(
    session: Session, device_id: str, grants: Iterable[Mapping[str, Any]]
) -> list[NumberLease]:
    """Store the district's grants ``[{doc_type, year, first_seq, last_seq[, register_id]}]`` as
    this device's leases (``source = "district"``), creating a missing register under the id the
    district names (else the derived one, :func:`~app.documents.numbering.register_id_for`).

    A grant already stored (the same block of the same register for this device) is skipped, so
    an answer applied twice changes nothing; a grant overlapping any other lease is refused
    (``ConflictError``) — it would mean the district did not know of numbers already used.
    Returns the leases created."""
    created: list[NumberLease] = []
    for grant in grants:
        raw_type = grant.get("doc_type")
        if not isinstance(raw_type, str):
            raise ValidationError(f"区局发来的文号段无效（doc_type={raw_type!r}），未予保存。请重新同步。")
        doc_type = check_doc_type(raw_type)
        year = _grant_int(grant, "year")
        first, last = _grant_int(grant, "first_seq"), _grant_int(grant, "last_seq")
        register = ensure_register(session, doc_type, year, register_id=_grant_register_id(grant))
        same = session.scalar(
            select(NumberLease.id)
            .where(
                NumberLease.register_id == register.id,
                NumberLease.device_id == device_id,
                NumberLease.first_seq == first,
                NumberLease.last_seq == last,
            )
            .limit(1)
        )
        if same is not None:
            continue
        created.append(grant_lease(session, register.id, device_id, first, last, LeaseSource.DISTRICT))
    return created
