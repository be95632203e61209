"""The district server's rules (区局同步服务), independent of HTTP: squads and enrollment codes,
device enrollment, taking a device's pushed change-log batch, and handing a device what it has
not yet pulled.

Everything here runs in the caller's Session on the district's database (a plain session: the
device-side flush hook must not stamp or log what the server stores — the rows arrive stamped).
Rows are written with Core statements so that their ``version`` is stored as sent, and every
UPDATE is a compare-and-set on the version the server read.

Rules the server keeps whatever a device sends:

* the squad of a device is the one it enrolled for — never taken from a payload; every incoming
  row and the stored row it would overwrite must belong to it;
* reference tables (the catalog, benchmarks, thresholds, calendar overrides) change only through
  district releases;
* a batch is idempotent by (device, sequence): what was taken before is skipped, and the answer
  is the highest sequence taken; a refused item is stored with its reason and acknowledged, so
  the device's queue never wedges on it;
* concurrent edits of one row keep both versions (the rule is :mod:`app.sync.merge`): the winner
  is the higher version, then the greater device id — the same answer in whatever order the
  edits arrive, never asking a wall clock; the loser is kept in ``sync_conflicts`` and handed to
  every device of the squad as a ``conflict`` change.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import operator
import secrets
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import String, Table, any_, bindparam, func, insert, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.errors import ConflictError, DomainError, NotFoundError, PermissionDenied, ValidationError
from app.sync.merge import Outcome, Stamp, base_of, decide, same_content, stamp
from app.sync.protocol import PULL_LIMIT
from db.base import Base, Synced, synced_tables
from db.ids import new_id
from db.models import (
    DistrictDevice,
    DistrictSquad,
    EnrollmentCode,
    PushRejection,
    RequestNonce,
    ServerChange,
    SyncConflict,
)
from db.serialize import dumps, from_plain, plain_values

#: Tables only a district release may change.
REFERENCE_TABLES = frozenset(
    {"reference_releases", "reference_items", "reference_tiers", "reference_thresholds", "calendar_overrides"}
)
#: How long an enrollment code stays usable.
CODE_VALID = dt.timedelta(days=7)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@functools.cache
def _tables() -> dict[str, type[Synced]]:
    return {cls.__tablename__: cls for cls in synced_tables()}


@functools.cache
def _table_order() -> dict[str, int]:
    """Each table's place in foreign-key order (parents first)."""
    return {table.name: index for index, table in enumerate(Base.metadata.sorted_tables)}


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


# ---- squads, codes, devices --------------------------------------------------------------------


@dataclass(frozen=True)
class SquadView:
    id: str
    name: str
    bound: bool
    devices: int


def create_squad(session: Session, name: str) -> SquadView:
    name = name.strip()
    if not name:
        raise ValidationError("请填写中队名称。", field="name")
    if session.scalar(select(DistrictSquad).where(DistrictSquad.name == name)) is not None:
        raise ValidationError(f"中队“{name}”已登记。", field="name")
    row = DistrictSquad(id=new_id(), name=name, created_at=_now())
    session.add(row)
    session.flush()
    return SquadView(row.id, row.name, False, 0)


def list_squads(session: Session) -> list[SquadView]:
    counts = dict(
        session.execute(select(DistrictDevice.squad_id, func.count()).group_by(DistrictDevice.squad_id)).all()
    )
    rows = session.scalars(select(DistrictSquad).order_by(DistrictSquad.name))
    return [SquadView(r.id, r.name, r.bound_at is not None, int(counts.get(r.id, 0))) for r in rows]


def _squad(session: Session, squad: str) -> DistrictSquad:
    row = session.get(DistrictSquad, squad) or session.scalar(
        select(DistrictSquad).where(DistrictSquad.name == squad)
    )
    if row is None:
        raise NotFoundError(f"找不到中队“{squad}”，请先用 create-squad 登记。")
    return row


def issue_code(session: Session, squad: str, now: dt.datetime | None = None) -> str:
    """A one-time enrollment code (登记码) for one device of ``squad`` (id or name)."""
    row = _squad(session, squad)
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
    stamp = now or _now()
    session.add(
        EnrollmentCode(
            code_hash=code_hash(code), squad_id=row.id, created_at=stamp, expires_at=stamp + CODE_VALID
        )
    )
    session.flush()
    return code


@dataclass(frozen=True)
class Enrolled:
    device_id: str
    squad_id: str
    squad_name: str


def enroll(
    session: Session,
    code: str,
    device_id: str,
    public_key: str,
    local_squad_id: str | None,
    label: str = "",
    now: dt.datetime | None = None,
) -> Enrolled:
    """Register ``device_id`` with its public key for the squad the code was issued for.

    The first device of a squad binds the district's squad to the squad id it already uses, so
    its data keeps its keys; a later device must already belong to that squad (or have none yet
    and take it)."""
    stamp = now or _now()
    known = session.get(DistrictDevice, device_id)
    if known is not None:
        if known.public_key == public_key and known.revoked_at is None:
            # The same device asking again — its first answer was lost on the way (the network
            # dropped after the district committed): the same answer, so it can finish enrolling.
            squad = _squad(session, known.squad_id)
            return Enrolled(known.id, squad.id, squad.name)
        raise ValidationError("本机已经登记过（或已被停用），不能再次登记。如需重新登记，请联系区局。")
    entry = session.get(EnrollmentCode, code_hash(code))
    if entry is None or entry.used_by is not None or entry.expires_at < stamp:
        raise PermissionDenied("登记码无效、已用过或已过期，请向区局重新申请登记码。")
    squad = _squad(session, entry.squad_id)
    if squad.bound_at is None and local_squad_id and local_squad_id != squad.id:
        squad = _rebind_squad(session, squad, local_squad_id)
    elif local_squad_id and local_squad_id != squad.id:
        raise PermissionDenied(
            f"本机的数据属于另一个中队，不能登记为“{squad.name}”的设备。请确认登记码，或在新安装的电脑上登记。"
        )
    squad.bound_at = squad.bound_at or stamp
    entry.used_by, entry.used_at = device_id, stamp
    session.add(
        DistrictDevice(id=device_id, squad_id=squad.id, label=label, public_key=public_key, enrolled_at=stamp)
    )
    session.flush()
    return Enrolled(device_id, squad.id, squad.name)


def _rebind_squad(session: Session, squad: DistrictSquad, new_id_: str) -> DistrictSquad:
    if session.get(DistrictSquad, new_id_) is not None:
        raise PermissionDenied("本机的中队已在区局以另一名称登记，请使用那个中队的登记码。")
    old = squad.id
    session.execute(update(EnrollmentCode).where(EnrollmentCode.squad_id == old).values(squad_id=new_id_))
    session.execute(update(DistrictSquad).where(DistrictSquad.id == old).values(id=new_id_))
    session.expunge(squad)
    return _squad(session, new_id_)


@dataclass(frozen=True)
class DeviceView:
    id: str
    squad_id: str
    label: str
    enrolled_at: dt.datetime
    revoked: bool
    acked_seq: int
    last_seen: dt.datetime | None


def list_devices(session: Session) -> list[DeviceView]:
    rows = session.scalars(
        select(DistrictDevice).order_by(DistrictDevice.squad_id, DistrictDevice.enrolled_at)
    )
    return [
        DeviceView(
            r.id, r.squad_id, r.label, r.enrolled_at, r.revoked_at is not None, r.acked_seq, r.last_seen
        )
        for r in rows
    ]


def revoke_device(session: Session, device_id: str, now: dt.datetime | None = None) -> None:
    row = session.get(DistrictDevice, device_id)
    if row is None:
        raise NotFoundError(f"找不到设备 {device_id}。")
    row.revoked_at = row.revoked_at or now or _now()


def device_for_request(
    session: Session, device_id: str, nonce: str, now: dt.datetime | None = None
) -> DistrictDevice:
    """The enrolled, unrevoked device a signed request comes from; its nonce is recorded so the
    same request cannot be replayed."""
    device = session.get(DistrictDevice, device_id)
    if device is None:
        raise PermissionDenied("本机尚未在区局登记，请先用登记码登记。")
    if device.revoked_at is not None:
        raise PermissionDenied("本机已被区局停用，不能再同步。如有疑问请联系区局。")
    if session.get(RequestNonce, nonce) is not None:
        raise PermissionDenied("重复的同步请求已被拒绝。")
    stamp = now or _now()
    session.add(RequestNonce(nonce=nonce, device_id=device_id, at=stamp))
    device.last_seen = stamp
    return device


# ---- push ----------------------------------------------------------------------------------------

#: pg_advisory_xact_lock class key of a squad's change stream (the second key is from its id).
PG_SQUAD_LOCK = 0x5344_5351  # "SDSQ"


class PushGap(DomainError):
    """A batch starting after the next sequence the server expects: the device resends from
    ``acked_seq + 1``."""

    def __init__(self, acked_seq: int) -> None:
        super().__init__(f"同步批次不连续：区局已收到第 {acked_seq} 条，请从第 {acked_seq + 1} 条起重发。")
        self.acked_seq = acked_seq


@dataclass(frozen=True)
class PushResult:
    acked_seq: int
    applied: int
    rejected: int
    conflicts: int
    skipped: int
    #: The refused items, {seq, table, row_id, reason}, so the device can show them.
    rejections: tuple[dict[str, Any], ...] = ()


def lock_squad_stream(session: Session, squad_id: str) -> None:
    """Make this transaction the only one writing ``squad_id``'s change stream until it ends.

    On PostgreSQL workers run side by side, and a server sequence number is drawn when a row is
    inserted, not when its transaction commits: without this lock a device could pull number
    105 while 100 is still uncommitted, and move its cursor past 100 for good. Holding one lock
    per squad from before the first number is drawn until commit makes the numbers of a squad
    become visible in order. (SQLite's write transactions take turns anyway.)"""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        key = int(hashlib.sha256(squad_id.encode()).hexdigest()[:7], 16)
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": PG_SQUAD_LOCK, "b": key})


@dataclass
class _Row:
    """What the server holds of one row while a batch is taken."""

    stored: dict[str, Any] | None  # the row as stored before the batch (None: not there)
    current: dict[str, Any] | None = None  # its values after the batch so far
    changed: bool = False


#: The columns of a server change, in the order :class:`_ChangeStream` takes them.
CHANGE_COLUMNS = (
    "kind",
    "squad_id",
    "device_id",
    "device_seq",
    "table_name",
    "row_id",
    "version",
    "hlc",
    "payload",
    "base_version",
    "base_by",
)


class _ChangeStream:
    """Where the row versions a batch takes go as they are decided: the server's change
    sequence (``district_changes``).

    On PostgreSQL it is a COPY opened before the batch's entries are taken, so that the
    database stores the change sequence while Python is still deciding the rest of the batch
    (the two would otherwise take turns); elsewhere, and for a handful of changes, the changes
    are collected and inserted at the end. Nothing else may use the connection while it is open.
    """

    def __init__(self, session: Session, expected: int) -> None:
        self._conn = session.connection()
        self._pending: list[tuple[Any, ...]] = []
        self._stack = ExitStack()
        self._copy: Any = None
        if _copies(session, expected):
            self._copy = self._stack.enter_context(_copy_into(session, "district_changes", CHANGE_COLUMNS))

    def write(self, change: tuple[Any, ...]) -> None:
        if self._copy is not None:
            self._copy.write_row(change)
        else:
            self._pending.append(change)

    def close(self, failed: BaseException | None = None) -> None:
        """Finish the COPY (or abort it when ``failed``), or insert what was collected."""
        if failed is not None:
            self._stack.__exit__(type(failed), failed, failed.__traceback__)
            return
        self._stack.close()
        if self._pending:
            self._conn.execute(
                insert(ServerChange), [dict(zip(CHANGE_COLUMNS, c, strict=True)) for c in self._pending]
            )


@dataclass
class _Batch:
    device: DistrictDevice
    rows: dict[tuple[str, str], _Row]
    changes: _ChangeStream
    conflicts: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    #: New rows may keep their dates as ISO text (PostgreSQL parses them; see _insert_many).
    plain: bool = False


def push(
    session: Session,
    device: DistrictDevice,
    entries: Sequence[dict[str, Any]],
    seq_from: int | None = None,
    seq_to: int | None = None,
    resolved: Sequence[dict[str, Any]] = (),
) -> PushResult:
    """Take one batch of a device's change log in the caller's transaction.

    The batch covers the sequence numbers ``seq_from`` … ``seq_to`` (by default those of its
    entries); numbers in the range without an entry are ones the device does not send (its copy
    of reference data). What the server took before (at or below the device's acknowledged
    sequence) is skipped, so a batch sent twice is taken once; a batch starting after the next
    expected number is refused (:class:`PushGap`) and nothing is taken. ``resolved`` names
    conflicts a clerk resolved on the device."""
    ordered = sorted(entries, key=lambda e: int(e["seq"]))
    if seq_from is None:
        seq_from = int(ordered[0]["seq"]) if ordered else device.acked_seq + 1
    if seq_to is None:
        seq_to = int(ordered[-1]["seq"]) if ordered else device.acked_seq
    if any(not seq_from <= int(e["seq"]) <= seq_to for e in ordered):
        raise ValidationError("同步批次的序号超出它声明的范围，区局拒收。请升级本机的 SquadDesk 后重试。")
    lock_squad_stream(session, device.squad_id)
    # Re-read under the lock: a concurrent push of the same device may just have moved it.
    session.refresh(device)
    acked = device.acked_seq
    if seq_from > acked + 1:
        raise PushGap(acked)
    todo = [e for e in ordered if int(e["seq"]) > acked]
    if any(e.get("table") == "number_leases" for e in todo):
        # A grant of number blocks must not read around leases being written (app.district.numbers).
        from app.district.numbers import lock_squad_numbers

        lock_squad_numbers(session, device.squad_id)
    skipped = len(ordered) - len(todo)
    taken = _take_batch(session, device, todo)
    for item in resolved:
        _resolve_from_device(session, device, item)
    device.acked_seq = max(acked, seq_to)
    session.flush()
    refused = _refused_before(session, device, seq_from, acked) if skipped else []
    refused += [
        {"seq": r["device_seq"], "table": r["table_name"], "row_id": r["row_id"], "reason": r["reason"]}
        for r in taken.rejections
    ]
    return PushResult(device.acked_seq, taken.applied, len(refused), taken.conflicts, skipped, tuple(refused))


@dataclass
class _Taken:
    applied: int = 0
    conflicts: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)


def _take_batch(session: Session, device: DistrictDevice, entries: list[dict[str, Any]]) -> _Taken:
    """Take ``entries`` in a savepoint of the caller's transaction, in up to three passes:

    1. quick: a row a device inserts has a fresh UUIDv7 id, so inserts are not looked up first;
    2. if the database refused that (a key already taken — a row sent twice, or a forged insert
       over another squad's row), again with every row looked up, so the usual rules answer;
    3. if the database still refused (a value that does not fit its column, a parent the
       district does not have), entry by entry: what it refuses is refused with its reason and
       the rest is taken — one bad entry must not wedge a device's queue for good.

    Errors that are not the data's fault (the database busy or gone) end the push as before."""
    for lookup_inserts in (False, True):
        try:
            with session.begin_nested():
                return _take_entries(session, device, entries, lookup_inserts)
        except Exception as exc:
            if _refused_by_database(exc) is None:
                raise
    taken = _Taken()
    for entry in entries:
        try:
            with session.begin_nested():
                one = _take_entries(session, device, [entry], True)
        except Exception as exc:
            reason = _refused_by_database(exc)
            if reason is None:
                raise
            one = _Taken(rejections=[_rejection(device, entry, reason)])
            session.connection().execute(insert(PushRejection), one.rejections)
        taken.applied += one.applied
        taken.conflicts += one.conflicts
        taken.rejections += one.rejections
    return taken


class _Unstorable(Exception):
    """A value of a new row kept as text for COPY that its column cannot take."""


def _refused_by_database(exc: Exception) -> str | None:
    """Why the database refused a write, when it is the data's fault; None otherwise."""
    if isinstance(exc, sa_exc.IntegrityError | psycopg.IntegrityError):
        return "记录与区局已有的数据不符（编号重复，或它引用的记录区局没有），区局未接受。"
    if isinstance(exc, sa_exc.DataError | psycopg.DataError | _Unstorable) or (
        isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError)
    ):
        return "记录中有内容不符合格式（长度超限或类型不对），区局未接受。"
    return None


def _take_entries(
    session: Session, device: DistrictDevice, entries: list[dict[str, Any]], lookup_inserts: bool
) -> _Taken:
    batch = _Batch(
        device,
        _load_rows(session, entries, lookup_inserts),
        _ChangeStream(session, len(entries)),
        [],
        [],
        plain=_copies(session, len(entries)),
    )
    taken = _Taken(rejections=batch.rejections)
    try:
        for entry in entries:
            outcome = _take(batch, entry)
            taken.applied += outcome == "applied"
            taken.conflicts += outcome == "conflict"
    except BaseException as exc:
        batch.changes.close(exc)
        raise
    batch.changes.close()
    _write(session, batch)
    return taken


def _refused_before(
    session: Session, device: DistrictDevice, seq_from: int, acked: int
) -> list[dict[str, Any]]:
    """Items of a resent batch refused the first time: the first answer may never have reached
    the device, which must still learn of them."""
    rows = session.execute(
        select(PushRejection.device_seq, PushRejection.table_name, PushRejection.row_id, PushRejection.reason)
        .where(PushRejection.device_id == device.id, PushRejection.device_seq.between(seq_from, acked))
        .order_by(PushRejection.device_seq)
    )
    return [
        {"seq": r.device_seq, "table": r.table_name, "row_id": r.row_id, "reason": r.reason} for r in rows
    ]


def _load_rows(
    session: Session, entries: Sequence[dict[str, Any]], lookup_inserts: bool = True
) -> dict[tuple[str, str], _Row]:
    """The stored rows the batch touches that the district has, read with one query per table;
    without ``lookup_inserts``, rows the batch inserts are taken to be new and not looked up."""
    tables = _tables()
    wanted: dict[str, set[str]] = {}
    for e in entries:
        if lookup_inserts or e.get("base_version") is not None or e.get("base_by") is not None:
            name = str(e.get("table"))
            if name in tables:
                wanted.setdefault(name, set()).add(str(e.get("row_id")))
    rows: dict[tuple[str, str], _Row] = {}
    for name, ids in wanted.items():
        table = cast(Table, tables[name].__table__)
        id_list = sorted(ids)
        for start in range(0, len(id_list), 5000):
            chunk = id_list[start : start + 5000]
            for r in session.execute(select(table).where(_id_in(session, table, chunk))).mappings():
                rows[(name, r["id"])] = _Row(dict(r), dict(r))
    return rows


def _id_in(session: Session, table: Table, ids: list[str]) -> Any:
    """``id IN (…)``; on PostgreSQL as ``id = ANY(array)``, one parameter however many ids."""
    if session.connection().dialect.name == "postgresql":
        return table.c.id == any_(bindparam("ids", ids, type_=ARRAY(String)))
    return table.c.id.in_(ids)


def _rejection(device: DistrictDevice, entry: dict[str, Any], reason: str) -> dict[str, Any]:
    payload = entry.get("payload")
    return {
        "device_id": device.id,
        "device_seq": int(entry["seq"]),
        "table_name": str(entry.get("table", ""))[:64],
        "row_id": str(entry.get("row_id", ""))[:36],
        "reason": reason,
        "payload": payload if isinstance(payload, str) else dumps(payload),
        "at": _now(),
    }


def _reject(batch: _Batch, entry: dict[str, Any], reason: str) -> str:
    batch.rejections.append(_rejection(batch.device, entry, reason))
    return "rejected"


def _take(batch: _Batch, entry: dict[str, Any]) -> str:
    device = batch.device
    table_name = str(entry.get("table", ""))
    payload = entry.get("payload")
    raw = payload if isinstance(payload, str) else None
    if raw is not None:  # the device's change-log text as is (saves decoding and encoding it twice)
        try:
            payload = orjson.loads(raw)
        except ValueError:
            payload = None
    if table_name in REFERENCE_TABLES:
        return _reject(batch, entry, "执法事项、裁量基准等参考数据只能由区局发布，设备的修改未被接受。")
    cls = _tables().get(table_name)
    row_id = entry.get("row_id")
    if (
        cls is None
        or not isinstance(payload, dict)
        or not isinstance(row_id, str)
        or payload.get("id") != row_id
        or len(row_id) > 36
    ):
        return _reject(batch, entry, f"无法识别的数据表或记录（{table_name}）。")
    if payload.get("squad_id") != device.squad_id:
        return _reject(batch, entry, "该记录属于其他中队，本机无权写入。")
    row = batch.rows.get((table_name, row_id))
    if row is None:  # not at the district (or, for an insert, taken not to be: see _take_batch)
        row = batch.rows[(table_name, row_id)] = _Row(None)
    if row.stored is not None and row.stored["squad_id"] != device.squad_id:
        return _reject(batch, entry, "该记录属于其他中队，本机无权修改。")
    try:
        # A new row on PostgreSQL keeps its dates as ISO text: COPY parses them itself, and
        # refuses a bad one (then the entry is refused alone, see _take_batch).
        values = (
            plain_values(cls, payload) if row.current is None and batch.plain else from_plain(cls, payload)
        )
        incoming = stamp(values["version"], values["updated_by"])
        base = base_of(entry)
    except (KeyError, TypeError, ValueError):
        return _reject(batch, entry, f"记录内容不完整或格式不正确（{table_name}）。")
    current = stamp(row.current["version"], row.current["updated_by"]) if row.current else None
    outcome = decide(current, incoming, base)
    if outcome is Outcome.SAME:
        return "applied"  # the same version again (pushed before, e.g. by a bundle): nothing new
    clash = outcome in (Outcome.WIN, Outcome.LOSE) and not same_content(row.current or {}, values, table_name)
    if outcome is Outcome.LOSE:
        assert current is not None
        if clash:
            batch.conflicts.append(
                _conflict_row(device, entry, table_name, row_id, current, incoming, payload)
            )
        return "conflict" if clash else "applied"
    if clash:
        assert current is not None and row.current is not None
        batch.conflicts.append(
            _conflict_row(device, entry, table_name, row_id, incoming, current, row.current)
        )
    row.current = values if row.current is None else {**row.current, **values}
    row.changed = True
    batch.changes.write(
        (
            "row",
            device.squad_id,
            device.id,
            int(entry["seq"]),
            table_name,
            row_id,
            incoming[0],
            str(values.get("updated_at", ""))[:24],
            raw if raw is not None else dumps(payload),
            base[0] if base else None,
            base[1] if base else None,
        )
    )
    return "conflict" if clash else "applied"


def _plain_image(image: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in image.items()}


def _conflict_row(
    device: DistrictDevice,
    entry: dict[str, Any],
    table_name: str,
    row_id: str,
    winner: Stamp,
    loser: Stamp,
    loser_image: dict[str, Any],
) -> dict[str, Any]:
    return {
        "squad_id": device.squad_id,
        "table_name": table_name,
        "row_id": row_id,
        "winner_version": winner[0],
        "winner_by": winner[1],
        "loser_version": loser[0],
        "loser_by": loser[1],
        "loser_payload": dumps(_plain_image(loser_image)),
        "detected_at": _now(),
        "_seq": int(entry["seq"]),
    }


def _write(session: Session, batch: _Batch) -> None:
    """Write what the batch decided with a few bulk statements: one INSERT per table (and set of
    columns) for new rows, one compare-and-set UPDATE per changed row, the change sequence."""
    conn = session.connection()
    tables = _tables()
    inserts: dict[tuple[str, frozenset[str]], list[dict[str, Any]]] = {}
    updates: list[tuple[Table, _Row]] = []
    for (name, _row_id), row in batch.rows.items():
        if not row.changed or row.current is None:
            continue
        if row.stored is None:
            inserts.setdefault((name, frozenset(row.current)), []).append(row.current)
        else:
            updates.append((cast(Table, tables[name].__table__), row))
    # Parents before children: the foreign keys are checked statement by statement.
    for (name, _cols), values in sorted(inserts.items(), key=lambda item: _table_order()[item[0][0]]):
        _insert_many(session, tables[name], values)
    for table, row in updates:
        assert row.current is not None and row.stored is not None
        done = conn.execute(
            update(table)
            .where(table.c.id == row.current["id"], table.c.version == row.stored["version"])
            .values(**{k: v for k, v in row.current.items() if k != "id"})
        )
        if done.rowcount != 1:  # pragma: no cover - the squad lock makes this impossible
            raise ConflictError("区局的记录刚被另一批同步修改，请稍后重试。")
    if batch.rejections:
        conn.execute(insert(PushRejection), batch.rejections)
    notices = []
    for c in batch.conflicts:
        seq = c.pop("_seq")
        conn.execute(insert(SyncConflict), [c])
        notices.append(
            {
                "kind": "conflict",
                "squad_id": c["squad_id"],
                "device_id": batch.device.id,
                "device_seq": seq,
                "table_name": c["table_name"],
                "row_id": c["row_id"],
                "version": c["loser_version"],
                "hlc": "",
                "payload": dumps(_conflict_notice(c)),
                "base_version": None,
                "base_by": None,
            }
        )
    if notices:
        conn.execute(insert(ServerChange), notices)


def _insert_many(session: Session, cls: type[Synced], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows of one table, all with the same keys. On PostgreSQL through COPY —
    several times faster than any INSERT for the thousands of rows a batch brings — in the same
    transaction; COPY parses dates given as ISO text itself, an INSERT needs them typed."""
    table = cast(Table, cls.__table__)
    if not _copies(session, len(rows)):
        try:
            typed = [from_plain(cls, row) for row in rows]
        except (TypeError, ValueError) as exc:  # a date kept as text for COPY that is no date
            raise _Unstorable(str(exc)) from exc
        session.connection().execute(insert(table), typed)
        return
    columns = sorted(rows[0])
    values = operator.itemgetter(*columns)  # a KeyError here is a caller's bug: keys must match
    with _copy_into(session, table.name, columns) as copy:
        for row in rows:
            copy.write_row(values(row))


def _copies(session: Session, rows: int) -> bool:
    """Whether ``rows`` rows go in by COPY: on PostgreSQL, when there are more than a handful."""
    return session.connection().dialect.name == "postgresql" and rows >= 20


@contextmanager
def _copy_into(session: Session, table: str, columns: Sequence[str]) -> Iterator[Any]:
    """A ``COPY table (columns) FROM STDIN`` in the session's transaction (psycopg's Copy: rows
    go in with ``write_row``); nothing else may use the connection until it ends."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        yield copy


def _conflict_notice(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "winner_version": c["winner_version"],
        "winner_by": c["winner_by"],
        "loser_version": c["loser_version"],
        "loser_by": c["loser_by"],
        "loser_payload": json.loads(c["loser_payload"]),
    }


def _resolve_from_device(session: Session, device: DistrictDevice, item: dict[str, Any]) -> None:
    """Mark the squad's open conflicts a clerk resolved on a device, and tell the other devices."""
    try:
        loser = stamp(item["loser_version"], item["loser_by"])
        table_name, row_id = str(item["table"]), str(item["row_id"])
    except (KeyError, TypeError, ValueError):
        return
    rows = session.scalars(
        select(SyncConflict).where(
            SyncConflict.squad_id == device.squad_id,
            SyncConflict.table_name == table_name,
            SyncConflict.row_id == row_id,
            SyncConflict.loser_version == loser[0],
            SyncConflict.loser_by == loser[1],
            SyncConflict.resolved_at.is_(None),
        )
    ).all()
    resolution = "loser" if item.get("resolution") == "loser" else "winner"
    by = str(item.get("resolved_by", ""))[:64] or device.id
    for row in rows:
        row.resolved_at, row.resolved_by, row.resolution = _now(), by, resolution
        session.add(
            ServerChange(
                kind="resolved",
                squad_id=device.squad_id,
                device_id=device.id,
                device_seq=row.id,
                table_name=table_name,
                row_id=row_id,
                version=loser[0],
                hlc="",
                payload=dumps(
                    {
                        "loser_version": loser[0],
                        "loser_by": loser[1],
                        "resolution": resolution,
                        "resolved_by": by,
                    }
                ),
            )
        )


# ---- conflicts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictView:
    id: int
    squad_id: str
    table_name: str
    row_id: str
    winner: Stamp
    loser: Stamp
    detected_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None


def list_conflicts(
    session: Session, squad_id: str | None = None, open_only: bool = False
) -> list[ConflictView]:
    query = select(SyncConflict).order_by(SyncConflict.id)
    if squad_id:
        query = query.where(SyncConflict.squad_id == squad_id)
    if open_only:
        query = query.where(SyncConflict.resolved_at.is_(None))
    return [
        ConflictView(
            r.id,
            r.squad_id,
            r.table_name,
            r.row_id,
            (r.winner_version, r.winner_by),
            (r.loser_version, r.loser_by),
            r.detected_at,
            r.resolved_at,
            r.resolution,
        )
        for r in session.scalars(query)
    ]


# ---- pull ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullAnswer:
    changes: list[dict[str, Any]]
    #: The server sequence to ask from next time.
    cursor: int
    #: True when more changes wait beyond the limit.
    more: bool
    #: sha256 of the canonical JSON of ``changes``: the device applies the answer only when it matches.
    checksum: str


def changes_checksum(changes: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(dumps(list(changes)).encode()).hexdigest()


def pull(session: Session, device: DistrictDevice, after: int, limit: int = PULL_LIMIT) -> PullAnswer:
    """The squad's changes taken after server sequence ``after``, oldest first: row versions
    other devices sent (a device's own are already on it), and every conflict and resolution."""
    rows = session.execute(
        select(
            ServerChange.server_seq,
            ServerChange.kind,
            ServerChange.device_id,
            ServerChange.table_name,
            ServerChange.row_id,
            ServerChange.version,
            ServerChange.base_version,
            ServerChange.base_by,
            ServerChange.payload,
        )
        .where(ServerChange.squad_id == device.squad_id, ServerChange.server_seq > after)
        .order_by(ServerChange.server_seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        {
            "server_seq": r.server_seq,
            "kind": r.kind,
            "table": r.table_name,
            "row_id": r.row_id,
            "version": r.version,
            "base_version": r.base_version,
            "base_by": r.base_by,
            "payload": json.loads(r.payload),
        }
        for r in rows
        if r.kind != "row" or r.device_id != device.id
    ]
    cursor = rows[-1].server_seq if rows else after
    return PullAnswer(changes, cursor, more, changes_checksum(changes))


def server_head(session: Session, squad_id: str) -> int:
    """The newest server sequence of a squad (0 when none)."""
    return int(
        session.scalar(select(func.max(ServerChange.server_seq)).where(ServerChange.squad_id == squad_id))
        or 0
    )


__all__ = [
    "CODE_VALID",
    "PG_SQUAD_LOCK",
    "PULL_LIMIT",
    "REFERENCE_TABLES",
    "ConflictView",
    "DeviceView",
    "Enrolled",
    "PullAnswer",
    "PushGap",
    "PushResult",
    "SquadView",
    "changes_checksum",
    "create_squad",
    "device_for_request",
    "enroll",
    "issue_code",
    "list_conflicts",
    "list_devices",
    "list_squads",
    "lock_squad_stream",
    "pull",
    "push",
    "revoke_device",
    "server_head",
]
