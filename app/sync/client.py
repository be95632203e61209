"""This device's side of sync with the district (与区局同步): enrollment, push, pull, conflicts.

The state of sync lives in the device's own database (``local_meta``, never synced), so it
commits together with what it describes:

* ``sync.acked_seq`` — the highest change-log sequence the district acknowledged. The outbox is
  every change-log entry after it (the device's copy of reference data stays home: only the
  district releases it). Entries are kept until acknowledged, so a push cut off anywhere —
  before sending, after the district committed but before the answer arrived — is simply sent
  again, and the district skips what it already took.
* ``sync.cursor`` — the district's change sequence up to which this device has applied the
  squad's changes. It is stored in the same transaction as the rows a pull applied, so a pull
  is applied whole or not at all, and never twice.
* ``sync.release_version`` — the newest district release applied; an older one is refused.
* ``sync.pending_resolutions`` — conflicts a clerk resolved here that the district has not
  been told about yet.

The network is reached through a :class:`app.sync.transport.Transport`; everything else here
is plain database work, so the same functions serve the GUI, ``squaddesk-cli sync`` and the
tests.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import files as store
from app.auth.roles import SYSTEM, Actor, Permission, require
from app.context import AppContext
from app.errors import Cancelled, DomainError, NotFoundError, ValidationError
from app.progress import Progress, step
from app.sync import files as sync_files
from app.sync import numbers
from app.sync.apply import ApplyError, ApplyResult, apply_changes
from app.sync.faults import checkpoint
from app.sync.merge import volatile_columns
from app.sync.protocol import PULL_LIMIT, PUSH_BATCH, PUSH_BATCH_BYTES
from app.sync.signing import DeviceKey
from app.sync.transport import SyncError, Transport
from db.base import Synced, synced_tables
from db.hlc import HlcStamp
from db.models import ChangeLogEntry, LocalMeta, SyncConflict
from db.serialize import dumps, from_plain

#: Tables only a district release changes; the device's copy of them is never pushed.
REFERENCE_TABLES = frozenset(
    {"reference_releases", "reference_items", "reference_tiers", "reference_thresholds", "calendar_overrides"}
)
KEY_FILE = "device_key.pem"

# LocalMeta keys.
SERVER_URL = "sync.server_url"
ENROLLED = "sync.enrolled"
SQUAD_NAME = "sync.squad_name"
DISTRICT_KEY = "sync.district_key"
ACKED = "sync.acked_seq"
CURSOR = "sync.cursor"
RELEASE = "sync.release_version"
LAST_SYNC = "sync.last_sync"
LAST_ERROR = "sync.last_error"
FAILURES = "sync.failures"
PENDING_RESOLUTIONS = "sync.pending_resolutions"
MISSING_FILES = "sync.missing_files"
REJECTIONS = "sync.rejections"
#: How many refused items the device keeps to show (the district keeps them all).
KEEP_REJECTIONS = 500
AUTO_MINUTES = "sync.auto_minutes"


# ---- local state ---------------------------------------------------------------------------------


def get_meta(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(LocalMeta, key)
    return row.value if row is not None else default


def set_meta(session: Session, key: str, value: str | None) -> None:
    row = session.get(LocalMeta, key)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(LocalMeta(key=key, value=value))
    else:
        row.value = value
    session.flush()


def _int_meta(session: Session, key: str) -> int:
    return int(get_meta(session, key) or 0)


@contextmanager
def _state(ctx: AppContext, summary: str = "同步") -> Iterator[Session]:
    """A unit of work of the sync itself (no user acts: the audit names the system)."""
    with ctx.unit_of_work(SYSTEM, summary) as session:
        yield session


def key_path(ctx: AppContext) -> Path:
    return ctx.data_dir / KEY_FILE


def device_key(ctx: AppContext) -> DeviceKey:
    """This device's signing key, made on first use and kept in the data folder (mode 0600)."""
    path = key_path(ctx)
    if path.exists():
        return DeviceKey.load(path)
    key = DeviceKey.generate()
    key.save(path)
    return key


def is_enrolled(ctx: AppContext) -> bool:
    with ctx.read() as session:
        return get_meta(session, ENROLLED) == "1"


# ---- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    server_url: str
    squad_name: str
    last_sync: dt.datetime | None
    last_error: str
    failures: int
    outbox: int
    #: When the oldest change not yet acknowledged was made (device clock, from its HLC stamp).
    oldest_unacked: dt.datetime | None
    acked_seq: int
    cursor: int
    release_version: int
    open_conflicts: int
    auto_minutes: int
    #: Items the district refused (kept on the device to show).
    rejections: int

    @property
    def oldest_age(self) -> dt.timedelta | None:
        if self.oldest_unacked is None:
            return None
        return max(dt.timedelta(0), dt.datetime.now(dt.UTC) - self.oldest_unacked)


def _outbox_where(acked: int) -> Any:
    return (ChangeLogEntry.seq > acked) & ChangeLogEntry.table_name.not_in(REFERENCE_TABLES)


def _outbox_depth(session: Session, acked: int) -> int:
    """How many changes after ``acked`` wait to be sent (reference data stays at home)."""
    return int(session.scalar(select(func.count(ChangeLogEntry.seq)).where(_outbox_where(acked))) or 0)


def status(ctx: AppContext) -> SyncStatus:
    with ctx.read() as s:
        acked = _int_meta(s, ACKED)
        depth = _outbox_depth(s, acked)
        first = s.scalar(
            select(ChangeLogEntry.hlc).where(_outbox_where(acked)).order_by(ChangeLogEntry.seq).limit(1)
        )
        last = get_meta(s, LAST_SYNC)
        conflicts = s.scalar(
            select(func.count()).select_from(SyncConflict).where(SyncConflict.resolved_at.is_(None))
        )
        return SyncStatus(
            enrolled=get_meta(s, ENROLLED) == "1",
            server_url=get_meta(s, SERVER_URL) or "",
            squad_name=get_meta(s, SQUAD_NAME) or "",
            last_sync=dt.datetime.fromisoformat(last) if last else None,
            last_error=get_meta(s, LAST_ERROR) or "",
            failures=_int_meta(s, FAILURES),
            outbox=int(depth),
            oldest_unacked=_hlc_time(first) if first else None,
            acked_seq=acked,
            cursor=_int_meta(s, CURSOR),
            release_version=_int_meta(s, RELEASE),
            open_conflicts=int(conflicts or 0),
            auto_minutes=_int_meta(s, AUTO_MINUTES),
            rejections=len(json.loads(get_meta(s, REJECTIONS) or "[]")),
        )


def _hlc_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(HlcStamp.parse(text).millis / 1000, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def set_auto_minutes(ctx: AppContext, actor: Actor, minutes: int) -> None:
    """Sync automatically every ``minutes`` while online (0: only by hand)."""
    require(actor, Permission.SYNC)
    if not 0 <= minutes <= 24 * 60:
        raise ValidationError("自动同步间隔应在 0（不自动同步）到 1440 分钟之间。", field="minutes")
    with _state(ctx, "设置自动同步") as s:
        set_meta(s, AUTO_MINUTES, str(minutes))


def retry_delay(failures: int, *, base: float = 30.0, cap: float = 15 * 60.0) -> float:
    """Seconds to wait before the next automatic attempt after ``failures`` failed ones:
    exponential, capped, with jitter so that a squad's devices do not retry in step."""
    if failures <= 0:
        return 0.0
    delay = min(cap, base * 2 ** (failures - 1))
    return delay * random.uniform(0.8, 1.2)


# ---- enrollment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollResult:
    squad_id: str
    squad_name: str
    adopted: bool  # True when this (fresh) device took the squad from the district


def enroll(
    ctx: AppContext,
    actor: Actor | None,
    transport: Transport,
    server_url: str,
    code: str,
    label: str = "",
) -> EnrollResult:
    """Register this device with the district once, with the one-time code it issued.

    A device that already keeps a squad's data binds the district's squad to that squad (the
    first device of a squad) or must belong to it; a fresh installation (no first-run set-up
    yet) takes the squad the code was issued for, and its first sync brings the squad's data,
    users included. ``actor`` is the administrator; a fresh installation has no users yet
    (None)."""
    if ctx.squad_id is not None:
        if actor is None:
            raise DomainError("本机已完成初始设置，请以管理员身份登录后再登记。")
        require(actor, Permission.EDIT_SETTINGS)
    if is_enrolled(ctx):
        raise DomainError("本机已在区局登记，无需重复登记。")
    code = code.strip()
    if not code:
        raise ValidationError("请填写区局发放的登记码。", field="code")
    key = device_key(ctx)
    answer = transport.call(
        "POST",
        "/v1/enroll",
        {
            "code": code,
            "device_id": ctx.device_id,
            "public_key": key.public_pem(),
            "squad_id": ctx.squad_id,
            "label": label.strip()[:100],
        },
    )
    squad_id, squad_name = str(answer["squad_id"]), str(answer.get("squad_name", ""))
    adopted = ctx.squad_id is None
    if adopted:
        ctx.set_squad(squad_id)
    try:
        with ctx.unit_of_work(actor or SYSTEM, "在区局登记本机") as s:
            if adopted:
                set_meta(s, "squad_id", squad_id)
                from app.reference import install_bundled

                install_bundled(s)  # a catalog to work with until the district's release arrives
            set_meta(s, SERVER_URL, server_url.strip())
            set_meta(s, SQUAD_NAME, squad_name)
            set_meta(s, DISTRICT_KEY, str(answer.get("district_key", "")))
            set_meta(s, ENROLLED, "1")
            _close_self_granted(s, ctx.device_id)
    except Exception:
        if adopted:
            ctx.squad_id = None
        raise
    return EnrollResult(squad_id, squad_name, adopted)


def _close_self_granted(session: Session, device_id: str) -> None:
    """Numbers this device granted itself before enrolling are closed at what it used; from now
    on only the district grants number blocks (see app.sync.numbers)."""
    numbers.close_self_granted(session, device_id)


# ---- push ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    seq_from: int
    seq_to: int
    entries: list[dict[str, Any]]


def next_batch(
    session: Session, acked: int, limit: int = PUSH_BATCH, *, raw: bool = False, size: int = PUSH_BATCH_BYTES
) -> Batch | None:
    """The next batch of the outbox: up to ``limit`` change-log entries after ``acked`` and about
    ``size`` characters of row images (at least one entry), the device's reference-data entries
    left out but covered by the batch's range. With ``raw`` each payload stays the JSON text the
    change log holds (the district takes either)."""
    # Core on the session's connection, tuples unpacked: this reads the whole outbox batch by
    # batch, and the ORM's result machinery would cost as much as the rest of the push.
    rows = (
        session.connection()
        .execute(
            select(
                ChangeLogEntry.seq,
                ChangeLogEntry.table_name,
                ChangeLogEntry.row_id,
                ChangeLogEntry.base_version,
                ChangeLogEntry.base_by,
                ChangeLogEntry.payload,
            )
            .where(ChangeLogEntry.seq > acked)
            .order_by(ChangeLogEntry.seq)
            .limit(limit)
        )
        .all()
    )
    if not rows:
        return None
    total = 0
    for end, row in enumerate(rows):
        total += len(row[5])
        if total > size and end > 0:
            rows = rows[:end]
            break
    entries = [
        {
            "seq": seq,
            "table": table,
            "row_id": row_id,
            "base_version": base_version,
            "base_by": base_by,
            "payload": payload if raw else json.loads(payload),
        }
        for seq, table, row_id, base_version, base_by, payload in rows
        if table not in REFERENCE_TABLES
    ]
    return Batch(acked + 1, rows[-1][0], entries)


@dataclass
class SyncReport:
    pushed: int = 0
    rejected: int = 0
    conflicts: int = 0
    pulled: int = 0
    applied: int = 0
    files_up: int = 0
    files_down: int = 0
    releases: list[int] = field(default_factory=list)
    leases: int = 0
    #: Attachments named by pushed rows that this device could not send.
    files_missing: set[str] = field(default_factory=set)

    def summary(self) -> str:
        parts = [f"上传 {self.pushed} 条", f"接收 {self.pulled} 条"]
        if self.files_up or self.files_down:
            parts.append(f"附件上传 {self.files_up} 个、下载 {self.files_down} 个")
        if self.files_missing:
            parts.append(f"{len(self.files_missing)} 个附件本机缺失或已损坏，未能上传")
        if self.rejected:
            parts.append(f"区局拒收 {self.rejected} 条")
        if self.conflicts:
            parts.append(f"冲突 {self.conflicts} 处，请在“与区局同步”页处理")
        if self.releases:
            parts.append("已安装区局参考数据第 " + "、".join(str(v) for v in self.releases) + " 版")
        if self.leases:
            parts.append(f"领取文号段 {self.leases} 个")
        return "，".join(parts) + "。"


def _require_enrolled(ctx: AppContext) -> None:
    if not is_enrolled(ctx):
        raise DomainError("本机尚未在区局登记。请在“同步”页填写区局地址和登记码完成登记后再同步。")


def _outbox_batch(ctx: AppContext, acked: int) -> Batch | None:
    with ctx.read() as s:
        return next_batch(s, acked, raw=True)


def push(ctx: AppContext, transport: Transport, report: SyncReport, progress: Progress | None = None) -> None:
    """Send the outbox batch by batch until the district has acknowledged all of it.

    While the district takes one batch, the next one is read from the change log, so the
    device's work hides behind the district's (one request in flight at a time: the district
    takes batches only in order)."""
    _require_enrolled(ctx)
    with ctx.read() as s:
        acked = _int_meta(s, ACKED)
        waiting = _outbox_depth(s, acked)  # counted once: counting is a scan of the change log
        batch = next_batch(s, acked, raw=True)
        pending = json.loads(get_meta(s, PENDING_RESOLUTIONS) or "[]")
    if batch is None and not pending:
        return
    total = waiting
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as sender:
        while batch is not None or pending:
            batch = batch or Batch(acked + 1, acked, [])
            step(progress, total - waiting, max(total, 1), f"正在上传：还有 {waiting} 条待上传")
            _upload_files(ctx, transport, batch.entries, report, progress)
            checkpoint("client.push.before_send")
            body = {
                "seq_from": batch.seq_from,
                "seq_to": batch.seq_to,
                "entries": batch.entries,
                "resolved": pending,
            }
            sending = sender.submit(transport.call, "POST", "/v1/push", body)
            # The next batch, read while this one is on its way.
            ahead = _outbox_batch(ctx, batch.seq_to) if batch.entries else None
            try:
                answer = sending.result()
            except SyncError as exc:
                if exc.code != "gap" or exc.body.get("acked_seq") is None:
                    raise
                # The district has less (or more) than this device thinks: continue from its count.
                answer = {"acked_seq": int(exc.body["acked_seq"])}
            checkpoint("client.push.answered")
            acked = int(answer["acked_seq"])
            refused = list(answer.get("rejections") or [])
            with _state(ctx) as s:
                set_meta(s, ACKED, str(acked))
                if refused:
                    _remember_rejections(s, refused)
                if pending and acked >= batch.seq_to:
                    still = json.loads(get_meta(s, PENDING_RESOLUTIONS) or "[]")
                    set_meta(s, PENDING_RESOLUTIONS, dumps([p for p in still if p not in pending]))
                pending = json.loads(get_meta(s, PENDING_RESOLUTIONS) or "[]")
            checkpoint("client.push.acked")
            waiting = max(0, waiting - len(batch.entries))
            report.pushed += int(answer.get("applied", 0)) + int(answer.get("conflicts", 0))
            report.rejected += int(answer.get("rejected", 0))
            # Conflicts are counted when their notices are pulled (the district tells every device).
            if acked < batch.seq_to and "applied" in answer:
                raise SyncError("区局没有确认本批数据，请稍后重试。", code="stalled", transient=True)
            batch = ahead if acked == batch.seq_to and batch.entries else _outbox_batch(ctx, acked)


def _remember_rejections(session: Session, refused: list[dict[str, Any]]) -> None:
    """Keep what the district refused, newest last, to show on the sync page."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    kept = json.loads(get_meta(session, REJECTIONS) or "[]")
    known = {item.get("seq") for item in kept}  # a resent batch reports them again
    kept.extend({**item, "at": stamp} for item in refused if item.get("seq") not in known)
    set_meta(session, REJECTIONS, dumps(kept[-KEEP_REJECTIONS:]))


@dataclass(frozen=True)
class Rejection:
    seq: int
    table_label: str
    row_id: str
    reason: str
    at: dt.datetime | None


def list_rejections(ctx: AppContext) -> list[Rejection]:
    """The items the district refused (newest first): they were acknowledged, so the outbox
    moved on, but they are not at the district — a clerk should see why."""
    labels = {cls.__tablename__: cls.label_zh or cls.__tablename__ for cls in synced_tables()}
    with ctx.read() as s:
        kept = json.loads(get_meta(s, REJECTIONS) or "[]")
    out = []
    for item in reversed(kept):
        at = item.get("at")
        out.append(
            Rejection(
                seq=int(item.get("seq", 0)),
                table_label=labels.get(str(item.get("table")), str(item.get("table"))),
                row_id=str(item.get("row_id", "")),
                reason=str(item.get("reason", "")),
                at=dt.datetime.fromisoformat(at) if isinstance(at, str) else None,
            )
        )
    return out


def _upload_files(
    ctx: AppContext,
    transport: Transport,
    entries: list[dict[str, Any]],
    report: SyncReport,
    progress: Progress | None,
) -> None:
    """Attachments go up before the rows that name them. A file this device does not have (or
    whose bytes no longer match its hash) cannot be sent; its row goes anyway — holding it back
    would wedge the outbox for good — and the file is reported missing."""
    with_files = [
        {**e, "payload": json.loads(e["payload"]) if isinstance(e["payload"], str) else e["payload"]}
        for e in entries
        if e["table"] in sync_files.FILE_COLUMNS
    ]
    shas = sync_files.referenced_files(with_files)
    if not shas:
        return
    done = sync_files.upload_missing(transport, store.files_dir(ctx.data_dir), shas, progress=progress)
    report.files_up += len(done.uploaded)
    report.files_missing |= done.blocked


def _download_files(
    ctx: AppContext,
    transport: Transport,
    changes: list[dict[str, Any]],
    report: SyncReport,
    progress: Progress | None,
) -> set[str]:
    """Fetch the attachments the pulled rows name (and those that were not available last
    time) before the rows are applied. Returns the hashes still unavailable."""
    with ctx.read() as s:
        waiting = set(json.loads(get_meta(s, MISSING_FILES) or "[]"))
    rows = [
        {"table": c.get("table"), "payload": c.get("payload")}
        for c in changes
        if c.get("kind", "row") == "row"
    ]
    shas = sync_files.referenced_files(rows) | waiting
    if not shas:
        return set()
    done = sync_files.download_missing(transport, store.files_dir(ctx.data_dir), shas, progress=progress)
    report.files_down += len(done.downloaded)
    return set(done.unavailable) | set(done.damaged)


# ---- pull ----------------------------------------------------------------------------------------


def check_answer(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes of a pull answer, after checking its count and checksum: a damaged or cut
    answer is refused whole."""
    from app.district.service import changes_checksum

    changes = answer.get("changes")
    if not isinstance(changes, list) or int(answer.get("count", -1)) != len(changes):
        raise SyncError(
            "区局的答复不完整（条数不符），本次未应用任何内容，请重试。", code="count", transient=True
        )
    if changes_checksum(changes) != answer.get("checksum"):
        raise SyncError("区局的答复校验不符，本次未应用任何内容，请重试。", code="checksum", transient=True)
    return changes


def pull(ctx: AppContext, transport: Transport, report: SyncReport, progress: Progress | None = None) -> None:
    """Fetch and apply the squad's changes and the district's releases since this device's cursor."""
    _require_enrolled(ctx)
    squad_id = ctx.require_squad()
    while True:
        with ctx.read() as s:
            cursor = _int_meta(s, CURSOR)
            release = _int_meta(s, RELEASE)
        answer = transport.call(
            "POST", "/v1/pull", {"after": cursor, "release_after": release, "limit": PULL_LIMIT}
        )
        changes = check_answer(answer)
        step(progress, 0, 1, f"正在接收：{len(changes)} 条")
        unavailable = _download_files(ctx, transport, changes, report, progress)
        releases = list(answer.get("releases") or [])
        checkpoint("client.pull.before_apply")
        with _state(ctx, "同步接收") as s:
            set_meta(s, MISSING_FILES, dumps(sorted(unavailable)) if unavailable else None)
            applied = apply_pulled(ctx, s, squad_id, changes)
            for item in releases:
                report.releases.append(apply_release_item(ctx, s, item))
            set_meta(s, CURSOR, str(max(cursor, int(answer["cursor"]))))
        checkpoint("client.pull.applied")
        report.pulled += len(changes)
        report.applied += applied.applied
        report.conflicts += applied.conflicts
        if not answer.get("more"):
            return


def apply_pulled(
    ctx: AppContext, session: Session, squad_id: str, changes: list[dict[str, Any]]
) -> ApplyResult:
    result = apply_changes(session, squad_id, ctx.device_id, changes)
    # Later edits here are stamped after what arrived, whatever this PC's clock says.
    for change in changes:
        hlc = (change.get("payload") or {}).get("updated_at") if change.get("kind", "row") == "row" else None
        if isinstance(hlc, str) and "-" in hlc:
            with suppress(ValueError):
                ctx.clock.observe(HlcStamp.parse(hlc))
    return result


def apply_release_item(ctx: AppContext, session: Session, item: dict[str, Any]) -> int:
    """Verify a district release (as a pull answer or an answer bundle carries it) with the
    district's key and install it in ``session``; an older one than installed is refused."""
    from app.sync import releases

    district_key = get_meta(session, DISTRICT_KEY) or ""
    body = releases.verify_release(district_key, item)
    current = _int_meta(session, RELEASE)
    releases.apply_release(session, SYSTEM, body, ctx.data_dir, current)
    version = int(body["version"])
    set_meta(session, RELEASE, str(version))
    return version


# ---- number blocks ---------------------------------------------------------------------------------


def lease_numbers(ctx: AppContext, transport: Transport, report: SyncReport) -> None:
    """Ask the district for number blocks where this device runs low (app.sync.numbers)."""
    with ctx.read() as s:
        wanted = numbers.lease_requests(s, ctx.device_id, dt.date.today())
    if not wanted:
        return
    answer = transport.call("POST", "/v1/leases", {"requests": wanted})
    grants = list(answer.get("grants") or [])
    with _state(ctx, "领取文号段") as s:
        numbers.install_grants(s, ctx.device_id, grants)
    report.leases += len(grants)


# ---- one whole sync --------------------------------------------------------------------------------


def sync_once(ctx: AppContext, transport: Transport, progress: Progress | None = None) -> SyncReport:
    """Push, pull, lease number blocks, push again — and remember how it went for the sync page. A failure
    is stored (and counted for the retry delay) and raised; nothing half-done stays behind."""
    report = SyncReport()
    try:
        push(ctx, transport, report, progress)
        pull(ctx, transport, report, progress)
        # After the pull: registers the squad's other devices opened are here by then.
        lease_numbers(ctx, transport, report)
        # The leases just installed, and edits made meanwhile, go up at once.
        sent = report.pushed
        push(ctx, transport, report, progress)
        if report.pushed > sent:
            # What that push caused (a conflict notice) is seen now, not at the next sync.
            pull(ctx, transport, report, progress)
    except Cancelled:
        raise  # the clerk stopped it: not a failure to retry
    except (SyncError, ApplyError, DomainError) as exc:
        _record_failure(ctx, str(exc))
        raise
    with _state(ctx) as s:
        set_meta(s, LAST_SYNC, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        set_meta(s, LAST_ERROR, None)
        set_meta(s, FAILURES, None)
    return report


def _record_failure(ctx: AppContext, message: str) -> None:
    try:
        with _state(ctx) as s:
            set_meta(s, LAST_ERROR, message[:500])
            set_meta(s, FAILURES, str(_int_meta(s, FAILURES) + 1))
    except DomainError:  # pragma: no cover - the database itself is unavailable
        pass


# ---- conflicts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictView:
    id: int
    table_name: str
    table_label: str
    row_id: str
    title: str
    winner: tuple[int, str]
    loser: tuple[int, str]
    detected_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    resolved_by: str | None
    #: Field → (current value, other version's value), for the fields that differ.
    differences: dict[str, tuple[Any, Any]]


_HIDDEN = {"version", "updated_at", "updated_by", "squad_id", "id"}


def _model(table_name: str) -> type[Synced]:
    for cls in synced_tables():
        if cls.__tablename__ == table_name:
            return cls
    raise NotFoundError(f"未知的数据表 {table_name}。")


def _title(image: dict[str, Any]) -> str:
    for key in ("name", "number", "title", "username", "display_name", "code"):
        if image.get(key):
            return str(image[key])
    return ""


def list_conflicts(ctx: AppContext, include_resolved: bool = False) -> list[ConflictView]:
    from app.audit import FIELD_LABELS

    out = []
    with ctx.read() as s:
        query = select(SyncConflict).order_by(SyncConflict.resolved_at.is_not(None), SyncConflict.id.desc())
        if not include_resolved:
            query = query.where(SyncConflict.resolved_at.is_(None))
        for c in s.scalars(query):
            try:
                cls = _model(c.table_name)
            except NotFoundError:
                continue
            row = s.get(cls, c.row_id)
            current = {k: _plain(getattr(row, k)) for k, _ in _columns(cls)} if row is not None else {}
            other = json.loads(c.loser_payload)
            differing = [
                k
                for k, secret in _columns(cls)
                if k not in _HIDDEN and not secret and k not in volatile_columns(c.table_name)
                if current.get(k) != other.get(k)
            ]
            # Columns without a Chinese name are derived ones (e.g. a name's pinyin initials):
            # shown only when nothing else differs.
            named = [k for k in differing if k in FIELD_LABELS] or differing
            diff = {FIELD_LABELS.get(k, k): (current.get(k), other.get(k)) for k in named}
            out.append(
                ConflictView(
                    id=c.id,
                    table_name=c.table_name,
                    table_label=cls.label_zh or c.table_name,
                    row_id=c.row_id,
                    title=_title(current) or _title(other),
                    winner=(c.winner_version, c.winner_by),
                    loser=(c.loser_version, c.loser_by),
                    detected_at=c.detected_at,
                    resolved_at=c.resolved_at,
                    resolution=c.resolution,
                    resolved_by=c.resolved_by,
                    differences=diff,
                )
            )
    return out


def _columns(cls: type[Synced]) -> list[tuple[str, bool]]:
    from db.serialize import column_keys

    return column_keys(cls)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


KEEP_CURRENT = "winner"
TAKE_OTHER = "loser"


def resolve_conflict(ctx: AppContext, actor: Actor, conflict_id: int, choice: str) -> None:
    """Resolve a conflict: keep the version in use (``winner``) or take the other one
    (``loser``), which is written as a new version on top of the current one — so it reaches
    every device like any edit. The district and the squad's other devices are told at the next
    sync, and mark the conflict resolved too."""
    require(actor, Permission.RESOLVE_CONFLICTS)
    if choice not in (KEEP_CURRENT, TAKE_OTHER):
        raise ValidationError("请选择保留当前版本或采用另一版本。", field="choice")
    with ctx.unit_of_work(actor, "处理同步冲突") as s:
        conflict = s.get(SyncConflict, conflict_id)
        if conflict is None:
            raise NotFoundError("找不到这条同步冲突，可能已被处理。")
        if conflict.resolved_at is not None:
            raise DomainError("这条同步冲突已经处理过了。")
        if choice == TAKE_OTHER:
            cls = _model(conflict.table_name)
            row = s.get(cls, conflict.row_id)
            values = from_plain(cls, json.loads(conflict.loser_payload))
            if row is None:
                row = cls(
                    **{k: v for k, v in values.items() if k not in ("version", "updated_at", "updated_by")}
                )
                s.add(row)
            else:
                for key, _secret in _columns(cls):
                    if key not in _HIDDEN and key in values:
                        setattr(row, key, values[key])
        conflict.resolved_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        conflict.resolved_by = actor.display_name[:64]
        conflict.resolution = choice
        pending = json.loads(get_meta(s, PENDING_RESOLUTIONS) or "[]")
        pending.append(
            {
                "table": conflict.table_name,
                "row_id": conflict.row_id,
                "loser_version": conflict.loser_version,
                "loser_by": conflict.loser_by,
                "resolution": choice,
                "resolved_by": actor.display_name[:64],
            }
        )
        set_meta(s, PENDING_RESOLUTIONS, dumps(pending))


__all__ = [
    "KEEP_CURRENT",
    "REFERENCE_TABLES",
    "TAKE_OTHER",
    "Batch",
    "ConflictView",
    "EnrollResult",
    "SyncReport",
    "SyncStatus",
    "apply_release_item",
    "device_key",
    "enroll",
    "is_enrolled",
    "list_conflicts",
    "list_rejections",
    "next_batch",
    "pull",
    "push",
    "resolve_conflict",
    "retry_delay",
    "set_auto_minutes",
    "status",
    "sync_once",
]
