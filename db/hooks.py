"""The one flush hook: stamps synced rows and writes the change log and the audit log.

Attached to :class:`AuditedSession`, the class of every session :func:`db.engine.make_session_factory` makes. For each synced row
inserted, updated or tombstoned in a flush it

* stamps ``updated_at`` (hybrid logical clock), ``updated_by`` (this device) and ``squad_id``;
* appends a change-log entry with the whole row (what sync will push), and
* appends a hash-chained audit entry with the before and after images and the acting user,

all through the flush's own connection, so they commit or roll back with the change itself.
Hard deletes of synced rows are refused: a deletion is a tombstone (``deleted = True``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session, UOWTransaction, attributes

from db.audit_chain import GENESIS, entry_hash
from db.base import Synced
from db.hlc import HybridLogicalClock
from db.models.core import AuditEntry, ChangeLogEntry
from db.serialize import column_keys, dumps, row_image, secret_digest, to_plain

_PENDING = "_squaddesk_pending"
_HEAD = "_squaddesk_audit_head"
#: pg_advisory_xact_lock key that serialises appends to the audit chain on PostgreSQL.
PG_AUDIT_LOCK = 0x5344_4131  # "SDA1"


class HardDeleteError(RuntimeError):
    """Raised when code tries to DELETE a synced row instead of tombstoning it."""


def _before_image(obj: Synced) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, secret in column_keys(obj):
        hist = attributes.get_history(obj, key, passive=attributes.PASSIVE_NO_INITIALIZE)
        value = hist.deleted[0] if hist.deleted else inspect(obj).dict.get(key)
        value = to_plain(value)
        out[key] = secret_digest(value) if secret else value
    return out


def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    info = session.info
    for obj in session.deleted:
        if isinstance(obj, Synced):
            raise HardDeleteError(f"{type(obj).__name__} rows are tombstoned, never deleted")
    clock: HybridLogicalClock | None = info.get("clock")
    if clock is None:
        return  # a maintenance session (migrations, restore checks) that writes no synced rows
    device_id = info["device_id"]
    pending: list[tuple[Synced, str, dict[str, Any] | None]] = []
    for obj in session.new:
        if isinstance(obj, Synced):
            if not obj.squad_id:
                obj.squad_id = info["squad_id"]
            obj.updated_at = str(clock.now())
            obj.updated_by = device_id
            obj.deleted = bool(obj.deleted)
            pending.append((obj, "insert", None))
    for obj in session.dirty:
        if isinstance(obj, Synced) and session.is_modified(obj, include_collections=False):
            before = _before_image(obj)
            op = "delete" if obj.deleted and not before.get("deleted") else "update"
            obj.updated_at = str(clock.now())
            obj.updated_by = device_id
            pending.append((obj, op, before))
    info[_PENDING] = pending


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[tuple[Synced, str, dict[str, Any] | None]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    info = session.info
    conn = session.connection()
    device_id = info["device_id"]
    actor = info.get("actor", "系统")
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    changes = []
    for obj, op, before in pending:
        changes.append(
            {
                "table_name": obj.__tablename__,
                "row_id": obj.id,
                "op": op,
                "version": obj.version,
                "hlc": obj.updated_at,
                "device_id": device_id,
                "payload": dumps(row_image(obj, redact=False)),
                "base_version": before["version"] if before is not None else None,
                "base_by": before["updated_by"] if before is not None else None,
            }
        )
    conn.execute(insert(ChangeLogEntry), changes)

    seq, prev = audit_head(session)
    rows = []
    for obj, op, before in pending:
        seq += 1
        after = row_image(obj, redact=True)
        entry = {
            "seq": seq,
            "at": now,
            "user_name": actor,
            "device_id": device_id,
            "action": op,
            "entity": obj.__tablename__,
            "entity_id": obj.id,
            "summary": info.get("summary", ""),
            "before": dumps(before) if before is not None else None,
            "after": dumps(after),
            "prev_hash": prev,
        }
        entry["hash"] = prev = entry_hash(entry)
        rows.append(entry)
    conn.execute(insert(AuditEntry), rows)
    set_audit_head(session, seq, prev)


def audit_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest audit entry. Read once per transaction, then kept in
    ``session.info``: write transactions hold SQLite's write lock from BEGIN, so no other
    writer can append meanwhile. PostgreSQL has no such lock (its writers run side by side), so
    there the transaction first takes an advisory lock that it holds until it ends: appenders
    queue, and each reads the head the one before it committed, keeping the chain unbroken."""
    head: tuple[int, str] | None = session.info.get(_HEAD)
    if head is None:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK})
        last = conn.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        head = (last[0], last[1]) if last else (0, GENESIS)
    return head


def set_audit_head(session: Session, seq: int, entry_hash_: str) -> None:
    session.info[_HEAD] = (seq, entry_hash_)


def _forget_head(session: Session, transaction: Any) -> None:
    # When the transaction or a savepoint ends (it may have rolled entries back), read afresh next
    # time. A flush's own subtransaction ending changes nothing: a failed flush fails the whole.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEAD, None)


class AuditedSession(Session):
    """The Session class of every SquadDesk session factory; the hooks are attached to the class
    once, at import, so no factory can ever be made without them."""


event.listen(AuditedSession, "before_flush", _before_flush)
event.listen(AuditedSession, "after_flush", _after_flush)
event.listen(AuditedSession, "after_transaction_end", _forget_head)
