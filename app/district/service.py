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
* concurrent edits of one row keep both versions: the winner is the higher version, then the
  greater device id — a rule that gives the same answer in whatever order the edits arrive and
  never asks a wall clock; the loser is kept in ``sync_conflicts``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from app.errors import NotFoundError, PermissionDenied, ValidationError
from db.base import Synced, synced_tables
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
from db.serialize import dumps, from_plain

#: Tables only a district release may change.
REFERENCE_TABLES = frozenset(
    {"reference_releases", "reference_items", "reference_tiers", "reference_thresholds", "calendar_overrides"}
)
#: How long an enrollment code stays usable.
CODE_VALID = dt.timedelta(days=7)
#: At most this many changes in one pull answer; the device asks again until it has all.
PULL_LIMIT = 2_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _tables() -> dict[str, type[Synced]]:
    return {cls.__tablename__: cls for cls in synced_tables()}


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
    entry = session.get(EnrollmentCode, code_hash(code))
    if entry is None or entry.used_by is not None or entry.expires_at < stamp:
        raise PermissionDenied("登记码无效、已用过或已过期，请向区局重新申请登记码。")
    squad = _squad(session, entry.squad_id)
    if session.get(DistrictDevice, device_id) is not None:
        raise ValidationError("本机已经登记过，无需重复登记。")
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


@dataclass(frozen=True)
class PushResult:
    acked_seq: int
    applied: int
    rejected: int
    conflicts: int
    skipped: int


def _winner_key(version: int, by: str) -> tuple[int, str]:
    return (version, by)


def push(session: Session, device: DistrictDevice, entries: Sequence[dict[str, Any]]) -> PushResult:
    """Take one batch of a device's change log (entries in sequence order) in the caller's
    transaction. Entries at or below the device's acknowledged sequence were taken before and
    are skipped; a gap (an entry after a missing sequence) ends the batch there, so the device
    resends from the gap."""
    tables = _tables()
    applied = rejected = conflicts = skipped = 0
    acked = device.acked_seq
    for entry in sorted(entries, key=lambda e: int(e["seq"])):
        seq = int(entry["seq"])
        if seq <= acked:
            skipped += 1
            continue
        if seq != acked + 1:
            break  # a gap: never apply past it
        outcome = _take(session, device, entry, tables)
        applied += outcome == "applied"
        rejected += outcome == "rejected"
        conflicts += outcome == "conflict"
        acked = seq
    device.acked_seq = acked
    session.flush()
    return PushResult(acked, applied, rejected, conflicts, skipped)


def _reject(session: Session, device: DistrictDevice, entry: dict[str, Any], reason: str) -> str:
    session.add(
        PushRejection(
            device_id=device.id,
            device_seq=int(entry["seq"]),
            table_name=str(entry.get("table", "")),
            row_id=str(entry.get("row_id", "")),
            reason=reason,
            payload=dumps(entry.get("payload")),
            at=_now(),
        )
    )
    return "rejected"


def _take(
    session: Session, device: DistrictDevice, entry: dict[str, Any], tables: dict[str, type[Synced]]
) -> str:
    table_name = str(entry.get("table", ""))
    payload = entry.get("payload")
    if table_name in REFERENCE_TABLES:
        return _reject(
            session, device, entry, "执法事项、裁量基准等参考数据只能由区局发布，设备的修改未被接受。"
        )
    cls = tables.get(table_name)
    if cls is None or not isinstance(payload, dict) or payload.get("id") != entry.get("row_id"):
        return _reject(session, device, entry, f"无法识别的数据表或记录（{table_name}）。")
    if payload.get("squad_id") != device.squad_id:
        return _reject(session, device, entry, "该记录属于其他中队，本机无权写入。")
    table = cast(Table, cls.__table__)
    stored = session.execute(select(table).where(table.c.id == payload["id"])).mappings().first()
    if stored is not None and stored["squad_id"] != device.squad_id:
        return _reject(session, device, entry, "该记录属于其他中队，本机无权修改。")
    values = from_plain(cls, payload)
    incoming = _winner_key(int(values["version"]), str(values["updated_by"]))
    outcome = "applied"
    if stored is None:
        session.execute(insert(table).values(**values))
    else:
        current = _winner_key(int(stored["version"]), str(stored["updated_by"]))
        if incoming == current:
            return "applied"  # the same version again (e.g. pushed by a bundle before): nothing new
        concurrent = int(stored["version"]) >= int(values["version"])
        if incoming > current:
            session.execute(
                update(table)
                .where(table.c.id == payload["id"], table.c.version == stored["version"])
                .values(**values)
            )
            if concurrent:
                _conflict(
                    session, device.squad_id, table_name, payload["id"], incoming, current, dict(stored)
                )
                outcome = "conflict"
        else:
            _conflict(session, device.squad_id, table_name, payload["id"], current, incoming, payload)
            return "conflict"  # the stored version stays; nothing new to hand out
    session.add(
        ServerChange(
            squad_id=device.squad_id,
            device_id=device.id,
            device_seq=int(entry["seq"]),
            table_name=table_name,
            row_id=payload["id"],
            version=int(values["version"]),
            hlc=str(values.get("updated_at", "")),
            payload=dumps(payload),
        )
    )
    return outcome


def _conflict(
    session: Session,
    squad_id: str,
    table_name: str,
    row_id: str,
    winner: tuple[int, str],
    loser: tuple[int, str],
    loser_image: dict[str, Any],
) -> None:
    image = {
        k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in loser_image.items()
    }
    session.add(
        SyncConflict(
            squad_id=squad_id,
            table_name=table_name,
            row_id=row_id,
            winner_version=winner[0],
            winner_by=winner[1],
            loser_version=loser[0],
            loser_by=loser[1],
            loser_payload=dumps(image),
            detected_at=_now(),
        )
    )


# ---- pull ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullAnswer:
    changes: list[dict[str, Any]]
    #: The server sequence to ask from next time.
    cursor: int
    #: True when more changes wait beyond ``PULL_LIMIT``.
    more: bool
    #: sha256 of the canonical JSON of ``changes``: the device applies the answer only when it matches.
    checksum: str


def changes_checksum(changes: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(dumps(list(changes)).encode()).hexdigest()


def pull(session: Session, device: DistrictDevice, after: int, limit: int = PULL_LIMIT) -> PullAnswer:
    """The squad's changes taken after server sequence ``after`` that other devices sent (a
    device's own changes are already on it), oldest first."""
    rows = list(
        session.scalars(
            select(ServerChange)
            .where(ServerChange.squad_id == device.squad_id, ServerChange.server_seq > after)
            .order_by(ServerChange.server_seq)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        {
            "server_seq": r.server_seq,
            "table": r.table_name,
            "row_id": r.row_id,
            "version": r.version,
            "payload": json.loads(r.payload),
        }
        for r in rows
        if r.device_id != device.id
    ]
    cursor = rows[-1].server_seq if rows else after
    return PullAnswer(changes, cursor, more, changes_checksum(changes))


__all__ = [
    "CODE_VALID",
    "PULL_LIMIT",
    "REFERENCE_TABLES",
    "DeviceView",
    "Enrolled",
    "PullAnswer",
    "PushResult",
    "SquadView",
    "changes_checksum",
    "create_squad",
    "device_for_request",
    "enroll",
    "issue_code",
    "list_devices",
    "list_squads",
    "pull",
    "push",
    "revoke_device",
]
