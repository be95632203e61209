"""Document-number blocks (号段) the district grants devices, so that no two devices of a squad
ever issue the same document number (文号), even when they issue offline for weeks.

A register is one (squad, document type, year). Every block the district grants for it starts
after the highest ``last_seq`` of

* every block it granted for that register before (:class:`db.models.NumberBlock`), and
* every ``number_leases`` row of that register the squad's devices pushed — tombstoned ones
  included (their numbers may have been used). A device's own lease from before it was enrolled
  arrives closed at what it used (:func:`app.sync.numbers.close_self_granted`), so the blocks
  after it never cover a number it gave.

Blocks of one register therefore never overlap, and a number is handed out once in the life of
the squad; numbers of different devices interleave, as paper number blocks do.

Concurrency. On PostgreSQL several workers serve at once: grants of one squad are serialised by
an advisory lock held until the transaction ends (:func:`lock_squad_numbers`), taken before the
highest number is read, so the next grant reads what the previous one committed. On SQLite (a
one-machine trial) a second writer cannot commit over a snapshot another writer changed, so a
racing grant fails instead of overlapping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from app.documents.numbering import DOC_TYPES, check_doc_type, register_id_for, type_label
from app.errors import PermissionDenied, ValidationError
from db.models import DistrictDevice, NumberBlock, NumberLease, NumberRegister
from db.models.documents import LAST_SEQ

#: The block size a request gets when it names none.
DEFAULT_WANT = 200
#: The largest block one request gets (a larger ``want`` is cut to it).
MAX_WANT = 5_000
#: At most this many requests in one call (14 types × a few years fits with room to spare).
MAX_REQUESTS = 100
#: The earliest year a block is granted for; the latest is the district's year + 1 (a device
#: asks for next year's blocks in December; device clocks may also run ahead).
MIN_YEAR = 2000
#: First key of the two-key ``pg_advisory_xact_lock`` that serialises one squad's grants ("SDNB").
PG_NUMBER_LOCK = 0x5344_4E42


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _squad_lock_key(squad_id: str) -> int:
    """A signed 32-bit key for the squad (the second key of the two-key advisory lock)."""
    return int.from_bytes(hashlib.sha256(squad_id.encode()).digest()[:4], "big", signed=True)


def lock_squad_numbers(session: Session, squad_id: str) -> None:
    """Serialise number grants of ``squad_id`` until the caller's transaction ends (PostgreSQL;
    on SQLite the database's single writer does it). Whatever stores a squad's ``number_leases``
    rows may take it too, so a grant never reads around a lease being written."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:cls AS integer), CAST(:key AS integer))"),
            {"cls": PG_NUMBER_LOCK, "key": _squad_lock_key(squad_id)},
        )


@dataclass(frozen=True)
class _Request:
    doc_type: str
    year: int
    want: int


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _known_types(session: Session, squad_id: str) -> set[str]:
    """The standard numbered types, and any type the squad has a register of on the server (a
    template the district shipped may bring its own numbered type)."""
    stored = session.scalars(
        select(NumberRegister.doc_type).where(NumberRegister.squad_id == squad_id).distinct()
    )
    return set(DOC_TYPES) | set(stored)


def _parse(session: Session, squad_id: str, requests: Any, now: dt.datetime) -> list[_Request]:
    if not isinstance(requests, Sequence) or isinstance(requests, str | bytes):
        raise ValidationError("文号段申请格式无效：应为申请项的列表。", field="requests")
    if len(requests) > MAX_REQUESTS:
        raise ValidationError(
            f"一次最多申请 {MAX_REQUESTS} 个文号段（收到 {len(requests)} 个），请分批申请。", field="requests"
        )
    known = _known_types(session, squad_id) if requests else set()
    last_year = now.year + 1
    out: list[_Request] = []
    for item in requests:
        if not isinstance(item, Mapping):
            raise ValidationError(
                "文号段申请格式无效：每一项应包含 doc_type、year 和 want。", field="requests"
            )
        raw_type = item.get("doc_type")
        if not isinstance(raw_type, str):
            raise ValidationError("文号段申请缺少文书类型（doc_type）。", field="doc_type")
        code = check_doc_type(raw_type)
        if code not in known:
            raise ValidationError(
                f"文书类型“{raw_type}”不是编号文书，区局不能为它分配文号段。", field="doc_type"
            )
        year = _int(item.get("year"))
        if year is None or not MIN_YEAR <= year <= last_year:
            raise ValidationError(
                f"{type_label(code)}的年份“{item.get('year')}”无效：只能为 {MIN_YEAR}–{last_year} 年"
                "分配文号段。请检查本机的日期。",
                field="year",
            )
        raw_want = item.get("want")
        want = DEFAULT_WANT if raw_want is None else _int(raw_want)
        if want is None or want < 1:
            raise ValidationError(
                f"{type_label(code)}（{year} 年）申请的文号数量“{raw_want}”无效：应为 1–{MAX_WANT} 之间的整数。",
                field="want",
            )
        out.append(_Request(code, year, min(want, MAX_WANT)))
    return out


def highest_seq(session: Session, squad_id: str, doc_type: str, year: int) -> int:
    """The highest number of the register (squad, type, year) any block or lease has covered;
    0 when none has."""
    block_top = session.scalar(
        select(func.max(NumberBlock.last_seq)).where(
            NumberBlock.squad_id == squad_id, NumberBlock.doc_type == doc_type, NumberBlock.year == year
        )
    )
    register_ids = select(NumberRegister.id).where(
        NumberRegister.squad_id == squad_id, NumberRegister.doc_type == doc_type, NumberRegister.year == year
    )
    # Tombstoned leases count too: their numbers may have been used.
    lease_top = session.scalar(
        select(func.max(NumberLease.last_seq)).where(
            NumberLease.squad_id == squad_id,
            or_(
                NumberLease.register_id.in_(register_ids),
                NumberLease.register_id == register_id_for(squad_id, doc_type, year),
            ),
        )
    )
    return max(block_top or 0, lease_top or 0)


def _register_id(session: Session, squad_id: str, doc_type: str, year: int) -> str:
    """The id the squad's register is stored under here, else the one every device derives."""
    stored = session.scalar(
        select(NumberRegister.id)
        .where(
            NumberRegister.squad_id == squad_id,
            NumberRegister.doc_type == doc_type,
            NumberRegister.year == year,
        )
        .limit(1)
    )
    return stored or register_id_for(squad_id, doc_type, year)


def grant_blocks(
    session: Session,
    device: DistrictDevice,
    requests: list[dict[str, Any]],
    *,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Grant ``device`` one block per request ``{doc_type, year, want}``, in the caller's
    transaction: ``[{doc_type, year, first_seq, last_seq, register_id}]``.

    ``want`` defaults to :data:`DEFAULT_WANT` and is cut to :data:`MAX_WANT`. A request is
    validated whole before anything is granted (a Chinese ``ValidationError`` names what is
    wrong). A register whose numbers up to 999999 are all given out gets no block (it is left
    out of the answer; the device then refuses to issue that type rather than guess).
    ``register_id`` is the id the district stores the register under (or the derived one), so a
    device that has not pulled it yet creates it under the same id."""
    if device.revoked_at is not None:
        raise PermissionDenied("本机已被区局停用，不能领取文号段。如有疑问请联系区局。")
    stamp = now or _now()
    items = _parse(session, device.squad_id, requests, stamp)
    if not items:
        return []
    lock_squad_numbers(session, device.squad_id)
    grants: list[dict[str, Any]] = []
    for item in items:
        first = highest_seq(session, device.squad_id, item.doc_type, item.year) + 1
        if first > LAST_SEQ:
            continue
        last = min(first + item.want - 1, LAST_SEQ)
        session.add(
            NumberBlock(
                squad_id=device.squad_id,
                doc_type=item.doc_type,
                year=item.year,
                device_id=device.id,
                first_seq=first,
                last_seq=last,
                granted_at=stamp,
            )
        )
        session.flush()  # the next request of the same register reads this block
        grants.append(
            {
                "doc_type": item.doc_type,
                "year": item.year,
                "first_seq": first,
                "last_seq": last,
                "register_id": _register_id(session, device.squad_id, item.doc_type, item.year),
            }
        )
    return grants


__all__ = [
    "DEFAULT_WANT",
    "MAX_REQUESTS",
    "MAX_WANT",
    "MIN_YEAR",
    "PG_NUMBER_LOCK",
    "grant_blocks",
    "highest_seq",
    "lock_squad_numbers",
]
