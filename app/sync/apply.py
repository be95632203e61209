"""Applying what the district hands down (接收同步数据) to this device's database.

A pull answer (or an answer bundle) is applied whole in one transaction, or not at all. Rows are
written with Core statements, so the flush hook neither re-stamps them nor logs them as this
device's changes (which would echo them back up); instead each applied version gets its own
entry in the audit chain (action ``sync_in``), so the audit's row check still finds every row's
last image. Every version goes through the one rule of :mod:`app.sync.merge`: the row ends as
the greater version, whatever order they arrive in.

Which version *lost* a conflict is the district's word, not the device's: besides row versions
an answer carries ``conflict`` notices (a losing version the district kept) and ``resolved``
notices (a clerk on some device resolved one), and a device's ``sync_conflicts`` are exactly
these notices. A device cannot tell a losing version from one that was merely overtaken: it
compares each version of the stream with whatever it holds at that moment, so an intermediate
version another device went on to build on (or the version it holds itself, not yet pushed)
would look like a loser here and nowhere else, and a pull from an older cursor would make up
conflicts out of versions it applied long ago. Every version reaches the district, which
compares it with the one row everyone converges on and tells every device of the squad — the one
that made the version included — so the district and all devices list the same conflicts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.cases.due import refresh_due_index
from app.errors import DomainError
from app.sync.merge import Outcome, Stamp, base_of, decide, stamp
from db.audit_chain import entry_hash
from db.base import Synced, synced_tables
from db.hooks import audit_head, set_audit_head
from db.models import AuditEntry, SyncConflict
from db.serialize import column_keys, dumps, from_plain, secret_digest

#: Who the audit chain names for versions that arrived by sync.
SYNC_ACTOR = "区局同步"


class ApplyError(DomainError):
    """An answer that cannot be applied (another squad's row, an unknown table): nothing of it is."""


@dataclass
class ApplyResult:
    applied: int = 0
    conflicts: int = 0
    resolved: int = 0
    unchanged: int = 0
    tables: dict[str, int] = field(default_factory=dict)


def _tables() -> dict[str, type[Synced]]:
    return {cls.__tablename__: cls for cls in synced_tables()}


def _redacted(cls: type[Synced], image: dict[str, Any]) -> dict[str, Any]:
    """The audit image of a row (secrets as digests), in the key order of ``row_image``."""
    return {
        key: (secret_digest(image.get(key)) if secret else image.get(key)) for key, secret in column_keys(cls)
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in row.items()}


def apply_changes(
    session: Session, squad_id: str, device_id: str, changes: Sequence[dict[str, Any]]
) -> ApplyResult:
    """Apply a pull answer's changes (oldest first) in the caller's transaction."""
    tables = _tables()
    result = ApplyResult()
    rows = _load(session, tables, [c for c in changes if c.get("kind", "row") == "row"])
    audit: list[tuple[type[Synced], str, dict[str, Any] | None, dict[str, Any]]] = []
    for change in changes:
        kind = change.get("kind", "row")
        if kind == "conflict":
            # Stored at once: a ``resolved`` notice later in the same answer must find it.
            result.conflicts += _store_conflicts(session, [_notice_conflict(squad_id, change)])
            continue
        if kind == "resolved":
            result.resolved += _mark_resolved(session, squad_id, change)
            continue
        name = str(change.get("table"))
        cls = tables.get(name)
        payload = change.get("payload")
        if cls is None or not isinstance(payload, dict) or payload.get("id") != change.get("row_id"):
            raise ApplyError(
                f"区局发来的数据无法识别（{name}），本次同步未应用。请升级本机的 SquadDesk 后重试。"
            )
        if payload.get("squad_id") != squad_id:
            raise ApplyError("区局发来的数据属于其他中队，本次同步未应用任何内容。请联系区局核查。")
        key = (name, str(payload["id"]))
        current = rows.get(key)
        incoming = stamp(payload["version"], payload["updated_by"])
        here = stamp(current["version"], current["updated_by"]) if current else None
        outcome = decide(here, incoming, base_of(change))
        if outcome in (Outcome.SAME, Outcome.LOSE):
            # Held already, or overtaken by what is held: keep the row. Whether the incoming
            # version lost a conflict, the district says in a notice (see the module docstring).
            result.unchanged += 1
            continue
        values = from_plain(cls, payload)
        _write_row(session, cls, current, values)
        rows[key] = {**(current or {}), **values}
        audit.append((cls, key[1], _plain(current) if current else None, payload))
        result.applied += 1
        result.tables[name] = result.tables.get(name, 0) + 1
    _audit(session, device_id, audit)
    _refresh_due(session, audit)
    return result


def _load(
    session: Session, tables: dict[str, type[Synced]], changes: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    wanted: dict[str, set[str]] = {}
    for c in changes:
        if str(c.get("table")) in tables:
            wanted.setdefault(str(c["table"]), set()).add(str(c.get("row_id")))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name, ids in wanted.items():
        table = cast(Table, tables[name].__table__)
        id_list = sorted(ids)
        for start in range(0, len(id_list), 500):
            query = select(table).where(table.c.id.in_(id_list[start : start + 500]))
            for r in session.execute(query).mappings():
                found[(name, r["id"])] = dict(r)
    return found


def _write_row(
    session: Session, cls: type[Synced], current: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    table = cast(Table, cls.__table__)
    conn = session.connection()
    if current is None:
        conn.execute(insert(table).values(**values))
    else:
        conn.execute(
            update(table)
            .where(table.c.id == values["id"], table.c.version == current["version"])
            .values(**{k: v for k, v in values.items() if k != "id"})
        )


def _conflict(
    squad_id: str, table: str, row_id: str, winner: Stamp, loser: Stamp, loser_image: dict[str, Any]
) -> dict[str, Any]:
    return {
        "squad_id": squad_id,
        "table_name": table,
        "row_id": row_id,
        "winner_version": winner[0],
        "winner_by": winner[1],
        "loser_version": loser[0],
        "loser_by": loser[1],
        "loser_payload": dumps(loser_image),
        "detected_at": _now(),
    }


def _notice_conflict(squad_id: str, change: dict[str, Any]) -> dict[str, Any]:
    body = change.get("payload") or {}
    try:
        return _conflict(
            squad_id,
            str(change["table"]),
            str(change["row_id"]),
            stamp(body["winner_version"], body["winner_by"]),
            stamp(body["loser_version"], body["loser_by"]),
            dict(body.get("loser_payload") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ApplyError(
            "区局发来的冲突记录格式不正确，本次同步未应用。请升级本机的 SquadDesk 后重试。"
        ) from exc


def _store_conflicts(session: Session, conflicts: list[dict[str, Any]]) -> int:
    """Keep each losing version once, however often it is reported (an answer handed again);
    the number of conflicts new to this device."""
    conn = session.connection()
    stored = 0
    for c in conflicts:
        known = conn.execute(
            select(SyncConflict.id).where(
                SyncConflict.table_name == c["table_name"],
                SyncConflict.row_id == c["row_id"],
                SyncConflict.loser_version == c["loser_version"],
                SyncConflict.loser_by == c["loser_by"],
            )
        ).first()
        if known is None:
            conn.execute(insert(SyncConflict), [c])
            stored += 1
    return stored


def _mark_resolved(session: Session, squad_id: str, change: dict[str, Any]) -> int:
    """Mark a conflict resolved as the district recorded it. The district keeps the first
    resolution it is told of: a clerk here who resolved the same conflict the other way before
    hearing of it gets the district's record too, so that every device lists it alike."""
    body = change.get("payload") or {}
    resolved_by = str(body.get("resolved_by", ""))[:64]
    resolution = str(body.get("resolution", ""))[:16]
    done = session.connection().execute(
        update(SyncConflict)
        .where(
            SyncConflict.squad_id == squad_id,
            SyncConflict.table_name == str(change.get("table")),
            SyncConflict.row_id == str(change.get("row_id")),
            SyncConflict.loser_version == body.get("loser_version"),
            SyncConflict.loser_by == body.get("loser_by"),
            or_(
                SyncConflict.resolved_at.is_(None),
                SyncConflict.resolution != resolution,
                SyncConflict.resolved_by != resolved_by,
            ),
        )
        .values(
            resolved_at=func.coalesce(SyncConflict.resolved_at, _now()),
            resolved_by=resolved_by,
            resolution=resolution,
        )
    )
    return int(done.rowcount or 0)


def _audit(
    session: Session,
    device_id: str,
    applied: list[tuple[type[Synced], str, dict[str, Any] | None, dict[str, Any]]],
) -> None:
    if not applied:
        return
    seq, prev = audit_head(session)
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    entries = []
    for cls, row_id, before, after in applied:
        seq += 1
        entry = {
            "seq": seq,
            "at": now,
            "user_name": SYNC_ACTOR,
            "device_id": device_id,
            "action": "sync_in",
            "entity": cls.__tablename__,
            "entity_id": row_id,
            "summary": f"同步接收：来自设备 {after.get('updated_by', '')}",
            "before": dumps(_redacted(cls, before)) if before is not None else None,
            "after": dumps(_redacted(cls, after)),
            "prev_hash": prev,
        }
        entry["hash"] = prev = entry_hash(entry)
        entries.append(entry)
    session.connection().execute(insert(AuditEntry), entries)
    set_audit_head(session, seq, prev)


def _refresh_due(
    session: Session, applied: list[tuple[type[Synced], str, dict[str, Any] | None, dict[str, Any]]]
) -> None:
    """Keep the due-date index in step: rows written with Core pass by its flush listener."""
    case_ids: set[str] = set()
    for cls, row_id, _before, after in applied:
        if cls.__tablename__ == "cases":
            case_ids.add(row_id)
        elif isinstance(after.get("case_id"), str):
            case_ids.add(after["case_id"])
    if case_ids:
        refresh_due_index(session, case_ids)


def loser_image(conflict: SyncConflict) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(conflict.loser_payload))
